// The stylesheet of the viewer, gallery and recorder, added once when one of them first opens
// (it is not part of the start bundle); resolves when it applies.
import { useStylesheet } from '../dom.js';

export const useFilesStyles = () => useStylesheet(new URL('./files.css', import.meta.url));
