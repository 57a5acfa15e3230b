/*
 * DOM helpers shared by every page: el() builds nodes with strings as text nodes (never parsed
 * as HTML), clear() empties a node. Untrusted text (corpus text, file names, labels) reaches the
 * DOM only through these or textContent, never innerHTML.
 */

const SVG_NS = 'http://www.w3.org/2000/svg';
const URL_ATTRS = { href: 1, src: 1, action: 1, formaction: 1, xlinkhref: 1, 'xlink:href': 1, poster: 1 };

function appendChildren(parent, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false || child === true) continue;
    if (Array.isArray(child)) appendChildren(parent, child);
    else if (child instanceof window.Node) parent.appendChild(child);
    else parent.appendChild(document.createTextNode(String(child)));
  }
}

function setAttr(node, key, value) {
  const lower = key.toLowerCase();
  if (lower.slice(0, 2) === 'on') {
    if (typeof value !== 'function') throw new Error('el(): ' + key + ' must be a function');
    node.addEventListener(lower.slice(2), value);
  } else if (key === 'class' || key === 'className') {
    node.setAttribute('class', Array.isArray(value) ? value.filter(Boolean).join(' ') : String(value));
  } else if (key === 'style') {
    if (typeof value === 'string') node.setAttribute('style', value);
    else {
      for (const prop in value) {
        if (prop.indexOf('-') !== -1) node.style.setProperty(prop, value[prop]);
        else node.style[prop] = value[prop];
      }
    }
  } else if (key === 'dataset') {
    for (const d in value) node.dataset[d] = String(value[d]);
  } else if (key === 'text' || key === 'textContent') {
    node.textContent = String(value);
  } else if (lower === 'innerhtml' || lower === 'outerhtml' || lower === 'srcdoc') {
    throw new Error('el(): ' + key + ' is not allowed (use children / text)');
  } else {
    const str = value === true ? '' : String(value);
    // eslint-disable-next-line no-control-regex
    if (URL_ATTRS[lower] && /^\s*(javascript|vbscript|data:text\/html)/i.test(str.replace(/[\u0000-\u001f]/g, ''))) {
      throw new Error('el(): refused unsafe URL in ' + key);
    }
    node.setAttribute(key, str);
  }
}

/**
 * el(tag, attrs, ...children): build an element. Strings become text nodes (never parsed as
 * HTML). Tag "svg:NAME" creates an SVG element. attrs:
 *   class / className: class string (or array); style: object or string; dataset: object;
 *   text: textContent; onX: function -> addEventListener('x'); true -> empty attribute;
 *   false / null / undefined -> omitted; anything else -> setAttribute(key, String(value)).
 * javascript: URLs, string event handlers and srcdoc are refused.
 */
export function el(tag, attrs, ...children) {
  const node = tag.indexOf('svg:') === 0 ? document.createElementNS(SVG_NS, tag.slice(4)) : document.createElement(tag);
  if (attrs) {
    for (const key in attrs) {
      if (!Object.prototype.hasOwnProperty.call(attrs, key)) continue;
      const value = attrs[key];
      if (value === null || value === undefined || value === false) continue;
      setAttr(node, key, value);
    }
  }
  appendChildren(node, children);
  return node;
}

/** The element with this id (or null). */
export function byId(id) {
  return document.getElementById(id);
}

/** Set obj[key] to the element with id ids[key], for every key of ids (a page's elements into its state). */
export function byIds(obj, ids) {
  for (const key in ids) obj[key] = byId(ids[key]);
  return obj;
}

/** Remove all children of a node (the innerHTML-free way to clear it). */
export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
  return node;
}
