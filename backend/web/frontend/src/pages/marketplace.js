// Marketplace (/): the nodes table of GET /marketplace/nodes, sorted and filtered by the API (sort, gpu_model,
// region, min_uptime_bps on 30-day uptime, max_commission_bps counting a scheduled increase, has_capacity) and
// paged with its cursor; every score component, the estimated APY with its basis, an uptime sparkline per node
// (GET /nodes/{node}/epochs) and a Delegate action (the stake transaction request).
import { describe, get, qs } from '../api.js';
import { sparkline } from '../charts.js';
import { config, has } from '../config.js';
import { $, amountEl, badge, fill, h, keyEl, setStatus, short, timeEl, unavailable } from '../dom.js';
import { txButton } from '../txflow.js';
import { AmountError, formatBps, formatUnits, parseBps } from '../units.js';
import { APY_BASIS, epochRowView, nodeView } from '../views.js';

const SORTS = ['score', 'estimated_apy', 'commission', 'capacity', 'stake', 'uptime'];
const PAGE = 50;
/** How a score component's input reads (GET /marketplace/score names the components). */
const COMPONENT_INPUT = {
  commission: (v) => formatBps(v),
  uptime: (v) => `${formatBps(v)} (30 days)`,
  age: (v) => `${v} s registered`,
  compute: (v) => `${v} GPU-s (7 days)`,
};

function readState() {
  const q = new URLSearchParams(window.location.search);
  const sort = q.get('sort') ?? 'score';
  return {
    sort: SORTS.includes(sort) ? sort : 'score',
    gpu_model: q.get('gpu_model') ?? '',
    region: q.get('region') ?? '',
    min_uptime: q.get('min_uptime') ?? '',
    max_commission: q.get('max_commission') ?? '',
    has_capacity: q.get('has_capacity') === 'true',
  };
}

function writeState(state) {
  const url = `/${qs(state)}`;
  window.history.replaceState(null, '', url);
}

/** Percent filters -> basis points, exactly; a bad value is reported on its field. */
function bpsFilters(state, form) {
  const out = {};
  for (const [name, param] of [['min_uptime', 'min_uptime_bps'], ['max_commission', 'max_commission_bps']]) {
    const input = form.elements[name];
    input.removeAttribute('aria-invalid');
    if (state[name] === '') continue;
    try {
      out[param] = parseBps(state[name]);
    } catch (e) {
      if (!(e instanceof AmountError)) throw e;
      input.setAttribute('aria-invalid', 'true');
      throw new AmountError(`${input.labels[0].textContent}: ${e.message}`);
    }
  }
  return out;
}

function setupForm(form, state) {
  form.elements.sort.value = state.sort;
  form.elements.min_uptime.value = state.min_uptime;
  form.elements.max_commission.value = state.max_commission;
  form.elements.has_capacity.checked = state.has_capacity;
  $('#filters-note').textContent = 'Uptime filters on 30 days; commission filters count a scheduled increase. '
    + 'The score is published: see how it is made below.';
}

function setOptions(select, values, chosen) {
  const keep = new Set([...values, ...(chosen ? [chosen] : [])]);
  fill(select, h('option', { value: '' }, 'Any'), [...keep].sort().map((v) => h('option', { value: v }, v)));
  select.value = chosen;
}

function headerButtons(table, state, apply) {
  for (const th of table.querySelectorAll('th[data-sort]')) {
    const key = th.dataset.sort;
    const label = th.querySelector('button')?.textContent ?? th.textContent;
    th.removeAttribute('aria-sort');
    if (key === state.sort) th.setAttribute('aria-sort', key === 'commission' ? 'ascending' : 'descending');
    fill(th, h('button', { type: 'button', class: 'sort', 'data-sort': key, onclick: () => apply({ sort: key }) }, label));
  }
}

function commissionCell(v) {
  const parts = [h('span', {}, formatBps(v.commissionBps))];
  if (v.pendingCommissionBps !== null && v.pendingCommissionBps !== undefined) {
    parts.push(h('span', { class: 'sub' }, `→ ${formatBps(v.pendingCommissionBps)} from `, timeEl(v.commissionEffectiveAt)));
  }
  return parts;
}

