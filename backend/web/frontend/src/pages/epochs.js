// Epochs (/epochs): each epoch's state, period (UTC), merkle root, inputs sha256, the post's signature, totals
// and links to its published input and output documents (GET /epochs, /epochs/{n}/input, /epochs/{n}/output).
import { describe, get, qs } from '../api.js';
import { has } from '../config.js';
import { $, amountEl, badge, fill, h, keyEl, setStatus, table, timeEl, unavailable } from '../dom.js';
import { utc } from '../time.js';
import { epochView } from '../views.js';

const KIND = { finalized: 'ok', posted: 'info', computed: 'info', superseded: 'info', closing: 'warn', open: '' };
const PAGE = 50;

function totals(e) {
  const items = e.amounts.filter(([, v]) => v !== null).map(([k, v]) => h('li', {}, `${k}: `, amountEl(v, { symbol: 'IO' })));
  if (e.nodes !== null) items.push(h('li', {}, `Eligible nodes: ${e.eligibleNodes ?? 0} of ${e.nodes}`));
  return items.length ? h('ul', { class: 'small plain' }, items) : '—';
}

function links(e) {
  if (!e.inputsSha256) return '—'; // no document before the epoch is closed
  const n = e.epoch;
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
        { label: 'Post' }, { label: 'Totals' }, { label: 'Published' }],
      rows.map((e) => [
        String(e.epoch),
        badge(e.state ?? '—', KIND[e.state] ?? ''),
        e.start !== null ? [timeEl(e.start, e.epoch), h('span', { class: 'sub' }, 'to ', utc(e.end))] : '—',
        keyEl(e.root),
        keyEl(e.inputsSha256),
        e.signature ? [keyEl(e.signature), e.postedIn !== null && e.postedIn !== e.epoch ? h('span', { class: 'sub' }, `with epoch ${e.postedIn}`) : null]
          : e.postedIn !== null ? `with epoch ${e.postedIn}` : '—',
        [totals(e), e.error ? h('span', { class: 'sub error' }, e.error) : null],
        links(e),
      ]),
      { caption: 'Epochs, newest first' },
    ) : h('p', { class: 'muted' }, 'No epoch has closed yet.'));
  };
  more.addEventListener('click', load);
  await load();
}
