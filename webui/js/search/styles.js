// The stylesheet of message search (the sidebar's filters, the bar inside a chat), added once
// when either is first used: it is not part of the start bundle.
import { h } from '../dom.js';

let loaded = null;

export function useSearchStyles() {
  loaded ||= new Promise((resolve) => {
    const link = h('link', { rel: 'stylesheet', href: new URL('./search.css', import.meta.url).pathname });
    link.addEventListener('load', resolve);
    link.addEventListener('error', resolve); // unstyled beats not at all
    document.head.append(link);
  });
  return loaded;
}
