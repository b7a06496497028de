// Marketplace (/): the nodes table, sortable and filterable like GET /marketplace/nodes (issue 10). Until that
// route exists the page lists GET /nodes and sorts and filters what it has (stake, commission) in the page.
import { describe, get, getAll, qs } from '../api.js';
import { sparkline } from '../charts.js';
import { config, has } from '../config.js';
import { $, amountEl, badge, fill, h, keyEl, notice, setStatus, short, timeEl, unavailable } from '../dom.js';
import { txButton } from '../txflow.js';
import { AmountError, cmpUnits, formatBps, parseBps } from '../units.js';
import { epochRowView, nodeView, worstCommission } from '../views.js';

const SORTS = ['score', 'estimated_apy', 'commission', 'capacity', 'stake', 'uptime'];
/** What the page can sort and filter by itself over GET /nodes. */
const LOCAL_SORTS = new Set(['commission', 'stake']);
const LOCAL_FILTERS = new Set(['max_commission']);
const PAGE = 50;

function readState() {
  const q = new URLSearchParams(window.location.search);
  const market = has('marketplace');
  let sort = q.get('sort') ?? (market ? 'score' : 'stake');
  if (!SORTS.includes(sort) || (!market && !LOCAL_SORTS.has(sort))) sort = market ? 'score' : 'stake';
  return {
    sort,
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

function setupForm(form, state, market) {
  form.elements.sort.value = state.sort;
  form.elements.min_uptime.value = state.min_uptime;
  form.elements.max_commission.value = state.max_commission;
  form.elements.has_capacity.checked = state.has_capacity;
  for (const opt of form.elements.sort.options) {
    if (!market && !LOCAL_SORTS.has(opt.value)) {
      opt.disabled = true;
      opt.textContent = `${opt.textContent} (not available yet)`;
    }
  }
  const off = ['gpu_model', 'region', 'min_uptime', 'has_capacity'].filter((n) => !market && !LOCAL_FILTERS.has(n));
  for (const name of off) form.elements[name].disabled = true;
  const note = $('#filters-note');
  if (!market) {
    note.textContent = 'Sorting by score, APY, capacity or uptime and filtering by GPU model, region, uptime or '
      + 'capacity come with the marketplace API (GET /marketplace/nodes), not available yet on this server. '
      + 'Commission filters count a scheduled increase.';
  } else {
    note.textContent = 'Commission filters count a scheduled increase. The score is published: see how it is made below.';
  }
}

function setOptions(select, values, chosen) {
  const keep = new Set([...values, ...(chosen ? [chosen] : [])]);
  fill(select, h('option', { value: '' }, 'Any'), [...keep].sort().map((v) => h('option', { value: v }, v)));
  select.value = chosen;
}

function headerButtons(table, state, market, apply) {
  for (const th of table.querySelectorAll('th[data-sort]')) {
    const key = th.dataset.sort;
    const label = th.textContent;
    th.removeAttribute('aria-sort');
    if (!market && !LOCAL_SORTS.has(key)) continue;
    if (key === state.sort) th.setAttribute('aria-sort', key === 'commission' ? 'ascending' : 'descending');
    fill(th, h('button', { type: 'button', class: 'sort', 'data-sort': key, onclick: () => apply({ sort: key }) }, label));
  }
}

function localSort(views, sort) {
  const byStake = (a, b) => cmpUnits(b.totalStake ?? '0', a.totalStake ?? '0');
  const cmp = sort === 'commission'
    ? (a, b) => worstCommission(a) - worstCommission(b) || byStake(a, b)
    : byStake;
  return [...views].sort((a, b) => cmp(a, b) || (a.node < b.node ? -1 : 1));
}

function localFilter(views, bps) {
  if (bps.max_commission_bps === undefined) return views;
  const max = Number(bps.max_commission_bps);
  return views.filter((v) => worstCommission(v) <= max);
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
  const comps = v.scoreComponents && typeof v.scoreComponents === 'object' ? Object.entries(v.scoreComponents) : [];
  const text = String(v.score);
  if (!comps.length) return text;
  return h('details', {}, h('summary', {}, text),
    h('ul', { class: 'small' }, comps.map(([k, c]) => h('li', {}, `${k.replaceAll('_', ' ')}: ${typeof c === 'object' ? JSON.stringify(c) : c}`))));
}

function uptimeCell(v, sparks) {
  const pct = v.uptime7d !== null ? h('span', {}, formatBps(v.uptime7d), h('span', { class: 'sub' }, '7 days')) : null;
  const spark = h('span', { class: 'spark-slot', 'data-node': v.node });
  if (Array.isArray(v.uptimeSeries)) {
    const fr = v.uptimeSeries.map((x) => (typeof x === 'object' ? Number(x.uptime_bps ?? 0) : Number(x)) / 10000);
    spark.append(sparkline(fr, `Uptime per epoch of ${v.name ?? short(v.node)}`));
  } else if (has('node_epochs')) {
    sparks.push([spark, v]);
  }
  if (!pct && !spark.childNodes.length && !has('node_epochs')) return h('span', { class: 'muted' }, '—');
  return [pct, spark];
}

/** Uptime sparklines from GET /nodes/{node}/epochs (issue 11), a few requests at a time. */
async function loadSparks(sparks) {
  const work = [...sparks];
  const worker = async () => {
    for (let item = work.shift(); item; item = work.shift()) {
      const [slot, v] = item;
      const r = await get(`/nodes/${v.node}/epochs?limit=24`);
      if (!r.ok) continue;
      const rows = (r.data.items ?? r.data.epochs ?? []).map(epochRowView).reverse();
      const epochLen = config.epoch?.seconds;
      const fr = rows.map((e) => (e.uptimeBps !== null ? e.uptimeBps / 10000 : epochLen ? e.uptimeSeconds / epochLen : 0));
      fill(slot, sparkline(fr, `Uptime of the last ${fr.length} epochs of ${v.name ?? short(v.node)}`));
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
}

function row(v, sparks) {
  const name = v.name ?? `Node ${short(v.node)}`;
  const cells = [
    ['Node', [h('a', { href: `/nodes/${v.node}` }, name), h('span', { class: 'sub' }, v.name ? [keyEl(v.node), ' '] : null,
      badge(v.status ?? 'unknown', v.status === 'active' ? 'ok' : 'warn'),
      v.recordStatus && v.recordStatus !== 'registered' ? [' ', badge(v.recordStatus, 'warn')] : null)]],
    ['GPUs', [`${v.gpuUnits ?? '?'} × ${v.gpuModel ?? 'GPU'}`,
      (v.vramGb || v.region) ? h('span', { class: 'sub' }, [v.vramGb ? `${v.vramGb} GB` : null, v.region].filter(Boolean).join(' · ')) : null]],
    ['Score', scoreCell(v)],
    ['Est. APY', v.apyBps !== null ? [formatBps(v.apyBps), v.apyBasis ? h('span', { class: 'sub' }, String(v.apyBasis)) : null]
      : h('span', { class: 'muted' }, '—')],
    ['Commission', commissionCell(v)],
    ['Total stake (IO)', [amountEl(v.totalStake), h('span', { class: 'sub' }, 'operator ', amountEl(v.operatorStake),
      ' · delegated ', amountEl(v.delegatedStake))]],
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
  const market = has('marketplace');
  const form = $('#filters');
  const status = $('#market-status');
  const tbody = $('#nodes tbody');
  const more = $('#more');
  let state = readState();
  setupForm(form, state, market);
  if (!market) {
    fill($('#market-notice'), unavailable('Scores, estimated APY, uptime and capacity', 'GET /marketplace/nodes'));
  }
  if (!has('nodes') && !market) {
    setStatus(status, 'This server lists no nodes.', { error: true });
    return;
  }

  let cursor = null;
  let views = [];
  const render = (append) => {
    const sparks = [];
    const rows = views.map((v) => row(v, sparks));
    if (append) tbody.append(...rows);
    else fill(tbody, rows);
    loadSparks(sparks);
  };

  const load = async (append = false) => {
    let bps;
    try {
      bps = bpsFilters(state, form);
    } catch (e) {
      setStatus(status, e.message, { error: true });
      return;
    }
    setStatus(status, 'Loading nodes…');
    if (market) {
      const params = {
        sort: state.sort, gpu_model: state.gpu_model, region: state.region, has_capacity: state.has_capacity,
        ...bps, limit: PAGE, cursor: append ? cursor : null,
      };
      const r = await get(`/marketplace/nodes${qs(params)}`);
      if (!r.ok) return setStatus(status, `Could not load the marketplace: ${describe(r)}`, { error: true });
      const page = (r.data.items ?? r.data.nodes ?? []).map(nodeView);
      cursor = r.data.next_cursor ?? null;
      views = page;
      render(append);
      more.hidden = !cursor;
      const all = [...tbody.querySelectorAll('tr')].length;
      setOptions(form.elements.gpu_model, page.map((v) => v.gpuModel).filter(Boolean), state.gpu_model);
      setOptions(form.elements.region, page.map((v) => v.region).filter(Boolean), state.region);
      setStatus(status, `${all} node${all === 1 ? '' : 's'}, sorted by ${form.elements.sort.selectedOptions[0].textContent.toLowerCase()}.`);
    } else {
      const r = await getAll('/nodes');
      if (!r.ok) return setStatus(status, `Could not load nodes: ${describe(r)}`, { error: true });
      const all = r.data.items.map(nodeView);
      views = localSort(localFilter(all, bps), state.sort);
      render(false);
      more.hidden = true;
      const hidden = all.length - views.length;
      setStatus(status, `${views.length} node${views.length === 1 ? '' : 's'}${hidden ? ` (${hidden} filtered out)` : ''}, `
        + `sorted by ${form.elements.sort.selectedOptions[0].textContent.toLowerCase()}.`);
    }
    headerButtons($('#nodes'), state, market, apply);
    if (!views.length && !append) {
      fill(tbody, h('tr', {}, h('td', { colspan: 9, 'data-label': '' }, 'No node matches these filters.')));
    }
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

  if (market && has('score')) {
    get('/marketplace/score').then((r) => {
      if (!r.ok) return;
      const d = r.data;
      $('#filters-note').append(' ', h('details', { class: 'small' }, h('summary', {}, `How the score is made (version ${d.score_version ?? d.version ?? '?'})`),
        h('pre', { class: 'small' }, JSON.stringify(d, null, 2))));
    });
  }
  await load(false);
  if (!market) $('#market-notice').append(notice('muted', 'Showing the nodes of GET /nodes, as of the finalized slot the indexer has read.'));
}
