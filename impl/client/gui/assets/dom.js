// Building the page. Everything from the relay or a peer is inserted as text, never as HTML
// (spec Appendix D [GUI-7]): this file has no innerHTML and no other way to parse markup.

export const $ = (id) => document.getElementById(id);

// el creates an element; children are nodes or strings (strings become text nodes).
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') node.className = v;
    else if (k === 'text') node.textContent = v;
    else if (k === 'on') for (const [ev, fn] of Object.entries(v)) node.addEventListener(ev, fn);
    else if (k.startsWith('data-') || k.startsWith('aria-') || k === 'type' || k === 'title' || k === 'role') node.setAttribute(k, v);
    else node[k] = v;
  }
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    node.append(typeof c === 'string' ? document.createTextNode(c) : c);
  }
  return node;
}

export function show(node, on = true) { node.hidden = !on; }

export function setText(id, text) { $(id).textContent = text; }

// shortFP shortens a sha256: fingerprint for a status line; the dialogs show it whole.
export function shortFP(fp) {
  return fp ? fp.slice(0, 7 + 16) + '…' : '';
}

// groupDigits writes 60 digits as 12 groups of 5 (spec §6.6).
export function groupDigits(d) {
  return (d.match(/.{1,5}/g) || []).join(' ');
}
