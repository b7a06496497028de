// Wallet (/wallet): the signed-in wallet, or ?address= read only. Positions with unlock countdowns and
// withdrawable stake (GET /wallets/{w}/positions now, GET /wallets/{w} of issue 10 when there), rewards
// (GET /wallets/{w}/rewards, issue 11), and an operator's nodes with their commission schedule.
import { describe, get, getAll } from '../api.js';
import { isAddress } from '../b58.js';
import { has } from '../config.js';
import { $, amountEl, badge, facts, fill, h, keyEl, notice, setStatus, short, table, timeEl, unavailable } from '../dom.js';
import { current, signInInteractive } from '../session.js';
import { duration, nowSeconds } from '../time.js';
import { txButton } from '../txflow.js';
import { formatBps } from '../units.js';
import { nodeView } from '../views.js';

function countdown(p) {
  // Positions carry up to 8 unbonding entries (main after the program's multi-entry unbonding): each unlocks
  // on its own. Without entries, the position's earliest unlock time.
  const entries = Array.isArray(p.entries) ? p.entries : [];
  if (entries.length > 1) {
    return h('ul', { class: 'plain small' }, entries.map((e) => h('li', {}, amountEl(e.value ?? e.amount, { symbol: 'IO' }),
      ': ', timeEl(e.unlock_time), h('span', { class: 'sub', 'data-unlock': e.unlock_time }, ''))));
  }
  if (!p.unlock_time || p.unbonding === '0') return '—';
  return [timeEl(p.unlock_time), h('span', { class: 'sub', 'data-unlock': p.unlock_time }, '')];
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
  return h('div', { class: 'actions' },
    txButton('Stake more', { action: 'stake', title: `Stake more on ${short(node)}`, params: { node }, amount: { param: 'amount', label: 'Amount (IO)' } }),
    p.bonded !== '0' ? txButton('Unstake', {
      action: 'request_unstake', title: `Unstake from ${short(node)}`, params: { node },
      text: 'Unstaked IO stops earning now and can be withdrawn after the cooldown.',
      amount: { param: 'amount', label: 'Amount (IO)' },
    }) : null,
    p.withdrawable !== '0' ? txButton('Withdraw', {
      action: 'withdraw', title: `Withdraw from ${short(node)}`, params: { node },
      text: 'Withdraw the unlocked stake to your IO account.',
    }) : null);
}

async function positions(box, address, own, walletView) {
  let list = null;
  let sums = null;
  if (walletView?.positions) {
    list = walletView.positions;
    sums = walletView;
  } else if (has('wallet_positions')) {
    const r = await get(`/wallets/${address}/positions`);
    if (!r.ok) return fill(box, notice('error', `Could not load positions: ${describe(r)}`));
    list = r.data.positions;
    sums = r.data;
  } else {
    return fill(box, unavailable('Stake positions', 'GET /wallets/{wallet}/positions'));
  }
  if (!list.length) return fill(box, h('p', { class: 'muted' }, 'No stake positions yet. ', h('a', { href: '/' }, 'Find a node to delegate to'), '.'));
  fill(box,
    facts([
      ['Bonded', amountEl(sums.bonded, { symbol: 'IO' })],
      ['Unbonding', amountEl(sums.unbonding, { symbol: 'IO' })],
      ['Withdrawable now', amountEl(sums.withdrawable, { symbol: 'IO' })],
    ]),
    table(
      [{ label: 'Node' }, { label: 'Bonded (IO)', num: true }, { label: 'Unbonding (IO)', num: true }, { label: 'Unlock' },
        { label: 'Withdrawable (IO)', num: true }, { label: own ? 'Actions' : '' }],
      list.map((p) => [
        [h('a', { href: `/nodes/${p.node}` }, keyEl(p.node)),
          p.pending_commission_bps !== undefined && p.pending_commission_bps !== null
            ? h('span', { class: 'sub' }, `commission → ${formatBps(p.pending_commission_bps)}`) : null],
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
  const d = r.data;
  const claimable = d.claimable ?? '0';
  fill(box,
    facts([
      ['Lifetime total', amountEl(d.lifetime_total ?? d.lifetime, { symbol: 'IO' })],
      ['Claimed', amountEl(d.claimed, { symbol: 'IO' })],
      ['Claimable', amountEl(claimable, { symbol: 'IO' })],
      ['Latest posted epoch', d.latest_epoch ?? d.epoch ?? '—'],
    ]),
    own && claimable !== '0'
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
  let view = null;
  const rows = [['Address', h('code', { class: 'addr' }, address)], ['Access', own ? badge('signed in', 'ok') : badge('read only', 'info')]];
  if (has('wallet')) {
    const r = await get(`/wallets/${address}`);
    if (r.ok) {
      view = r.data;
      rows.push(['IO balance', amountEl(view.io_balance ?? view.balance, { symbol: 'IO' })]);
      if (view.as_of_slot) rows.push(['As of slot', String(view.as_of_slot)]);
    } else rows.push(['IO balance', describe(r)]);
  }
  fill(box, facts(rows), has('wallet') ? null : unavailable('IO balance', 'GET /wallets/{wallet}'));
  return view;
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
    const view = await account($('#account'), address, own);
    await Promise.all([
      positions($('#positions'), address, own, view),
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
