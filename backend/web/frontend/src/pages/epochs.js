// Epochs (/epochs): each epoch's state, root, totals and links to its published input and output
// (GET /epochs, /epochs/{n}/input, /epochs/{n}/output: issue 11).
import { describe, get, qs } from '../api.js';
import { has } from '../config.js';
import { $, amountEl, badge, fill, h, keyEl, setStatus, table, timeEl, unavailable } from '../dom.js';
import { epochView } from '../views.js';

const KIND = { finalized: 'ok', posted: 'info', computed: 'info', closing: 'warn', open: '' };
const PAGE = 50;

function totals(t) {
  const entries = Object.entries(t ?? {});
  if (!entries.length) return '—';
  // Decimal strings are amounts in base units (the API's rule); numbers are counts.
  return h('ul', { class: 'small plain' }, entries.map(([k, v]) => h('li', {}, `${k.replaceAll('_', ' ')}: `,
    typeof v === 'string' && /^\d+$/.test(v) ? amountEl(v) : String(v))));
}

function links(n) {
  const out = [];
  if (has('epoch_input')) out.push(h('a', { href: `/epochs/${n}/input` }, 'input'));
  if (has('epoch_output')) out.push(h('a', { href: `/epochs/${n}/output` }, 'output'));
  return out.length ? out.flatMap((a, i) => (i ? [' · ', a] : [a])) : '—';
}

export async function epochsPage() {
  const status = $('#epochs-status');
  const box = $('#epochs');
  const more = $('#more');
  if (!has('epochs')) {
    setStatus(status, '');
    fill(box, unavailable('Epochs', 'GET /epochs'));
    return;
  }
  let rows = [];
  let cursor = null;
  let offset = 0;
  const load = async () => {
    const r = await get(`/epochs${qs({ limit: PAGE, cursor, offset: cursor ? null : offset || null })}`);
    if (!r.ok) return setStatus(status, `Could not load epochs: ${describe(r)}`, { error: true });
    const items = (r.data.items ?? r.data.epochs ?? (Array.isArray(r.data) ? r.data : [])).map(epochView);
    rows = rows.concat(items);
    cursor = r.data.next_cursor ?? null;
    offset += items.length;
    more.hidden = !(cursor || (r.data.total !== undefined && offset < r.data.total));
    setStatus(status, `${rows.length} epoch${rows.length === 1 ? '' : 's'}.`);
    fill(box, rows.length ? table(
      [{ label: 'Epoch' }, { label: 'State' }, { label: 'Period (UTC)' }, { label: 'Root' }, { label: 'Inputs sha256' },
        { label: 'Posted by' }, { label: 'Totals' }, { label: 'Published' }],
      rows.map((e) => [
        String(e.epoch),
        badge(e.state ?? '—', KIND[e.state] ?? ''),
        e.start !== null ? [timeEl(e.start, e.epoch), h('span', { class: 'sub' }, 'to ', timeEl(e.end))] : '—',
        keyEl(e.root),
        keyEl(e.inputsSha256),
        keyEl(e.signature),
        totals(e.totals),
        links(e.epoch),
      ]),
      { caption: 'Epochs, newest first' },
    ) : h('p', { class: 'muted' }, 'No epoch has closed yet.'));
  };
  more.addEventListener('click', load);
  await load();
}
