/*
 * stake.c -- stake, request_unstake, withdraw.
 *
 * Share accounting per node, two pools: bonded (total_stake / total_shares) and unbonding (unbonding_stake /
 * unbonding_shares). A slash cuts both pools' stake, so every position's value follows without touching positions,
 * and stake in cooldown stays slashable until withdrawn. Rounding always favours the pool (shares minted are
 * floored, shares burned are ceiled); the last holder of a pool takes the whole pool, so no dust is orphaned.
 *
 * A position keeps up to MAX_UNBONDING_ENTRIES unbonding entries (amount requested, shares of the unbonding pool,
 * unlock time): each request_unstake appends one with its own cooldown, and withdraw pays every matured entry.
 */
#include "common.h"

/* Loads a position and checks its PDA and that it belongs to (node, owner). */
static uint64_t load_position(Ctx *c, const SolAccountInfo *pos, const SolAccountInfo *node,
                              const SolAccountInfo *owner) {
  TRY(load_account(c, pos, DISC_STAKE_POSITION, STAKE_POSITION_LEN));
  if (!sol_pubkey_eq(KEY_AT(pos, STAKE_POSITION_OFF_NODE), node->key) ||
      !sol_pubkey_eq(KEY_AT(pos, STAKE_POSITION_OFF_OWNER), owner->key))
    return fail_at(c, pos, ERR_INVALID_PDA);
  if (pos->data[STAKE_POSITION_OFF_ENTRY_COUNT] > MAX_UNBONDING_ENTRIES) return fail_at(c, pos, ERR_INVALID_DISCRIMINATOR);
  Seeds s = SEEDS("position", node->key, owner->key);
  return check_pda(c, pos, &s, pos->data[STAKE_POSITION_OFF_BUMP]);
}

/* Address of unbonding entry `i` of a position. */
#define ENTRY(pos, i) ((pos)->data + STAKE_POSITION_OFF_ENTRIES + (uint64_t)(i) * UNBONDING_ENTRY_LEN)

/* Value of `shares` in a pool of (stake, total_shares). */
static uint64_t share_value(uint64_t shares, uint64_t stake, uint64_t total_shares, uint64_t *out) {
  if (total_shares == 0) {
    *out = 0;
    return 0;
  }
  if (shares == total_shares) {
    *out = stake;
    return 0;
  }
  return mul_div(shares, stake, total_shares, out);
}

/* Shares minted for `amount` entering a pool of (stake, total_shares). */
static uint64_t shares_for(uint64_t amount, uint64_t stake, uint64_t total_shares, uint64_t *out) {
  if (total_shares == 0) {
    *out = amount;
    return 0;
  }
  if (stake == 0) return ERR_POOL_DEPLETED;
  TRY(mul_div(amount, total_shares, stake, out));
  return *out == 0 ? ERR_AMOUNT_TOO_SMALL : 0;
}

/*
 * Checks the operator rules of a node's bonded pool (stake, shares, operator_shares) while the node is active:
 * with any delegated stake, the operator keeps at least min_stake_per_gpu * gpu_units, and delegated stake stays
 * within max_delegation_bps of the total.
 */
IOG_INLINE uint64_t check_delegation(Ctx *c, const SolAccountInfo *node, const Params *p, uint64_t stake,
                                    uint64_t shares, uint64_t op_shares) {
  uint64_t op_value, delegated, cap, min_stake;
  TRY(share_value(op_shares, stake, shares, &op_value));
  TRY(sub64(stake, op_value, &delegated));
  if (delegated == 0) return 0;
  TRY(mul64(p->min_stake_per_gpu, iog_load_u32(node->data + NODE_OFF_GPU_UNITS), &min_stake));
  if (op_value < min_stake) return fail_values(c, ERR_BELOW_MINIMUM_STAKE, op_value, min_stake);
  TRY(mul_div(stake, p->max_delegation_bps, BPS_DENOM, &cap));
  return delegated > cap ? fail_values(c, ERR_DELEGATION_CAP_EXCEEDED, delegated, cap) : 0;
}

/*
 * stake(amount: u64)
 * accounts: owner (w, s), config, node (w), position (w), owner_token (w), stake_vault (w), token_program,
 *           system_program
 */
