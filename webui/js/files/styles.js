// The stylesheet of the viewer, gallery and recorder, added once when one of them first opens
// (it is not part of the start bundle); resolves when it applies.
import { h } from '../dom.js';

let loaded = null;

export function useFilesStyles() {
  loaded ||= new Promise((resolve) => {
    const link = h('link', { rel: 'stylesheet', href: new URL('./files.css', import.meta.url).pathname });
    link.addEventListener('load', resolve);
    link.addEventListener('error', resolve); // unstyled beats not at all
    document.head.append(link);
  });
  return loaded;
}