function scoreCell(v) {
  if (v.score === null) return h('span', { class: 'muted' }, '—');
  const text = `${formatUnits(String(v.score), 2, { group: false })} / 100`;
  const reasons = v.ineligibleReasons.length
    ? h('span', { class: 'sub' }, badge(`not eligible: ${v.ineligibleReasons.join(', ').replaceAll('_', ' ')}`, 'warn')) : null;
  if (!v.scoreComponents.length) return [text, reasons];
  return [h('details', { class: 'score' }, h('summary', {}, text, h('span', { class: 'sr-only' }, ' (components)')),
    h('ul', { class: 'small plain' }, v.scoreComponents.map((c) => h('li', { 'data-component': c.name },
      `${c.name}: `, c.value === null ? 'no data' : (COMPONENT_INPUT[c.name] ?? String)(c.value),
      ` → rank ${formatBps(c.rank_bps)} × weight ${formatBps(c.weight_bps)}`)))), reasons];
}

function uptimeCell(v, sparks) {
  const spark = h('span', { class: 'spark-slot', 'data-node': v.node });
  if (v.nodeKey !== null) sparks.push([spark, v]);
  if (v.uptime7d === null) return [h('span', { class: 'muted' }, 'no epochs yet'), spark];
  return [h('span', {}, formatBps(v.uptime7d), h('span', { class: 'sub' }, '7 days')),
    h('span', { class: 'sub' }, `24 h ${formatBps(v.uptime24h)} · 30 d ${formatBps(v.uptime30d)}`), spark];
}

/** Uptime sparklines from GET /nodes/{node}/epochs (uptime seconds / epoch length), a few requests at a time. */
async function loadSparks(sparks) {
  const epochLen = config.epoch?.seconds;
  if (!epochLen || !has('node_epochs')) return;
  const work = [...sparks];
  const worker = async () => {
    for (let item = work.shift(); item; item = work.shift()) {
      const [slot, v] = item;
      const r = await get(`/nodes/${v.node}/epochs?limit=24`);
      if (!r.ok || !r.data.items.length) continue;
      const rows = r.data.items.map(epochRowView).reverse();
      const fr = rows.map((e) => (e.uptimeSeconds ?? 0) / epochLen);
      fill(slot, sparkline(fr, `Uptime of the last ${fr.length} epochs of ${v.name ?? short(v.node)}`));
    }
  };
  await Promise.all([worker(), worker(), worker()]);
}

function row(v, sparks) {
  const name = v.name ?? `Node ${short(v.node)}`;
  const cells = [
    ['Node', [h('a', { href: `/nodes/${v.node}` }, name), h('span', { class: 'sub' }, v.name ? [keyEl(v.node), ' '] : null,
      badge(v.status ?? 'unknown', v.status === 'active' ? 'ok' : 'warn'),
      v.recordStatus && v.recordStatus !== 'registered' ? [' ', badge(v.recordStatus, 'warn')] : null,
      v.slashCount ? [' ', badge(`slashed ${v.slashCount}×`, 'err')] : null)]],
    ['GPUs', [`${v.gpuUnits ?? '?'} × ${v.gpuModel ?? 'GPU'}`,
      (v.vramGb || v.region) ? h('span', { class: 'sub' }, [v.vramGb ? `${v.vramGb} GB` : null, v.region].filter(Boolean).join(' · ')) : null,
      v.compute7d !== null ? h('span', { class: 'sub' }, `${v.compute7d} GPU-s in 7 d`) : null]],
    ['Score', scoreCell(v)],
    ['Est. APY', v.apyBps !== null
      ? [h('span', { title: APY_BASIS }, formatBps(v.apyBps)), h('span', { class: 'sub' }, 'from 7-day payouts')]
      : h('span', { class: 'muted', title: APY_BASIS }, 'no payouts yet')],
    ['Commission', commissionCell(v)],
    ['Total stake (IO)', [amountEl(v.totalStake), h('span', { class: 'sub' }, 'operator ', amountEl(v.operatorStake),
      ' · delegated ', amountEl(v.delegatedStake)),
    v.delegators !== null ? h('span', { class: 'sub' }, `${v.delegators} delegator${v.delegators === 1 ? '' : 's'}`) : null]],
    ['Capacity left (IO)', amountEl(v.capacityLeft)],
    ['Uptime', uptimeCell(v, sparks)],
    ['', txButton('Delegate', {
      action: 'stake',
      title: `Delegate to ${name}`,
      text: `Delegate IO to ${name}. It earns a share of the node's rewards after its ${formatBps(v.commissionBps)} commission; `
        + 'unstaking goes through a cooldown.',
      params: { node: v.node },
      amount: { param: 'amount', label: 'Amount (IO)' },
    })],
  ];
  return h('tr', { 'data-node': v.node }, cells.map(([label, c], i) => h('td', {
    'data-label': label, class: [4, 5, 6].includes(i) ? 'num' : null,
  }, c)));
}

