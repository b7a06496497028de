// Inline SVG charts (no library): a sparkline for a row, bars per epoch. Each has a text alternative.
import { h } from './dom.js';

const NS = 'http://www.w3.org/2000/svg';
function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== null && v !== undefined) el.setAttribute(k, String(v));
  for (const c of children) if (c) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

/** A sparkline of fractions 0..1 (e.g. uptime per epoch), with ``label`` as its accessible name. */
export function sparkline(values, label, { width = 96, height = 24 } = {}) {
  if (!values.length) return h('span', { class: 'muted' }, '—');
  const step = values.length > 1 ? (width - 2) / (values.length - 1) : 0;
  const pts = values.map((v, i) => `${(1 + i * step).toFixed(1)},${(1 + (1 - clamp(v)) * (height - 2)).toFixed(1)}`);
  return s('svg', { class: 'chart spark', viewBox: `0 0 ${width} ${height}`, width, height, role: 'img', 'aria-label': label },
    s('title', {}, label),
    s('polyline', { points: pts.join(' '), fill: 'none', stroke: '#0b4f96', 'stroke-width': 1.5 }));
}

function clamp(v) {
  return Math.max(0, Math.min(1, Number(v) || 0));
}

/**
 * Bars, one per item: {label (x axis), value 0..1 (height), text (what the bar says)}.
 * Followed by the same data as a table for screen readers and for copying.
 */
export function bars(items, { title, color = '#0b4f96', height = 120 } = {}) {
  if (!items.length) return h('p', { class: 'muted' }, 'No epochs yet.');
  const w = 18;
  const gap = 6;
  const width = items.length * (w + gap) + gap;
  const svg = s('svg', {
    class: 'chart', viewBox: `0 0 ${width} ${height + 16}`, width: Math.min(width, 720), role: 'img', 'aria-label': title,
  }, s('title', {}, title));
  items.forEach((it, i) => {
    const bh = Math.max(1, clamp(it.value) * height);
    const x = gap + i * (w + gap);
    svg.append(s('rect', { x, y: height - bh, width: w, height: bh, fill: color, rx: 2 }, s('title', {}, `${it.label}: ${it.text}`)));
    if (items.length <= 24 || i % Math.ceil(items.length / 24) === 0) {
      svg.append(s('text', { x: x + w / 2, y: height + 12, 'text-anchor': 'middle', 'font-size': 9, fill: '#4a5260' }, it.label));
    }
  });
  return h('figure', { class: 'chart-block' }, svg, h('figcaption', { class: 'small muted' }, title));
}
