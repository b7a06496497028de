// Node (/nodes/{node}): registry facts, stake breakdown, commission, slashes, uptime and rewards per epoch
// (GET /nodes/{node}/epochs, issue 11), delegators (GET /nodes/{node}/positions).
import { describe, get, getAll } from '../api.js';
import { bars } from '../charts.js';
import { config, has, pageArgs } from '../config.js';
import { $, amountEl, badge, facts, fill, h, keyEl, notice, setStatus, short, table, timeEl, unavailable } from '../dom.js';
import { duration, nowSeconds } from '../time.js';
import { txButton } from '../txflow.js';
import { formatBps, formatUnits, ratio } from '../units.js';
import { epochRowView, nodeView } from '../views.js';

const REGISTRY_KEYS = ['name', 'gpuModel', 'region', 'vramGb', 'description', 'recordStatus'];

function registry(v) {
  const known = REGISTRY_KEYS.some((k) => v[k] !== null);
  return [
    facts([
      ['Name', v.name ?? '—'],
      ['Account', keyEl(v.node)],
      v.nodeKey ? ['Node key', keyEl(v.nodeKey)] : null,
      ['Operator', v.operator ? h('a', { href: `/wallet?address=${v.operator}` }, keyEl(v.operator)) : '—'],
      ['GPUs', `${v.gpuUnits ?? '?'} × ${v.gpuModel ?? 'GPU'}${v.vramGb ? ` (${v.vramGb} GB)` : ''}`],
      ['Region', v.region ?? '—'],
      ['Status', [badge(v.status ?? 'unknown', v.status === 'active' ? 'ok' : 'warn'),
        v.recordStatus ? [' ', badge(`registry: ${v.recordStatus}`, v.recordStatus === 'registered' ? 'ok' : 'warn')] : null]],
      v.recordReason ? ['Why', v.recordReason] : null,
      v.description ? ['About', v.description] : null,
    ]),
    known ? null : unavailable('Name, GPU model and region', 'the node registry (GET /nodes/{node} with registry fields)'),
  ];
}

function stake(v) {
  const total = v.totalStake ?? '0';
  const parts = [
    ['Operator', v.operatorStake, '#0b4f96'],
    ['Delegated', v.delegatedStake, '#5b8fd1'],
  ];
  return [
    h('div', { class: 'stakebar', role: 'img', 'aria-label': `Operator ${formatUnits(v.operatorStake ?? '0', config.io.decimals)} IO, delegated ${formatUnits(v.delegatedStake ?? '0', config.io.decimals)} IO` },
      parts.map(([, units, color]) => h('span', { style: `width:${(ratio(units, total) * 100).toFixed(2)}%;background:${color}` }))),
    facts([
      ['Total bonded', amountEl(total, { symbol: 'IO' })],
      ...parts.map(([label, units, color]) => [h('span', {}, h('span', { class: 'legend-swatch', style: `background:${color}` }), label), amountEl(units, { symbol: 'IO' })]),
      ['Delegated share', formatBps(v.delegatedShareBps)],
      ['Unbonding', amountEl(v.unbondingStake, { symbol: 'IO' })],
      ['Capacity left', v.capacityLeft !== null ? amountEl(v.capacityLeft, { symbol: 'IO' }) : h('span', { class: 'muted' }, 'not available yet')],
    ]),
  ];
}

function commission(v) {
  const pending = v.pendingCommissionBps !== null && v.pendingCommissionBps !== undefined;
  return facts([
    ['In force', formatBps(v.commissionBps)],
    ['Scheduled', pending ? [formatBps(v.pendingCommissionBps), ' from ', timeEl(v.commissionEffectiveAt),
      h('span', { class: 'sub' }, `in ${duration(v.commissionEffectiveAt - nowSeconds())}`)] : 'no change scheduled'],
  ]);
}

function slashes(v) {
  return facts([
    ['Slashed in total', amountEl(v.slashTotal ?? '0', { symbol: 'IO' })],
    ['Slashes', v.slashCount ?? (v.slashTotal && v.slashTotal !== '0' ? 'at least one' : 'none')],
    v.lastSlashReason ? ['Last reason', v.lastSlashReason] : null,
  ]);
}