uint64_t ix_stake(Ctx *c) {
  TRY(need_accounts(c, 8));
  SolAccountInfo *ka = c->p->ka;
  SolAccountInfo *owner = &ka[0], *cfg = &ka[1], *node = &ka[2], *pos = &ka[3], *src = &ka[4], *vault = &ka[5];
  uint64_t amount, balance;
  IogReader r;
  iog_reader_init(&r, c->args, c->args_len, ERR_INVALID_INSTRUCTION);
  TRY(iog_read_u64(&r, &amount));
  TRY(iog_read_end(&r));
  TRY(need_signer(c, owner));
  TRY(need_writable(c, owner));
  Params p;
  TRY(load_config(c, cfg, &p));
  if (p.paused) return ERR_PAUSED;
  TRY(load_node(c, node));
  TRY(need_writable(c, node));
  TRY(need_writable(c, pos));
  TRY(need_writable(c, src));
  TRY(need_writable(c, vault));
  TRY(need_token_program(c, &ka[6]));
  TRY(need_system_program(c, &ka[7]));
  TRY(need_distinct(c, src, vault));
  TRY(need_vault(c, vault, cfg, CONFIG_OFF_STAKE_VAULT));
  if (node->data[NODE_OFF_STATUS] != NODE_STATUS_ACTIVE) return fail_at(c, node, ERR_NODE_NOT_ACTIVE);
  if (amount == 0) return ERR_ZERO_AMOUNT;
  TRY(check_token_account(c, src, KEY_AT(cfg, CONFIG_OFF_IO_MINT), owner->key, &balance));
  if (balance < amount) return fail_values(c, ERR_INSUFFICIENT_FUNDS, amount, balance);

  uint64_t stake = LD64(node, NODE_OFF_TOTAL_STAKE), shares = LD64(node, NODE_OFF_TOTAL_SHARES);
  uint64_t op_shares = LD64(node, NODE_OFF_OPERATOR_SHARES), minted;
  bool is_operator = sol_pubkey_eq(owner->key, KEY_AT(node, NODE_OFF_OPERATOR));
  TRY(shares_for(amount, stake, shares, &minted));
  TRY(add64(stake, amount, &stake));
  TRY(add64(shares, minted, &shares));
  if (is_operator) {
    TRY(add64(op_shares, minted, &op_shares));
  } else {
    TRY(check_delegation(c, node, &p, stake, shares, op_shares));
  }

  bool exists = sol_pubkey_eq(pos->owner, c->program_id);
  if (exists) {
    TRY(load_position(c, pos, node, owner));
  } else {
    uint8_t bump;
    Seeds seeds = SEEDS("position", node->key, owner->key);
    TRY(find_pda(c, pos, &seeds, &bump));
    NewAccount new_pos = {owner, pos, &ka[7], STAKE_POSITION_LEN, seeds, bump};
    TRY(create_pda(c, &new_pos));
    iog_store_u64(pos->data, DISC_STAKE_POSITION);
    sol_pubkey_copy((SolPubkey *)(pos->data + STAKE_POSITION_OFF_NODE), node->key);
    sol_pubkey_copy((SolPubkey *)(pos->data + STAKE_POSITION_OFF_OWNER), owner->key);
    pos->data[STAKE_POSITION_OFF_BUMP] = bump;
  }
  uint64_t pos_shares;
  TRY(add64(LD64(pos, STAKE_POSITION_OFF_SHARES), minted, &pos_shares));
  TRY(transfer(src, vault, owner, &ka[6], amount, NULL));
  ST64(pos, STAKE_POSITION_OFF_SHARES, pos_shares);
  ST64(node, NODE_OFF_TOTAL_STAKE, stake);
  ST64(node, NODE_OFF_TOTAL_SHARES, shares);
  ST64(node, NODE_OFF_OPERATOR_SHARES, op_shares);

  uint8_t body[32 + 32 + 8 + 8 + 1 + 8];
  IogWriter w;
  iog_writer_init(&w, body, sizeof(body), 0);
  iog_write_pubkey(&w, node->key);
  iog_write_pubkey(&w, owner->key);
  iog_write_u64(&w, amount);
  iog_write_u64(&w, minted);
  iog_write_bool(&w, !is_operator);
  iog_write_u64(&w, stake);
  emit_event(EV_STAKED, body, w.pos);
  return 0;
}

/*
 * request_unstake(amount: u64); accounts: owner (s), config, node (w), position (w).
 * Moves `amount` of bonded value into the unbonding pool as a new entry unlocking at now + cooldown (earlier entries
 * keep their own unlock times). A position worth nothing (a depleted pool, or shares worth less than one base unit)
 * leaves its bonded pool with amount 0: its shares are burned and no entry is added, since there is nothing to pay.
 */
