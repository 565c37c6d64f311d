// The "Trust this device" page: detects the platform and browser, offers the CA certificate
// (/ca.crt) or Apple profile (/hearth.mobileconfig), shows its fingerprint, and walks through
// installing it. Built with textContent only. Stable selectors for tests: #trust-page
// [data-detected-platform][data-detected-browser], #trust-fingerprint, #trust-fingerprint-sha1,
// #trust-ca-download, #trust-profile-download, details.platform[data-platform] (the detected
// ones carry [data-detected] and are open), #trust-own (the admin's own certificate).
import { h } from './dom.js';

// Pure, so tests can call it: which guide fits a user agent. iPadOS Safari presents itself as
// a Mac; only its touch points give it away.
export function detect(userAgent, maxTouchPoints = 0) {
  const ua = userAgent || '';
  let platform = 'other';
  if (/iPhone|iPad|iPod/.test(ua) || (/Macintosh/.test(ua) && maxTouchPoints > 1)) platform = 'ios';
  else if (/Android/.test(ua)) platform = 'android';
  else if (/Windows/.test(ua)) platform = 'windows';
  else if (/Macintosh|Mac OS X/.test(ua)) platform = 'macos';
  else if (/Linux|X11|CrOS/.test(ua)) platform = 'linux';
  let browser = 'other';
  if (/Firefox\/|FxiOS\//.test(ua)) browser = 'firefox';
  else if (/Edg[A-Z]?\//.test(ua)) browser = 'edge';
  else if (/Chrome\/|CriOS\/|Chromium\//.test(ua)) browser = 'chrome';
  else if (/Safari\//.test(ua)) browser = 'safari';
  return { platform, browser };
}

const PLATFORM_NAMES = {
  android: 'Android', ios: 'iPhone or iPad', macos: 'Mac', windows: 'Windows', linux: 'Linux',
  other: 'this device',
};
const BROWSER_NAMES = { firefox: 'Firefox', edge: 'Edge', chrome: 'Chrome', safari: 'Safari', other: 'your browser' };

const caLink = (text) => h('a', { href: '/ca.crt', download: 'hearth-ca.crt' }, text);
const profileLink = (text) => h('a', { href: '/hearth.mobileconfig' }, text);

function guides(fp) {
  return [
    ['android', 'Android', [
      ['Download ', caLink('the certificate'), ' (hearth-ca.crt).'],
      ['Open Settings and search for ', h('b', {}, 'CA certificate'), ' (usually Security & privacy › More security settings › Encryption & credentials › Install a certificate › CA certificate).'],
      ['Tap ', h('b', {}, 'Install anyway'), ', then pick hearth-ca.crt from Downloads.'],
      ['To check it: Encryption & credentials › Trusted credentials › User › Hearth local CA. Its SHA-256 fingerprint must read ', h('span', { class: 'fingerprint' }, fp.sha256), '.'],
      ['Close and reopen Hearth. Firefox for Android needs one more switch, below.'],
    ]],
    ['ios', 'iPhone and iPad', [
      ['In Safari, download ', profileLink('the Hearth profile'), ' and tap ', h('b', {}, 'Allow'), '.'],
      ['Open Settings › General › VPN & Device Management, tap the Hearth profile, then ', h('b', {}, 'Install'), ' (it says "Not Verified": nothing on a network with no internet could sign it; the fingerprint is your check).'],
      ['Open Settings › General › About › Certificate Trust Settings and switch on ', h('b', {}, 'Hearth local CA'), '.'],
      ['Close and reopen Hearth. Every browser on the device now trusts it.'],
    ]],
    ['macos', 'Mac', [
      ['Download ', profileLink('the Hearth profile'), ', then open System Settings › Privacy & Security › Profiles (or General › Device Management), double-click it and choose ', h('b', {}, 'Install'), '.'],
      ['Or download ', caLink('the certificate'), ', open it in Keychain Access (System keychain), double-click Hearth local CA and set Trust › When using this certificate › ', h('b', {}, 'Always Trust'), '.'],
      ['Check the SHA-256 fingerprint Keychain Access shows against the one on this page, then restart the browser. Firefox keeps its own list: see below.'],
    ]],
    ['windows', 'Windows', [
      ['Download ', caLink('the certificate'), ' and open it.'],
      ['On the Details tab, the Thumbprint must read ', h('span', { class: 'fingerprint', id: 'trust-fingerprint-sha1' }, fp.sha1), ' (Windows shows SHA-1).'],
      ['Choose ', h('b', {}, 'Install Certificate'), ' › Current User › Place all certificates in the following store › ', h('b', {}, 'Trusted Root Certification Authorities'), ' › Finish, and say Yes.'],
      ['Restart Edge or Chrome. Firefox keeps its own list: see below.'],
    ]],
    ['linux', 'Linux', [
      ['Chrome and Chromium: download ', caLink('the certificate'), ', open ', h('code', {}, 'chrome://certificate-manager'), ' › Local certificates › Custom › Import (older versions: Settings › Privacy and security › Security › Manage certificates › Authorities › Import, tick "Trust this certificate for identifying websites").'],
      ['Or from a terminal, for Chromium: ', h('code', {}, 'certutil -d sql:$HOME/.pki/nssdb -A -t C,, -n Hearth -i hearth-ca.crt'), '.'],
      ['For the whole system (curl, other programs): ', h('code', {}, 'sudo openssl x509 -inform der -in hearth-ca.crt -out /usr/local/share/ca-certificates/hearth-ca.crt && sudo update-ca-certificates'), '.'],
      ['Restart the browser.'],
    ]],
    ['firefox', 'Firefox', [
      ['Firefox on a computer has its own list. Download ', caLink('the certificate'), ', then open Settings › Privacy & Security › Certificates › View Certificates › Authorities › ', h('b', {}, 'Import'), '.'],
      ['Tick ', h('b', {}, 'Trust this CA to identify websites'), ', and compare the fingerprint (View) with the one on this page.'],
      ['Firefox for Android uses the phone\'s list once you switch it on: Settings › About Firefox, tap the logo five times, then Settings › Secret settings › ', h('b', {}, 'Use third party CA certificates'), '.'],
    ]],
  ];
}

function guide([key, title, steps], detected) {
  const mine = key === detected.platform || (key === 'firefox' && detected.browser === 'firefox');
  return h('details', { class: 'platform', 'data-platform': key, 'data-detected': mine, open: mine },
    h('summary', {}, title, mine ? h('span', { class: 'detected-note' }, ' (this device)') : null),
    h('ol', {}, steps.map((parts) => h('li', {}, parts))));
}

async function digest(algorithm, bytes) {
  const hash = new Uint8Array(await crypto.subtle.digest(algorithm, bytes));
  return [...hash].map((b) => b.toString(16).padStart(2, '0').toUpperCase()).join(':');
}

async function fingerprints() {
  const response = await fetch('/ca.crt', { cache: 'no-store' });
  if (response.status === 404) return null;
  if (!response.ok) throw new Error(`Hearth answered ${response.status}`);
  const bytes = await response.arrayBuffer();
  return { sha256: await digest('SHA-256', bytes), sha1: await digest('SHA-1', bytes) };
}

async function main() {
  const page = document.getElementById('trust-page');
  const status = document.getElementById('trust-status');
  const detected = detect(navigator.userAgent, navigator.maxTouchPoints);
  page.dataset.detectedPlatform = detected.platform;
  page.dataset.detectedBrowser = detected.browser;
  let fp;
  try {
    fp = await fingerprints();
  } catch (err) {
    status.textContent = `Could not fetch the certificate: ${err.message}. Reload to try again.`;
    return;
  }
  if (!fp) {
    status.replaceWith(h('p', { id: 'trust-own' },
      'This Hearth uses a certificate its admin set up, not its own authority: there is nothing to install here. ',
      h('a', { href: '/' }, 'Open Hearth')));
    return;
  }
  const apple = detected.platform === 'ios' || detected.platform === 'macos';
  const all = guides(fp);
  // The guides for this device first, open; the others stay one tap away.
  const mine = all.filter(([key]) => key === detected.platform || (key === 'firefox' && detected.browser === 'firefox'));
  const rest = all.filter((entry) => !mine.includes(entry));
  status.replaceWith(
    h('p', {}, `This looks like ${PLATFORM_NAMES[detected.platform]} with ${BROWSER_NAMES[detected.browser]}.`),
    h('div', { class: 'downloads' },
      h('a', { id: 'trust-ca-download', class: apple ? 'button secondary' : 'button', href: '/ca.crt', download: 'hearth-ca.crt' }, 'Download the certificate'),
      h('a', { id: 'trust-profile-download', class: apple ? 'button' : 'button secondary', href: '/hearth.mobileconfig' }, 'Apple profile (iPhone, iPad, Mac)')),
    h('p', {}, 'Before you trust it, check that its SHA-256 fingerprint is the one Hearth printed when it started (an admin can read it there):'),
    h('p', { id: 'trust-fingerprint', class: 'fingerprint' }, fp.sha256),
    ...[...mine, ...rest].map((entry) => guide(entry, detected)),
    h('p', {}, h('a', { href: '/' }, 'Open Hearth')),
  );
}

main();
