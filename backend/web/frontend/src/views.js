// The one place that reads the API's field names (GET /marketplace/nodes, /nodes, /nodes/{node}/epochs,
// /epochs, /wallets/{w}, /wallets/{w}/rewards, /invoices/{id}): a rename there is a change in this file.
// Missing fields are null and render as "—". Amounts stay decimal strings of base units.

function pick(obj, path) {
  const v = path.split('.').reduce((o, k) => (o === null || o === undefined ? undefined : o[k]), obj);
  return v === undefined ? null : v;
}

/** The basis of `estimated_apy_bps` (the route's description): never a promise. */
export const APY_BASIS = "a delegator's yield after commission from the node's actual payouts of the last 7 days, annualized";

/**
 * A node from GET /marketplace/nodes (MarketNodeOut) or GET /nodes, /nodes/{node} (NodeOut): the fields one
 * of them lacks are null.
 */
export function nodeView(n) {
  const score = pick(n, 'score');
  return {
    raw: n,
    node: n.node,
    nodeKey: pick(n, 'node_key'),
    name: pick(n, 'name'),
    operator: pick(n, 'operator'),
    gpuModel: pick(n, 'gpu_model'),
    gpuUnits: pick(n, 'gpu_units'),
    vramGb: pick(n, 'vram_gb'),
    region: pick(n, 'region'),
    description: pick(n, 'description'),
    recordStatus: pick(n, 'record_status'),
    recordReason: pick(n, 'record_status_reason'),
    status: pick(n, 'status'),
    registeredAt: pick(n, 'registered_at'),
    ageEpochs: pick(n, 'age_epochs'),
    totalStake: pick(n, 'total_stake'),
    operatorStake: pick(n, 'operator_stake'),
    delegatedStake: pick(n, 'delegated_stake'),
    unbondingStake: pick(n, 'unbonding_stake'),
    minOperatorStake: pick(n, 'min_operator_stake'),
    delegatedShareBps: pick(n, 'delegated_share_bps'),
    capacityLeft: pick(n, 'capacity_left'),
    commissionBps: pick(n, 'commission_bps'),
    pendingCommissionBps: pick(n, 'pending_commission_bps'),
    commissionEffectiveAt: pick(n, 'commission_effective_at'),
    uptime24h: pick(n, 'uptime_24h_bps'),
    uptime7d: pick(n, 'uptime_7d_bps'),
    uptime30d: pick(n, 'uptime_30d_bps'),
    compute7d: pick(n, 'compute_7d_gpu_seconds'),
    rewards24: pick(n, 'rewards_24_epochs'),
    apyBps: pick(n, 'estimated_apy_bps'),
    slashCount: pick(n, 'slashes.count'),
    slashTotal: pick(n, 'slashes.total') ?? pick(n, 'slashed_total'),
    lastSlashReason: pick(n, 'slashes.last_reason'),
    lastSlashAt: pick(n, 'slashes.last_at'),
    delegators: pick(n, 'delegator_count'),
    positions: pick(n, 'positions'),
    score: score && typeof score === 'object' ? score.value : null,
    scoreVersion: pick(n, 'score.version'),
    eligible: pick(n, 'score.eligible'),
    ineligibleReasons: pick(n, 'score.ineligible_reasons') ?? [],
    // [{name, value, rank_bps, weight_bps}]
    scoreComponents: pick(n, 'score.components') ?? [],
    asOfSlot: pick(n, 'as_of_slot') ?? pick(n, 'last_slot'),
  };
}

/** Commission a delegator should count on: the one in force, or a scheduled increase when higher. */
export function worstCommission(v) {
  const now = v.commissionBps ?? 0;
  return v.pendingCommissionBps !== null && v.pendingCommissionBps > now ? v.pendingCommissionBps : now;
}

/** One row of GET /nodes/{node}/epochs (NodeEpochOut). */
export function epochRowView(e) {
  return {
    epoch: e.epoch,
    uptimeSeconds: pick(e, 'uptime_seconds'),
    continuousSeconds: pick(e, 'continuous_uptime_seconds'),
    verified: pick(e, 'verified'),
    slashed: pick(e, 'slashed'),
    eligible: pick(e, 'eligible'),
    reasons: pick(e, 'reasons') ?? [],
    reward: pick(e, 'reward'),
    computeGpuSeconds: pick(e, 'compute_gpu_seconds'),
    operatorCommission: pick(e, 'operator_commission'),
    totalStake: pick(e, 'total_stake'),
  };
}

