// Wallet (/wallet): the signed-in wallet, or ?address= read only. GET /wallets/{w}: IO balance, positions with
// each unbonding entry's unlock countdown, withdrawable now; GET /wallets/{w}/rewards: lifetime total, claimed,
// claimable (Claim); an operator's nodes (GET /nodes) with their commission schedule. Buttons call the
// transaction requests stake, request_unstake, withdraw, claim, set_commission, deactivate_node.
import { describe, get, getAll } from '../api.js';
import { isAddress } from '../b58.js';
import { has } from '../config.js';
import { $, amountEl, badge, facts, fill, h, keyEl, notice, setStatus, short, table, timeEl, unavailable } from '../dom.js';
import { current, signInInteractive } from '../session.js';
import { duration, nowSeconds } from '../time.js';
import { txButton } from '../txflow.js';
import { formatBps } from '../units.js';
import { nodeView, rewardsView, walletView } from '../views.js';

function countdown(p) {
  // Up to 8 unbonding entries per position: each unlocks on its own.
  if (!p.entries.length) return '—';
  return h('ul', { class: 'plain small' }, p.entries.map((e) => h('li', {}, amountEl(e.value, { symbol: 'IO' }),
    ': ', timeEl(e.unlockTime), ' ', h('span', { class: 'sub', 'data-unlock': e.unlockTime }, ''))));
}

/** Every [data-unlock] counts down each second (no reload needed to see a position unlock). */
function tick() {
  const now = nowSeconds();
  for (const el of document.querySelectorAll('[data-unlock]')) {
    const left = Number(el.dataset.unlock) - now;
    el.textContent = left > 0 ? `unlocks in ${duration(left)}` : 'unlocked: withdrawable';
  }
}

function positionActions(p, own) {
  if (!own) return '';
  const node = p.node;
  const name = p.nodeName ?? short(node);
  return h('div', { class: 'actions' },
    txButton('Stake more', { action: 'stake', title: `Stake more on ${name}`, params: { node }, amount: { param: 'amount', label: 'Amount (IO)' } }),
    p.bonded !== '0' ? txButton('Unstake', {
      action: 'request_unstake', title: `Unstake from ${name}`, params: { node },
      text: 'Unstaked IO stops earning now and can be withdrawn after the cooldown (at most 8 unbonding requests at a time).',
      amount: { param: 'amount', label: 'Amount (IO)' },
    }) : null,
    p.withdrawable !== '0' ? txButton('Withdraw', {
      action: 'withdraw', title: `Withdraw from ${name}`, params: { node },
      text: 'Withdraw the unlocked stake to your IO account.',
    }) : null);
}

function positions(box, own, w) {
  if (!w.positions.length) return fill(box, h('p', { class: 'muted' }, 'No stake positions yet. ', h('a', { href: '/' }, 'Find a node to delegate to'), '.'));
  fill(box,
    facts([
      ['Bonded', amountEl(w.bonded, { symbol: 'IO' })],
      ['Unbonding', amountEl(w.unbonding, { symbol: 'IO' })],
      ['Withdrawable now', h('span', { id: 'withdrawable-now' }, amountEl(w.withdrawable, { symbol: 'IO' }))],
    ]),
    table(
      [{ label: 'Node' }, { label: 'Bonded (IO)', num: true }, { label: 'Unbonding (IO)', num: true }, { label: 'Unlock' },
        { label: 'Withdrawable (IO)', num: true }, { label: own ? 'Actions' : '' }],
      w.positions.map((p) => [
        [h('a', { href: `/nodes/${p.node}` }, p.nodeName ?? short(p.node)),
          p.isOperator ? [' ', badge('operator', 'info')] : null,
          h('span', { class: 'sub' }, `commission ${formatBps(p.commissionBps)}`,
            p.pendingCommissionBps !== null ? [` → ${formatBps(p.pendingCommissionBps)} from `, timeEl(p.pendingCommissionAt)] : null),
          p.nodeStatus && p.nodeStatus !== 'active' ? badge(p.nodeStatus, 'warn') : null],
        amountEl(p.bonded), amountEl(p.unbonding), countdown(p), amountEl(p.withdrawable),
        positionActions(p, own),
      ]),
      { caption: 'Stake positions of this wallet' },
    ));
  tick();
}

