// Client-side checks that mirror docs/protocol.md; the server stays the authority.
const USERNAME = /^[a-z0-9][a-z0-9_.-]{2,31}$/i;

export const limits = { displayName: 64, bio: 500, status: 140, passwordMin: 8, passwordMax: 256 };

export function username(value) {
  if (!value) return 'Choose a username.';
  if (value.length < 3 || value.length > 32) return 'Use 3 to 32 characters.';
  if (!USERNAME.test(value)) return 'Use letters, digits, _ . or -, starting with a letter or digit.';
  return '';
}

export function password(value) {
  if (value.length < limits.passwordMin) return `Use at least ${limits.passwordMin} characters.`;
  if (value.length > limits.passwordMax) return `Use at most ${limits.passwordMax} characters.`;
  return '';
}

export function confirm(value, original) {
  return value === original ? '' : "The passwords don't match.";
}

export function email(value) {
  if (!value) return '';
  return /^[^\s@]+@[^\s@]+$/.test(value) ? '' : 'Enter an email address like name@example.org.';
}

export function maxLength(value, max) {
  return value.length > max ? `Use at most ${max} characters.` : '';
}

export function required(value, message) {
  return value ? '' : message;
}

export function positiveInt(value) {
  return /^[1-9]\d*$/.test(value) ? '' : 'Enter a whole number, 1 or more.';
}
