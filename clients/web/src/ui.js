// DOM helpers shared by the pages: elements, tables, amounts, hashes, a bar chart.

/**
 * An element: `h('a', { href: '#/' }, 'text', child)`. Attributes starting with `on` are
 * listeners; `null`/`false` children are skipped.
 */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes ?? {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith('on')) element.addEventListener(name.slice(2), value);
    else if (name === 'dataset') Object.assign(element.dataset, value);
    else element.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : String(child));
  }
  return element;
}

/** A table of `rows` (arrays of cells) under `headers`. */
export function table(headers, rows, attributes = {}) {
  return h('table', attributes,
    h('thead', {}, h('tr', {}, headers.map((title) => h('th', {}, title)))),
    h('tbody', {}, rows.map((row) => h('tr', {}, row.map((cell) => h('td', {}, cell))))));
}

/** A hash, shortened, with the whole in its title. */
export function hash(value) {
  const text = String(value);
  return h('span', { class: 'hash', title: text }, text.length > 18 ? `${text.slice(0, 10)}…${text.slice(-6)}` : text);
}

/** An amount of the chain's token (`decimals`, `symbol` from its properties). */
export function amount(value, { decimals, symbol }) {
  const scale = 10n ** BigInt(decimals);
  const whole = value / scale;
  const fraction = (value % scale).toString().padStart(decimals, '0').replace(/0+$/, '').slice(0, 6);
  return `${whole}${fraction ? `.${fraction}` : ''} ${symbol}`;
}

/** Parses an amount typed in the token's units ("0.05") to its smallest units. */
export function parseAmount(text, { decimals }) {
  const match = /^\s*(\d+)(?:\.(\d+))?\s*$/.exec(text);
  if (!match || (match[2] ?? '').length > decimals) return null;
  return BigInt(match[1]) * 10n ** BigInt(decimals) + BigInt((match[2] ?? '').padEnd(decimals, '0') || '0');
}

/** A tensor's shape as text: `F32 [1, 4]`. */
export function specText({ type, shape }) {
  return `${type} [${shape.join(', ')}]`;
}

/** A horizontal bar chart of `values` (one bar per label), as SVG. */
export function barChart(labels, values, { title } = {}) {
  const ns = 'http://www.w3.org/2000/svg';
  const make = (tag, attributes, text) => {
    const element = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attributes)) element.setAttribute(k, v);
    if (text !== undefined) element.textContent = text;
    return element;
  };
  const rowHeight = 22;
  const width = 520;
  const labelWidth = 90;
  const max = Math.max(...values.map(Math.abs), 1e-12);
  const svg = make('svg', { class: 'chart', width, height: rowHeight * values.length + 8, role: 'img', 'aria-label': title ?? 'chart' });
  values.forEach((value, i) => {
    const y = 4 + i * rowHeight;
    const length = (Math.abs(value) / max) * (width - labelWidth - 70);
    svg.append(make('text', { x: 0, y: y + 15 }, labels[i]));
    svg.append(make('rect', { x: labelWidth, y: y + 3, width: Math.max(length, 1), height: rowHeight - 8, fill: value >= 0 ? '#3451b2' : '#c0392b' }));
    svg.append(make('text', { x: labelWidth + length + 6, y: y + 15 }, value.toFixed(4)));
  });
  return svg;
}

/** A message in words: `kind` is `error`, `ok` or `muted`. */
export function note(kind, text) {
  return h('p', { class: kind }, text);
}
