// The stylesheet of message search (the sidebar's filters, the bar inside a chat), added once
// when either is first used: it is not part of the start bundle.
import { useStylesheet } from '../dom.js';

export const useSearchStyles = () => useStylesheet(new URL('./search.css', import.meta.url));