uint64_t ix_request_unstake(Ctx *c) {
  TRY(need_accounts(c, 4));
  SolAccountInfo *ka = c->p->ka;
  SolAccountInfo *owner = &ka[0], *cfg = &ka[1], *node = &ka[2], *pos = &ka[3];
  uint64_t amount;
  IogReader r;
  iog_reader_init(&r, c->args, c->args_len, ERR_INVALID_INSTRUCTION);
  TRY(iog_read_u64(&r, &amount));
  TRY(iog_read_end(&r));
  TRY(need_signer(c, owner));
  Params p;
  TRY(load_config(c, cfg, &p));
  if (p.paused) return ERR_PAUSED;
  TRY(load_node(c, node));
  TRY(need_writable(c, node));
  TRY(load_position(c, pos, node, owner));
  TRY(need_writable(c, pos));

  uint64_t stake = LD64(node, NODE_OFF_TOTAL_STAKE), shares = LD64(node, NODE_OFF_TOTAL_SHARES);
  uint64_t op_shares = LD64(node, NODE_OFF_OPERATOR_SHARES);
  uint64_t pos_shares = LD64(pos, STAKE_POSITION_OFF_SHARES), value, burn;
  TRY(share_value(pos_shares, stake, shares, &value));
  /* amount 0 is how a position worth nothing leaves; for anything else it is an error */
  if (amount == 0 && (value != 0 || pos_shares == 0)) return ERR_ZERO_AMOUNT;
  if (amount > value) return fail_values(c, ERR_INSUFFICIENT_STAKE, amount, value);
  if (amount == value) {
    burn = pos_shares; /* leaving entirely: all shares, no rounding left behind */
  } else {
    TRY(mul_div_ceil(amount, shares, stake, &burn));
    if (burn > pos_shares) return fail_values(c, ERR_INSUFFICIENT_STAKE, amount, value);
  }
  if (burn == shares) amount = stake; /* the last holder takes the whole pool */
  TRY(sub64(stake, amount, &stake));
  TRY(sub64(shares, burn, &shares));
  bool is_operator = sol_pubkey_eq(owner->key, KEY_AT(node, NODE_OFF_OPERATOR));
  if (is_operator) {
    TRY(sub64(op_shares, burn, &op_shares));
    if (node->data[NODE_OFF_STATUS] == NODE_STATUS_ACTIVE) TRY(check_delegation(c, node, &p, stake, shares, op_shares));
  }
  int64_t unlock = now_ts();
  uint64_t minted = 0;
  if (amount > 0) {
    uint8_t count = pos->data[STAKE_POSITION_OFF_ENTRY_COUNT];
    if (count >= MAX_UNBONDING_ENTRIES)
      return fail_values(c, ERR_TOO_MANY_UNBONDING_ENTRIES, count + 1ULL, MAX_UNBONDING_ENTRIES);
    uint64_t ub_stake = LD64(node, NODE_OFF_UNBONDING_STAKE), ub_shares = LD64(node, NODE_OFF_UNBONDING_SHARES);
    uint64_t pos_ub;
    TRY(shares_for(amount, ub_stake, ub_shares, &minted));
    TRY(add64(ub_stake, amount, &ub_stake));
    TRY(add64(ub_shares, minted, &ub_shares));
    TRY(add64(LD64(pos, STAKE_POSITION_OFF_UNBONDING_SHARES), minted, &pos_ub));
    unlock += p.cooldown_seconds;
    uint8_t *e = ENTRY(pos, count);
    iog_store_u64(e + UNBONDING_ENTRY_OFF_AMOUNT, amount);
    iog_store_u64(e + UNBONDING_ENTRY_OFF_SHARES, minted);
    iog_store_u64(e + UNBONDING_ENTRY_OFF_UNLOCK_TIME, (uint64_t)unlock);
    pos->data[STAKE_POSITION_OFF_ENTRY_COUNT] = count + 1;
    ST64(pos, STAKE_POSITION_OFF_UNBONDING_SHARES, pos_ub);
    ST64(node, NODE_OFF_UNBONDING_STAKE, ub_stake);
    ST64(node, NODE_OFF_UNBONDING_SHARES, ub_shares);
  }
  ST64(node, NODE_OFF_TOTAL_STAKE, stake);
  ST64(node, NODE_OFF_TOTAL_SHARES, shares);
  ST64(node, NODE_OFF_OPERATOR_SHARES, op_shares);
  ST64(pos, STAKE_POSITION_OFF_SHARES, pos_shares - burn);

  uint8_t body[32 + 32 + 8 + 8 + 8 + 8];
  IogWriter w;
  iog_writer_init(&w, body, sizeof(body), 0);
  iog_write_pubkey(&w, node->key);
  iog_write_pubkey(&w, owner->key);
  iog_write_u64(&w, amount);
  iog_write_u64(&w, burn);
  iog_write_u64(&w, (uint64_t)unlock);
  iog_write_u64(&w, minted);
  emit_event(EV_UNSTAKE_REQUESTED, body, w.pos);
  return 0;
}

