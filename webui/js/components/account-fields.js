// The fields shared by the setup and signup forms, with their client-side checks.
import { field } from './form.js';
import * as rules from '../validate.js';

export function accountFields(prefix) {
  const fields = {
    username: field(`${prefix}-username`, 'Username', {
      autocomplete: 'username', autocapitalize: 'none', spellcheck: 'false', required: true,
      maxlength: 32, hint: '3 to 32 characters: letters, digits, _ . -',
    }),
    display_name: field(`${prefix}-display-name`, 'Display name', {
      autocomplete: 'name', maxlength: rules.limits.displayName, hint: 'How others see you. Optional.',
    }),
    email: field(`${prefix}-email`, 'Email (optional)', { type: 'email', autocomplete: 'email' }),
    password: field(`${prefix}-password`, 'Password', {
      type: 'password', autocomplete: 'new-password', required: true, hint: 'At least 8 characters.',
    }),
    confirm: field(`${prefix}-confirm`, 'Confirm password', {
      type: 'password', autocomplete: 'new-password', required: true,
    }),
  };

  function validate() {
    const v = (k) => fields[k].input.value;
    return {
      username: rules.username(v('username').trim()),
      display_name: rules.maxLength(v('display_name').trim(), rules.limits.displayName),
      email: rules.email(v('email').trim()),
      password: rules.password(v('password')),
      confirm: rules.confirm(v('confirm'), v('password')),
    };
  }

  // The request body: optional fields left out when empty.
  function body() {
    const v = (k) => fields[k].input.value.trim();
    const out = { username: v('username'), password: fields.password.input.value };
    if (v('display_name')) out.display_name = v('display_name');
    if (v('email')) out.email = v('email');
    return out;
  }

  return { fields, validate, body };
}
