// The offline page the service worker shows when a navigation finds Hearth not answering:
// it asks /health, more slowly as time goes on, and reloads the moment Hearth is back.
const status = document.getElementById('reconnecting-status');
const FIRST_DELAY_MS = 1000;
const MAX_DELAY_MS = 10000;
let delay = FIRST_DELAY_MS;
let timer = 0;

async function answers() {
  try {
    const response = await fetch('/health', { cache: 'no-store' });
    return response.ok;
  } catch {
    return false;
  }
}

async function check() {
  clearTimeout(timer);
  status.textContent = 'Checking…';
  if (await answers()) {
    status.textContent = 'Hearth is back. Loading…';
    location.reload();
    return;
  }
  status.textContent = `Not yet. Trying again in ${Math.round(delay / 1000)} s.`;
  timer = setTimeout(check, delay);
  delay = Math.min(delay * 1.5, MAX_DELAY_MS);
}

document.getElementById('reconnect-now').addEventListener('click', () => {
  delay = FIRST_DELAY_MS;
  check();
});
// Back on the network (Wi-Fi rejoined): no need to wait for the next try.
addEventListener('online', () => {
  delay = FIRST_DELAY_MS;
  check();
});
check();
