// Small DOM helpers. Text always goes in as text nodes (never innerHTML), so API data cannot inject markup.
import { config } from './config.js';
import { formatUnits } from './units.js';
import { isoOf, when } from './time.js';

/**
 * Create an element: h('a', {href: '/x', class: 'btn', onclick: fn}, 'text', child).
 * Attributes named on* become listeners; null/false attributes are left out; true sets an empty attribute.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Replace the children of ``el``. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

export function $(selector) {
  return document.querySelector(selector);
}

/** "AbCd…WxYz" for a long base58 key. */
export function short(key, n = 4) {
  if (!key) return '—';
  return key.length <= 2 * n + 1 ? key : `${key.slice(0, n)}…${key.slice(-n)}`;
}

/** A key shown short, full in its title (and link when ``href``). */
export function keyEl(key, href = null) {
  if (!key) return '—';
  const code = h('code', { title: key }, short(key));
  return href ? h('a', { href, 'aria-label': key }, code) : code;
}

/** An amount of a currency from base units, exact; the base units are in the title. */
export function amountEl(units, { decimals = config.io.decimals, symbol = null } = {}) {
  if (units === null || units === undefined || units === '') return h('span', { class: 'muted' }, '—');
  let text;
  try {
    text = formatUnits(units, decimals);
  } catch {
    return h('span', { class: 'muted' }, String(units));
  }
  return h('span', { class: 'amount', title: `${units} base units` }, symbol ? `${text} ${symbol}` : text);
}

/** A time in UTC with its epoch, in a <time> element. */
export function timeEl(ts, epoch = null) {
  if (ts === null || ts === undefined) return h('span', { class: 'muted' }, '—');
  return h('time', { datetime: isoOf(ts) }, when(ts, epoch));
}

/** A notice block: kind is info | muted | error | ok. */
export function notice(kind, ...children) {
  return h('p', { class: `notice notice-${kind}` }, ...children);
}

/** The "not available yet" state of a part of a page whose API route this server does not have. */
export function unavailable(what, route) {
  return notice(
    'muted',
    h('strong', {}, `${what}: not available yet. `),
    'This server does not serve ',
    h('code', {}, route),
    ' yet; this part of the page lights up when it does.',
  );
}

/** A status badge. */
export function badge(text, kind = '') {
  return h('span', { class: `badge${kind ? ` badge-${kind}` : ''}` }, text);
}

/** A definition list of [term, value] pairs (values may be nodes). */
export function facts(pairs) {
  return h('dl', { class: 'facts' }, pairs.filter(Boolean).map(([dt, dd]) => [h('dt', {}, dt), h('dd', {}, dd)]));
}

/** Set a status line's text (and error styling). */
export function setStatus(el, text, { error = false } = {}) {
  if (!el) return;
  el.textContent = text;
  el.classList.toggle('error', error);
}

/** A table: columns [{label, key?, num?}] and rows of cells (nodes or text). Cells carry data-label. */
export function table(columns, rows, { caption = null, stack = true } = {}) {
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: `data${stack ? ' stack' : ''}` },
      caption ? h('caption', { class: 'sr-only' }, caption) : null,
      h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col', class: c.num ? 'num' : null }, c.label)))),
      h(
        'tbody',
        {},
        rows.map((cells) =>
          h(
            'tr',
            {},
            cells.map((cell, i) =>
              h('td', { 'data-label': columns[i].label, class: columns[i].num ? 'num' : null }, cell),
            ),
          ),
        ),
      ),
    ),
  );
}