export async function marketplacePage() {
  const form = $('#filters');
  const status = $('#market-status');
  const tbody = $('#nodes tbody');
  const more = $('#more');
  let state = readState();
  setupForm(form, state);
  if (!has('marketplace')) {
    fill($('#market-notice'), unavailable('The marketplace', 'GET /marketplace/nodes'));
    setStatus(status, '');
    return;
  }

  let cursor = null;
  const load = async (append = false) => {
    let bps;
    try {
      bps = bpsFilters(state, form);
    } catch (e) {
      setStatus(status, e.message, { error: true });
      return;
    }
    setStatus(status, 'Loading nodes…');
    const params = {
      sort: state.sort, gpu_model: state.gpu_model, region: state.region, has_capacity: state.has_capacity,
      ...bps, limit: PAGE, cursor: append ? cursor : null,
    };
    const r = await get(`/marketplace/nodes${qs(params)}`);
    if (!r.ok) return setStatus(status, `Could not load the marketplace: ${describe(r)}`, { error: true });
    const views = r.data.items.map(nodeView);
    cursor = r.data.next_cursor ?? null;
    const sparks = [];
    const rows = views.map((v) => row(v, sparks));
    if (append) tbody.append(...rows);
    else fill(tbody, rows);
    loadSparks(sparks);
    more.hidden = !cursor;
    const all = tbody.querySelectorAll('tr[data-node]').length;
    setOptions(form.elements.gpu_model, views.map((v) => v.gpuModel).filter(Boolean), state.gpu_model);
    setOptions(form.elements.region, views.map((v) => v.region).filter(Boolean), state.region);
    const asOf = r.data.as_of_slot !== null ? [' Stats as of slot ', String(r.data.as_of_slot), ', refreshed ', timeEl(r.data.refreshed_at), '.'] : ' Stats not refreshed yet.';
    fill(status, `${all} node${all === 1 ? '' : 's'}, sorted by ${form.elements.sort.selectedOptions[0].textContent.toLowerCase()}.`, asOf);
    headerButtons($('#nodes'), state, apply);
    if (!all) fill(tbody, h('tr', {}, h('td', { colspan: 9, 'data-label': '' }, 'No node matches these filters.')));
  };

  const apply = (changes = {}) => {
    const fd = new FormData(form);
    state = {
      sort: fd.get('sort') ?? state.sort,
      gpu_model: fd.get('gpu_model') ?? '',
      region: fd.get('region') ?? '',
      min_uptime: (fd.get('min_uptime') ?? '').trim(),
      max_commission: (fd.get('max_commission') ?? '').trim(),
      has_capacity: fd.get('has_capacity') === 'true',
      ...changes,
    };
    form.elements.sort.value = state.sort;
    writeState(state);
    cursor = null;
    load(false);
  };

  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    apply();
  });
  form.elements.sort.addEventListener('change', () => apply());
  for (const name of ['gpu_model', 'region', 'has_capacity']) form.elements[name].addEventListener('change', () => apply());
  more.addEventListener('click', () => load(true));
  window.addEventListener('iog:tx-finalized', () => setTimeout(() => load(false), 3000));

  if (has('score')) {
    get('/marketplace/score').then((r) => {
      if (!r.ok) return;
      const d = r.data;
      $('#filters-note').append(' ', h('details', { class: 'small', id: 'score-doc' }, h('summary', {}, `How the score is made (version ${d.version})`),
        h('p', {}, d.summary, ' ', d.formula, '.'),
        h('ul', {}, d.components.map((c) => h('li', {}, `${c.name} (weight ${formatBps(c.weight_bps)}): ${c.input}; ${c.better} is better; missing ${c.when_missing}.`))),
        h('p', {}, `Rank: ${d.rank}.`),
        h('p', {}, 'Eligible: ', d.eligibility.join('; '), '.')));
    });
  }
  await load(false);
}