/** One epoch of GET /epochs (EpochOut). */
export function epochView(e) {
  return {
    epoch: e.epoch,
    state: pick(e, 'state'),
    start: pick(e, 'start_time'),
    end: pick(e, 'end_time'),
    root: pick(e, 'merkle_root'),
    inputsSha256: pick(e, 'inputs_sha256'),
    signature: pick(e, 'signature'),
    postedIn: pick(e, 'posted_in'),
    finalizedSlot: pick(e, 'finalized_slot'),
    error: pick(e, 'error'),
    // Amounts (base units) and counts, in the order the page lists them.
    amounts: [
      ['Emission', pick(e, 'emission')],
      ['Payouts', pick(e, 'payouts_total')],
      ['Community', pick(e, 'community')],
      ['Unallocated', pick(e, 'unallocated')],
      ['Lifetime totals', pick(e, 'cumulative_total')],
    ],
    nodes: pick(e, 'nodes'),
    eligibleNodes: pick(e, 'eligible_nodes'),
  };
}

/** An unbonding entry of a position: {amount, value, unlock_time, withdrawable}. */
function entryView(x) {
  return { amount: x.amount, value: pick(x, 'value') ?? x.amount, unlockTime: x.unlock_time, withdrawable: Boolean(x.withdrawable) };
}

/** A position of GET /wallets/{w} (WalletPositionOut) or /wallets/{w}/positions (PositionOut). */
export function positionView(p) {
  return {
    node: p.node,
    nodeName: pick(p, 'node_name'),
    isOperator: pick(p, 'is_operator'),
    nodeStatus: pick(p, 'node_status'),
    bonded: p.bonded,
    unbonding: p.unbonding,
    unlockTime: pick(p, 'unlock_time'),
    withdrawable: p.withdrawable,
    withdrawn: pick(p, 'withdrawn'),
    entries: (pick(p, 'entries') ?? []).map(entryView),
    commissionBps: pick(p, 'commission_bps'),
    pendingCommissionBps: pick(p, 'pending_commission.bps'),
    pendingCommissionAt: pick(p, 'pending_commission.effective_at'),
  };
}

/** GET /wallets/{w} (WalletOut). */
export function walletView(w) {
  return {
    wallet: w.wallet,
    ioBalance: pick(w, 'io_balance.amount'),
    ioBalanceError: pick(w, 'io_balance.error'),
    bonded: pick(w, 'bonded'),
    unbonding: pick(w, 'unbonding'),
    withdrawable: pick(w, 'withdrawable'),
    positions: (pick(w, 'positions') ?? []).map(positionView),
    asOfSlot: pick(w, 'as_of_slot'),
  };
}

/** GET /wallets/{w}/rewards. */
export function rewardsView(r) {
  return {
    lifetimeTotal: pick(r, 'lifetime_total'),
    claimed: pick(r, 'claimed'),
    claimable: pick(r, 'claimable') ?? '0',
    claims: pick(r, 'claims'),
    epoch: pick(r, 'epoch'),
    computedEpoch: pick(r, 'computed_epoch'),
    computedTotal: pick(r, 'computed_total'),
  };
}

/** GET /invoices/{id} (InvoiceOut). */
export function invoiceView(i) {
  return {
    id: pick(i, 'id'),
    status: pick(i, 'status'),
    amount: pick(i, 'amount'),
    currency: pick(i, 'currency') ?? 'IO',
    mint: pick(i, 'mint'),
    feeBps: pick(i, 'fee_bps'),
    paid: pick(i, 'paid'),
    pending: pick(i, 'pending'),
    excess: pick(i, 'excess'),
    description: pick(i, 'description'),
    reference: pick(i, 'reference'),
    recipient: pick(i, 'recipient'),
    solanaPayUrl: pick(i, 'solana_pay_url'),
    txRequestUrl: pick(i, 'transaction_request_url'),
    createdAt: pick(i, 'created_at'),
    expiresAt: pick(i, 'expires_at'),
    flags: pick(i, 'flags') ?? [],
    transfers: pick(i, 'transfers') ?? [],
    asOfSlot: pick(i, 'as_of_slot'),
  };
}
