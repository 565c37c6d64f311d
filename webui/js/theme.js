// Theme preference (light, dark, system) kept in localStorage and set as data-theme on <html>;
// the CSS maps data-theme="system" to the prefers-color-scheme media query.
const KEY = 'hearth.theme';
export const THEMES = ['light', 'dark', 'system'];

export function getTheme() {
  try {
    const value = localStorage.getItem(KEY);
    return THEMES.includes(value) ? value : 'system';
  } catch {
    return 'system';
  }
}

export function setTheme(value) {
  if (!THEMES.includes(value)) return;
  try {
    localStorage.setItem(KEY, value);
  } catch {
    // Storage can be disabled (private mode); the choice then lasts for this page only.
  }
  document.documentElement.dataset.theme = value;
}

export function applyTheme() {
  document.documentElement.dataset.theme = getTheme();
}