/*
 * withdraw()
 * accounts: owner (s), config, node (w), position (w), owner_token (w), stake_vault (w), vault_authority,
 *           token_program
 * Pays the current value (after any slash) of every entry whose unlock time has passed, in one transfer, and keeps
 * the others in their order.
 */
uint64_t ix_withdraw(Ctx *c) {
  TRY(need_accounts(c, 8));
  SolAccountInfo *ka = c->p->ka;
  SolAccountInfo *owner = &ka[0], *cfg = &ka[1], *node = &ka[2], *pos = &ka[3], *dst = &ka[4], *vault = &ka[5];
  if (c->args_len != 0) return ERR_INVALID_INSTRUCTION;
  TRY(need_signer(c, owner));
  Params p;
  TRY(load_config(c, cfg, &p));
  if (p.paused) return ERR_PAUSED;
  TRY(load_node(c, node));
  TRY(need_writable(c, node));
  TRY(load_position(c, pos, node, owner));
  TRY(need_writable(c, pos));
  TRY(need_writable(c, dst));
  TRY(need_writable(c, vault));
  TRY(need_token_program(c, &ka[7]));
  TRY(need_distinct(c, dst, vault));
  TRY(need_vault(c, vault, cfg, CONFIG_OFF_STAKE_VAULT));
  TRY(check_vault_authority(c, cfg, &ka[6]));
  TRY(check_token_account(c, dst, KEY_AT(cfg, CONFIG_OFF_IO_MINT), owner->key, NULL));
  uint8_t count = pos->data[STAKE_POSITION_OFF_ENTRY_COUNT];
  if (count == 0) return fail_at(c, pos, ERR_NOTHING_PENDING);
  int64_t now = now_ts(), earliest = 0;
  uint64_t paid_shares = 0;
  uint8_t paid = 0;
  for (uint8_t i = 0; i < count; i++) {
    int64_t unlock = (int64_t)iog_load_u64(ENTRY(pos, i) + UNBONDING_ENTRY_OFF_UNLOCK_TIME);
    if (now >= unlock) {
      TRY(add64(paid_shares, iog_load_u64(ENTRY(pos, i) + UNBONDING_ENTRY_OFF_SHARES), &paid_shares));
      paid++;
    } else if (earliest == 0 || unlock < earliest) {
      earliest = unlock;
    }
  }
  if (paid == 0) return fail_times(c, ERR_COOLDOWN_NOT_ELAPSED, now, earliest);
  uint64_t ub_stake = LD64(node, NODE_OFF_UNBONDING_STAKE), ub_shares = LD64(node, NODE_OFF_UNBONDING_SHARES);
  uint64_t pay, pos_ub;
  TRY(share_value(paid_shares, ub_stake, ub_shares, &pay));
  TRY(sub64(ub_stake, pay, &ub_stake));
  TRY(sub64(ub_shares, paid_shares, &ub_shares));
  TRY(sub64(LD64(pos, STAKE_POSITION_OFF_UNBONDING_SHARES), paid_shares, &pos_ub));
  TRY(transfer(vault, dst, &ka[6], &ka[7], pay, &cfg->data[CONFIG_OFF_VAULT_AUTHORITY_BUMP]));
  ST64(node, NODE_OFF_UNBONDING_STAKE, ub_stake);
  ST64(node, NODE_OFF_UNBONDING_SHARES, ub_shares);
  ST64(pos, STAKE_POSITION_OFF_UNBONDING_SHARES, pos_ub);
  uint8_t kept = 0;
  for (uint8_t i = 0; i < count; i++) {
    if (now >= (int64_t)iog_load_u64(ENTRY(pos, i) + UNBONDING_ENTRY_OFF_UNLOCK_TIME)) continue;
    if (kept != i) sol_memcpy(ENTRY(pos, kept), ENTRY(pos, i), UNBONDING_ENTRY_LEN);
    kept++;
  }
  sol_memset(ENTRY(pos, kept), 0, (uint64_t)(count - kept) * UNBONDING_ENTRY_LEN);
  pos->data[STAKE_POSITION_OFF_ENTRY_COUNT] = kept;

  uint8_t body[32 + 32 + 8 + 8 + 1 + 8];
  IogWriter w;
  iog_writer_init(&w, body, sizeof(body), 0);
  iog_write_pubkey(&w, node->key);
  iog_write_pubkey(&w, owner->key);
  iog_write_u64(&w, pay);
  iog_write_u64(&w, paid_shares);
  iog_write_u8(&w, paid);
  iog_write_u64(&w, (uint64_t)now);
  emit_event(EV_WITHDRAWN, body, w.pos);
  return 0;
}
