// Node (/nodes/{node}): registry facts and stake breakdown (GET /nodes/{node}), commission schedule, slashes,
// uptime and rewards per epoch with the reasons an epoch paid nothing (GET /nodes/{node}/epochs), delegators
// (GET /nodes/{node}/positions).
import { describe, get, getAll } from '../api.js';
import { bars } from '../charts.js';
import { config, has, pageArgs } from '../config.js';
import { $, amountEl, badge, facts, fill, h, keyEl, notice, setStatus, short, table, timeEl, unavailable } from '../dom.js';
import { duration, nowSeconds, when } from '../time.js';
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
      v.capacityLeft !== null ? ['Capacity left', amountEl(v.capacityLeft, { symbol: 'IO' })] : null,
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

function slashes(v, slashedEpochs) {
  return facts([
    ['Slashed in total', amountEl(v.slashTotal ?? '0', { symbol: 'IO' })],
    ['Epochs with a slash', slashedEpochs === null ? '—' : slashedEpochs.length ? slashedEpochs.join(', ') : 'none'],
  ]);
}

/** Epoch N's start time (UTC) from the server's epoch clock. */
function epochStart(n) {
  const c = config.epoch;
  return c ? c.genesis + n * c.seconds : null;
}

/** Uptime and rewards per epoch, and why an epoch paid nothing; returns the epochs with a slash (null: none read). */
async function epochs(box, node) {
  if (!has('node_epochs')) {
    fill(box, unavailable('Uptime, verification and rewards per epoch', 'GET /nodes/{node}/epochs'));
    return null;
  }
  const r = await get(`/nodes/${node}/epochs?limit=48`);
  if (!r.ok) {
    fill(box, notice('error', `Could not load epochs: ${describe(r)}`));
    return null;
  }
  const rows = r.data.items.map(epochRowView).sort((a, b) => a.epoch - b.epoch);
  const epochLen = config.epoch?.seconds ?? null;
  let maxReward = '0';
  for (const e of rows) if (BigInt(e.reward ?? 0) > BigInt(maxReward)) maxReward = String(e.reward);
  const zero = rows.filter((e) => (e.reward ?? '0') === '0');
  const uptimeText = (e) => (epochLen ? `${formatBps(Math.floor((e.uptimeSeconds * 10000) / epochLen))} (${e.uptimeSeconds} s)` : `${e.uptimeSeconds} s`);
  fill(box,
    rows.length ? h('p', { class: 'small muted' }, `Epochs ${rows[0].epoch} to ${rows[rows.length - 1].epoch}`,
      epochLen ? ` of ${epochLen / 60} minutes, from ${when(epochStart(rows[0].epoch), rows[0].epoch)}.` : '.') : null,
    bars(rows.map((e) => ({ label: String(e.epoch), value: epochLen ? e.uptimeSeconds / epochLen : 0, text: uptimeText(e) })),
      { title: 'Uptime per epoch' }),
    bars(rows.map((e) => ({ label: String(e.epoch), value: ratio(e.reward ?? 0, maxReward), text: `${formatUnits(String(e.reward ?? 0), config.io.decimals)} IO` })),
      { title: 'Rewards per epoch (IO)', color: '#1f7a4d' }),
    h('h3', {}, 'Epochs that paid nothing'),
    zero.length
      ? table([{ label: 'Epoch' }, { label: 'Started (UTC)' }, { label: 'Uptime' }, { label: 'Verified' }, { label: 'Reasons' }],
        zero.map((e) => [String(e.epoch), timeEl(epochStart(e.epoch), e.epoch), uptimeText(e),
          e.verified === null ? '—' : e.verified ? 'yes' : 'no',
          h('span', { class: 'reasons' }, e.reasons.join(', ') || '—')]),
        { caption: 'Epochs in which this node earned nothing, and why' })
      : h('p', { class: 'muted' }, rows.length ? 'None in the epochs shown.' : 'No epoch has closed yet.'));
  return rows.filter((e) => e.slashed).map((e) => String(e.epoch));
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
  const [slashed] = await Promise.all([epochs($('#epochs'), v.node), delegators($('#delegators'), v)]);
  fill($('#slashes'), slashes(v, slashed));
}