async function epochs(box, node) {
  if (!has('node_epochs')) {
    fill(box, unavailable('Uptime, verification and rewards per epoch', 'GET /nodes/{node}/epochs'));
    return;
  }
  const r = await get(`/nodes/${node}/epochs?limit=48`);
  if (!r.ok) {
    fill(box, notice('error', `Could not load epochs: ${describe(r)}`));
    return;
  }
  const rows = (r.data.items ?? r.data.epochs ?? []).map(epochRowView).sort((a, b) => a.epoch - b.epoch);
  const epochLen = config.epoch?.seconds ?? null;
  const up = (e) => (e.uptimeBps !== null ? e.uptimeBps / 10000 : epochLen ? e.uptimeSeconds / epochLen : 0);
  let maxReward = '0';
  for (const e of rows) if (BigInt(e.reward ?? 0) > BigInt(maxReward)) maxReward = String(e.reward);
  const zero = rows.filter((e) => (e.reward ?? '0') === '0' || e.reward === 0);
  fill(box,
    bars(rows.map((e) => ({ label: String(e.epoch), value: up(e), text: e.uptimeBps !== null ? formatBps(e.uptimeBps) : `${e.uptimeSeconds ?? 0} s` })),
      { title: 'Uptime per epoch' }),
    bars(rows.map((e) => ({ label: String(e.epoch), value: ratio(e.reward ?? 0, maxReward), text: `${formatUnits(String(e.reward ?? 0), config.io.decimals)} IO` })),
      { title: 'Rewards per epoch (IO)', color: '#1f7a4d' }),
    h('h3', {}, 'Epochs that paid nothing'),
    zero.length
      ? table([{ label: 'Epoch' }, { label: 'Verified' }, { label: 'Reasons' }],
        zero.map((e) => [String(e.epoch), e.verified === null ? '—' : e.verified ? 'yes' : 'no', (e.reasons ?? []).join(', ') || '—']),
        { caption: 'Epochs in which this node earned nothing, and why' })
      : h('p', { class: 'muted' }, 'None in the epochs shown.'));
}

async function delegators(box, v) {
  if (!has('node_positions')) {
    fill(box, unavailable('Delegators', 'GET /nodes/{node}/positions'));
    return;
  }
  const r = await getAll(`/nodes/${v.node}/positions`);
  if (!r.ok) {
    fill(box, notice('error', `Could not load positions: ${describe(r)}`));
    return;
  }
  const now = nowSeconds();
  fill(box, r.data.items.length ? table(
    [{ label: 'Owner' }, { label: 'Bonded (IO)', num: true }, { label: 'Unbonding (IO)', num: true }, { label: 'Unlocks' }],
    r.data.items.map((p) => [
      [h('a', { href: `/wallet?address=${p.owner}` }, keyEl(p.owner)), p.owner === v.operator ? [' ', badge('operator', 'info')] : null],
      amountEl(p.bonded),
      amountEl(p.unbonding),
      p.unlock_time && p.unbonding !== '0' ? [timeEl(p.unlock_time), h('span', { class: 'sub' }, p.unlock_time > now ? `in ${duration(p.unlock_time - now)}` : 'unlocked')] : '—',
    ]),
    { caption: 'Stake positions on this node' },
  ) : h('p', { class: 'muted' }, 'No positions yet.'));
}

export async function nodePage() {
  const { node } = pageArgs();
  const status = $('#node-status');
  const r = await get(`/nodes/${node}`);
  if (!r.ok) {
    setStatus(status, r.status === 404 ? 'The indexer has not seen this node (yet).' : `Could not load the node: ${describe(r)}`, { error: true });
    return;
  }
  const v = nodeView(r.data);
  const name = v.name ?? `Node ${short(v.node)}`;
  fill($('#node-title'), name, ' ', h('code', { class: 'addr' }, v.node));
  document.title = `${name} · iog`;
  setStatus(status, v.asOfSlot ? `As of slot ${v.asOfSlot}.` : '');
  fill($('#node-actions'), txButton('Delegate', {
    action: 'stake', title: `Delegate to ${name}`, params: { node: v.node },
    text: `Delegate IO to ${name} (commission ${formatBps(v.commissionBps)}).`,
    amount: { param: 'amount', label: 'Amount (IO)' },
  }, { small: false }));
  fill($('#registry'), registry(v));
  fill($('#stake'), stake(v));
  fill($('#commission'), commission(v));
  fill($('#slashes'), slashes(v));
  await Promise.all([epochs($('#epochs'), v.node), delegators($('#delegators'), v)]);
}
