// One view of a node, whatever route it came from: GET /nodes and /nodes/{node} (on main now) or
// GET /marketplace/nodes (issue 10). The field names of issue 10/11 are read here and nowhere else, so a
// rename there is a change in this one file. Missing fields are null and render as "—".

function first(obj, ...names) {
  for (const n of names) {
    const v = n.split('.').reduce((o, k) => (o === null || o === undefined ? undefined : o[k]), obj);
    if (v !== undefined && v !== null) return v;
  }
  return null;
}

/** Uptime over a window in basis points: `uptime_7d_bps` or `uptime: {"7d": bps}` (or {bps}). */
function uptimeBps(n, window) {
  const v = first(n, `uptime_${window}_bps`, `uptime.${window}`, `uptime_bps.${window}`);
  if (v !== null && typeof v === 'object') return first(v, 'bps', 'uptime_bps');
  return v;
}

export function nodeView(n) {
  const pending = first(n, 'pending_commission_bps', 'pending_commission.bps', 'commission.pending_bps');
  return {
    raw: n,
    node: n.node,
    nodeKey: first(n, 'node_key'),
    name: first(n, 'name'),
    operator: first(n, 'operator'),
    gpuModel: first(n, 'gpu_model'),
    gpuUnits: first(n, 'gpu_units'),
    vramGb: first(n, 'vram_gb'),
    region: first(n, 'region'),
    description: first(n, 'description'),
    recordStatus: first(n, 'record_status', 'registry_status', 'registry.status'),
    recordReason: first(n, 'status_reason', 'record_status_reason', 'registry.status_reason'),
    status: first(n, 'status'),
    totalStake: first(n, 'total_stake', 'stake.total'),
    operatorStake: first(n, 'operator_stake', 'stake.operator'),
    delegatedStake: first(n, 'delegated_stake', 'stake.delegated'),
    unbondingStake: first(n, 'unbonding_stake', 'stake.unbonding'),
    delegatedShareBps: first(n, 'delegated_share_bps'),
    capacityLeft: first(n, 'capacity_left', 'delegation_capacity_left', 'capacity.left'),
    commissionBps: first(n, 'commission_bps', 'commission.bps'),
    pendingCommissionBps: pending,
    commissionEffectiveAt: first(n, 'commission_effective_at', 'pending_commission.effective_at',
      'commission.effective_at'),
    uptime24h: uptimeBps(n, '24h'),
    uptime7d: uptimeBps(n, '7d'),
    uptime30d: uptimeBps(n, '30d'),
    uptimeSeries: first(n, 'uptime_by_epoch', 'uptime_history'),
    compute7d: first(n, 'compute_7d_gpu_seconds', 'compute_gpu_seconds_7d', 'compute.7d'),
    rewards24: first(n, 'rewards_24_epochs', 'rewards_last_24_epochs', 'rewards.last_24_epochs'),
    apyBps: first(n, 'estimated_apy_bps', 'estimated_apy.bps'),
    apyBasis: first(n, 'estimated_apy_basis', 'estimated_apy.basis', 'apy_basis'),
    slashCount: first(n, 'slash_count', 'slashes.count'),
    slashTotal: first(n, 'slash_total', 'slashes.total', 'slashed_total'),
    lastSlashReason: first(n, 'last_slash_reason', 'slashes.last_reason'),
    delegators: first(n, 'delegator_count', 'delegators'),
    positions: first(n, 'positions'),
    score: first(n, 'score', 'score.value'),
    scoreVersion: first(n, 'score_version'),
    scoreComponents: first(n, 'score_components', 'components'),
    eligible: first(n, 'eligible'),
    asOfSlot: first(n, 'as_of_slot', 'last_slot'),
  };
}

/** Commission a delegator should count on: the one in force, or a scheduled increase when higher. */
export function worstCommission(v) {
  const now = v.commissionBps ?? 0;
  return v.pendingCommissionBps !== null && v.pendingCommissionBps > now ? v.pendingCommissionBps : now;
}

/** One epoch row of GET /nodes/{node}/epochs (issue 11). */
export function epochRowView(e) {
  return {
    epoch: first(e, 'epoch', 'number', 'n'),
    uptimeSeconds: first(e, 'uptime_seconds'),
    uptimeBps: first(e, 'uptime_bps'),
    verified: first(e, 'verified'),
    reasons: first(e, 'reasons', 'reason_codes') ?? [],
    reward: first(e, 'reward', 'payout', 'reward_total'),
    start: first(e, 'start', 'start_time', 'starts_at'),
    end: first(e, 'end', 'end_time', 'ends_at'),
  };
}

/** One epoch of GET /epochs (issue 11). */
export function epochView(e) {
  return {
    epoch: first(e, 'epoch', 'number', 'n'),
    state: first(e, 'state', 'status'),
    root: first(e, 'root', 'merkle_root'),
    inputsSha256: first(e, 'inputs_sha256'),
    signature: first(e, 'signature', 'post_signature'),
    totals: first(e, 'totals') ?? {},
    start: first(e, 'start', 'start_time', 'starts_at'),
    end: first(e, 'end', 'end_time', 'ends_at'),
  };
}

/** An invoice of GET /invoices/{id} (issue 12). */
export function invoiceView(i) {
  return {
    id: first(i, 'id'),
    status: first(i, 'status'),
    amount: first(i, 'amount'),
    currency: first(i, 'currency') ?? 'IO',
    mint: first(i, 'mint'),
    decimals: first(i, 'decimals'),
    paid: first(i, 'paid', 'amount_paid', 'paid_finalized'),
    seen: first(i, 'seen', 'amount_seen', 'paid_pending'),
    description: first(i, 'description'),
    reference: first(i, 'reference'),
    recipient: first(i, 'recipient'),
    solanaPayUrl: first(i, 'solana_pay_url'),
    txRequestUrl: first(i, 'transaction_request_url'),
    expiresAt: first(i, 'expires_at'),
    flags: first(i, 'flags') ?? [],
    asOfSlot: first(i, 'as_of_slot'),
  };
}