async function rewards(box, address, own) {
  if (!has('rewards')) return fill(box, unavailable('Rewards', 'GET /wallets/{wallet}/rewards'));
  const r = await get(`/wallets/${address}/rewards`);
  if (!r.ok) return fill(box, notice(r.status === 404 ? 'muted' : 'error', `Rewards: ${describe(r)}`));
  const d = rewardsView(r.data);
  const pendingPost = d.computedEpoch !== null && d.computedEpoch !== d.epoch;
  fill(box,
    facts([
      ['Lifetime total', amountEl(d.lifetimeTotal, { symbol: 'IO' })],
      ['Claimed', amountEl(d.claimed, { symbol: 'IO' })],
      ['Claimable', h('span', { id: 'claimable' }, amountEl(d.claimable, { symbol: 'IO' }))],
      ['Latest posted epoch', d.epoch ?? 'none yet'],
      pendingPost ? ['Computed, not posted yet', [amountEl(d.computedTotal, { symbol: 'IO' }), ` (epoch ${d.computedEpoch})`]] : null,
    ]),
    own && d.claimable !== '0'
      ? txButton('Claim', { action: 'claim', title: 'Claim rewards', params: {}, text: 'Claim everything your wallet has earned so far.' }, { small: false })
      : null);
}

async function operator(box, address, own) {
  if (!has('nodes')) return fill(box, unavailable('Operated nodes', 'GET /nodes'));
  const r = await getAll('/nodes');
  if (!r.ok) return fill(box, notice('error', `Could not load nodes: ${describe(r)}`));
  const mine = r.data.items.map(nodeView).filter((v) => v.operator === address);
  if (!mine.length) return fill(box, h('p', { class: 'muted' }, 'This wallet operates no node.'));
  fill(box, table(
    [{ label: 'Node' }, { label: 'Status' }, { label: 'Commission' }, { label: 'Scheduled change' }, { label: 'Total stake (IO)', num: true }, { label: own ? 'Actions' : '' }],
    mine.map((v) => [
      h('a', { href: `/nodes/${v.node}` }, v.name ?? `Node ${short(v.node)}`),
      badge(v.status ?? 'unknown', v.status === 'active' ? 'ok' : 'warn'),
      formatBps(v.commissionBps),
      v.pendingCommissionBps !== null ? [formatBps(v.pendingCommissionBps), ' from ', timeEl(v.commissionEffectiveAt)] : 'none',
      amountEl(v.totalStake),
      own ? h('div', { class: 'actions' },
        txButton('Set commission', {
          action: 'set_commission', title: `Commission of ${v.name ?? short(v.node)}`, params: { node: v.node },
          text: 'An increase takes effect only after the notice period; delegators see it in advance.',
          amount: { param: 'commission_bps', label: 'New commission (%)', decimals: 2, hint: 'In percent, up to two decimals (5.25 = 525 bps).' },
        }),
        txButton('Deactivate', { action: 'deactivate_node', title: `Deactivate ${v.name ?? short(v.node)}`, params: { node: v.node },
          text: 'A deactivated node takes no new stake and earns nothing; stake can be unstaked as usual.' })) : '',
    ]),
    { caption: 'Nodes this wallet operates' },
  ));
}

async function account(box, address, own) {
  const rows = [['Address', h('code', { class: 'addr' }, address)], ['Access', own ? badge('signed in', 'ok') : badge('read only', 'info')]];
  if (!has('wallet')) {
    fill(box, facts(rows), unavailable('Balance and positions', 'GET /wallets/{wallet}'));
    return null;
  }
  const r = await get(`/wallets/${address}`);
  if (!r.ok) {
    fill(box, facts(rows), notice('error', `Could not load the wallet: ${describe(r)}`));
    return null;
  }
  const w = walletView(r.data);
  rows.push(['IO balance', w.ioBalance !== null ? amountEl(w.ioBalance, { symbol: 'IO' }) : `unknown (${w.ioBalanceError ?? 'no answer from the cluster'})`]);
  if (w.asOfSlot !== null) rows.push(['Positions as of slot', String(w.asOfSlot)]);
  fill(box, facts(rows));
  return w;
}

export async function walletPage() {
  const status = $('#wallet-status');
  const body = $('#wallet-body');
  const load = async () => {
    const s = current();
    const asked = new URLSearchParams(window.location.search).get('address');
    const address = asked || s?.address;
    if (asked && !isAddress(asked)) {
      body.hidden = true;
      setStatus(status, `"${asked}" is not a wallet address (a base58 public key).`, { error: true });
      return;
    }
    if (!address) {
      body.hidden = true;
      fill(status, 'Not signed in. ', h('button', { type: 'button', class: 'btn btn-small', onclick: signInInteractive }, 'Sign in'));
      return;
    }
    const own = Boolean(s && s.address === address);
    setStatus(status, own ? '' : `Viewing ${short(address)} read only.`);
    body.hidden = false;
    const w = await account($('#account'), address, own);
    if (w) positions($('#positions'), own, w);
    else fill($('#positions'), h('p', { class: 'muted' }, 'Positions are not available.'));
    await Promise.all([
      rewards($('#rewards'), address, own),
      operator($('#operator'), address, own),
    ]);
  };
  window.addEventListener('iog:session', load);
  // The indexer reads a finalized transaction within seconds: look again a few times after one.
  window.addEventListener('iog:tx-finalized', () => [2000, 5000, 10000, 20000].forEach((ms) => setTimeout(load, ms)));
  setInterval(tick, 1000);
  await load();
}
