// Labelled fields, per-field errors (aria-invalid + aria-describedby) and a submit controller
// that shows client-side problems and server errors in the same places.
import { h } from '../dom.js';
import { errorText } from '../api.js';

export function field(id, label, { hint, multiline = false, ...attrs } = {}) {
  const hintId = hint ? `${id}-hint` : null;
  const input = h(multiline ? 'textarea' : 'input', {
    id, name: id, type: multiline ? null : 'text', 'aria-describedby': hintId, ...attrs,
  });
  const error = h('p', { id: `${id}-error`, class: 'field-error', hidden: true });
  const wrap = h('div', { class: 'field' },
    h('label', { for: id }, label),
    input,
    hint && h('p', { id: hintId, class: 'hint' }, hint),
    error);
  return { wrap, input, error, hintId };
}

export function setFieldError(f, message) {
  f.error.textContent = message || '';
  f.error.hidden = !message;
  if (message) f.input.setAttribute('aria-invalid', 'true');
  else f.input.removeAttribute('aria-invalid');
  const described = [f.hintId, message && f.error.id].filter(Boolean).join(' ');
  if (described) f.input.setAttribute('aria-describedby', described);
  else f.input.removeAttribute('aria-describedby');
}

// A region for errors that belong to no single field; role=alert so it is announced.
export function alertRegion() {
  return h('div', { class: 'alert', role: 'alert' });
}

export function statusRegion(attrs = {}, text = '') {
  return h('p', { class: 'form-status', role: 'status', ...attrs }, text);
}

// The last part of a validation error's loc: "password", ["body", "password"], "body.password".
function locName(loc) {
  const last = Array.isArray(loc) ? loc[loc.length - 1] : String(loc ?? '').split('.').pop();
  return String(last);
}

/**
 * Wires a form: validate() returns {fieldKey: message}; submit() does the request.
 * Server validation errors land on fields[loc]; codeFields maps an error code to a field key
 * (e.g. username_taken -> username); anything else goes to the alert region.
 */
export function controlForm(form, { fields, alert, validate, submit, busyText, codeFields = {} }) {
  const button = form.querySelector('button[type=submit]');
  const idleText = button.textContent;
  form.setAttribute('novalidate', '');
  for (const f of Object.values(fields)) {
    f.input.addEventListener('input', () => setFieldError(f, ''));
  }

  function clear() {
    alert.textContent = '';
    for (const f of Object.values(fields)) setFieldError(f, '');
  }

  function show(problems) {
    let first = null;
    for (const [key, f] of Object.entries(fields)) {
      if (!problems[key]) continue;
      setFieldError(f, problems[key]);
      first ??= f.input;
    }
    first?.focus();
    return first != null;
  }

  function showServerError(err) {
    const problems = {};
    const other = [];
    for (const item of err.fields || []) {
      const key = locName(item.loc);
      if (fields[key] && !problems[key]) problems[key] = item.message;
      else other.push(item.message);
    }
    if (codeFields[err.code] && fields[codeFields[err.code]]) problems[codeFields[err.code]] = err.message;
    const shownOnField = show(problems);
    if (other.length) alert.textContent = other.join(' ');
    else if (!shownOnField) alert.textContent = errorText(err);
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (button.disabled) return;
    clear();
    if (show(validate ? validate() : {})) return;
    button.disabled = true;
    if (busyText) button.textContent = busyText;
    try {
      await submit();
    } catch (err) {
      showServerError(err);
    } finally {
      button.disabled = false;
      button.textContent = idleText;
    }
  });
  return { clear, showServerError };
}

export function values(fields) {
  return Object.fromEntries(Object.entries(fields).map(([k, f]) => [k, f.input.value]));
}
