// Builds DOM without ever parsing HTML: text goes in as text nodes, attributes via setAttribute.
const SVG_NS = 'http://www.w3.org/2000/svg';
// Set as properties: the attribute only holds the initial value of a control.
const PROPS = new Set(['value', 'checked']);

export function h(tag, attrs, ...children) {
  return build(document.createElement(tag), attrs, children);
}

export function svg(tag, attrs, ...children) {
  return build(document.createElementNS(SVG_NS, tag), attrs, children);
}

function build(el, attrs, children) {
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value == null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') {
      el.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (PROPS.has(key)) {
      el[key] = value;
    } else {
      el.setAttribute(key, value === true ? '' : String(value));
    }
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child == null || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

// Makes container's children exactly `nodes`, touching only what moved: a kept node stays in
// place, so it keeps focus, selection and scroll anchoring.
export function reconcile(container, nodes) {
  const keep = new Set(nodes);
  let cursor = container.firstChild;
  for (const node of nodes) {
    // Drop what goes away first, so a replaced node does not make all after it move.
    while (cursor && !keep.has(cursor)) {
      const next = cursor.nextSibling;
      cursor.remove();
      cursor = next;
    }
    if (node === cursor) {
      cursor = cursor.nextSibling;
    } else {
      container.insertBefore(node, cursor);
    }
  }
  while (cursor) {
    const next = cursor.nextSibling;
    cursor.remove();
    cursor = next;
  }
}

// A stylesheet that a part loaded on first use needs (not in the start bundle), added once;
// resolves when it applies, or failed to (unstyled beats not at all).
const sheets = new Map();
// Give `node` the attributes and children of `fresh` (same tag), keeping the element itself:
// a click whose press and release straddle an update still lands on it (a replaced element
// would lose the click to its parent), and focus stays.
export function morph(node, fresh) {
  for (const { name } of [...node.attributes]) if (!fresh.hasAttribute(name)) node.removeAttribute(name);
  for (const { name, value } of fresh.attributes) if (node.getAttribute(name) !== value) node.setAttribute(name, value);
  node.replaceChildren(...fresh.childNodes);
  return node;
}

export function useStylesheet(url) {
  const href = new URL(url).pathname;
  if (!sheets.has(href)) {
    sheets.set(href, new Promise((resolve) => {
      const link = h('link', { rel: 'stylesheet', href });
      link.addEventListener('load', resolve);
      link.addEventListener('error', resolve);
      document.head.append(link);
    }));
  }
  return sheets.get(href);
}
