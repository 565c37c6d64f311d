// "Change picture" and "Remove picture" for a profile or a group: the chosen image is sent as
// it is (PUT path); the server crops and shrinks it. `show()` gives the avatar to preview,
// `changed(answer)` takes the server's answer (Me or Chat).
import { h } from '../dom.js';
import { api, errorText } from '../api.js';
import { alertRegion, statusRegion } from './form.js';

const TYPES = 'image/jpeg,image/png,image/gif,image/webp';

export function picturePicker({ id, path, show, hasPicture, changed }) {
  const preview = h('span', { class: 'picture-preview' });
  const input = h('input', { type: 'file', id: `${id}-file`, accept: TYPES, class: 'vh', tabindex: -1, 'aria-label': 'Picture' });
  const choose = h('button', { type: 'button', id: `${id}-change`, class: 'btn btn-secondary', onclick: () => input.click() }, 'Change picture');
  const remove = h('button', { type: 'button', id: `${id}-remove`, class: 'btn btn-secondary' }, 'Remove picture');
  const alert = alertRegion();
  const status = statusRegion({ id: `${id}-status` });

  function render() {
    preview.replaceChildren(show());
    remove.hidden = !hasPicture();
  }

  async function send(method, body, done) {
    choose.disabled = remove.disabled = true;
    alert.textContent = status.textContent = '';
    try {
      changed(await api[method](path, body));
      status.textContent = done;
    } catch (err) {
      alert.textContent = errorText(err);
    } finally {
      choose.disabled = remove.disabled = false;
      input.value = '';
      render();
    }
  }

  input.addEventListener('change', () => {
    if (input.files?.[0]) send('put', input.files[0], 'Picture changed.');
  });
  remove.addEventListener('click', () => send('del', undefined, 'Picture removed.'));
  render();
  return {
    el: h('div', { class: 'picture-picker', id }, preview,
      h('div', { class: 'picture-actions' }, choose, remove, input, status), alert),
    render,
  };
}
