/* node.c -- register_node, set_commission, deactivate_node. */
#include "common.h"

/*
 * register_node(gpu_units: u32, commission_bps: u16)
 * accounts: operator (w, s), node_key (s), config, node (w), system_program
 */
uint64_t ix_register_node(Ctx *c) {
  TRY(need_accounts(c, 5));
  SolAccountInfo *ka = c->p->ka;
  SolAccountInfo *op = &ka[0], *nk = &ka[1], *cfg = &ka[2], *node = &ka[3], *sys = &ka[4];
  uint32_t gpu_units;
  uint16_t commission;
  IogReader r;
  iog_reader_init(&r, c->args, c->args_len, ERR_INVALID_INSTRUCTION);
  TRY(iog_read_u32(&r, &gpu_units));
  TRY(iog_read_u16(&r, &commission));
  TRY(iog_read_end(&r));
  TRY(need_signer(c, op));
  TRY(need_signer(c, nk));
  TRY(need_writable(c, op));
  TRY(need_writable(c, node));
  TRY(need_distinct(c, op, nk));
  TRY(need_system_program(c, sys));
  Params p;
  TRY(load_config(c, cfg, &p));
  if (p.paused) return ERR_PAUSED;
  if (gpu_units == 0 || gpu_units > MAX_GPU_UNITS) return fail_values(c, ERR_INVALID_GPU_UNITS, gpu_units, MAX_GPU_UNITS);
  if (commission > p.max_commission_bps)
    return fail_values(c, ERR_COMMISSION_TOO_HIGH, commission, p.max_commission_bps);
  uint8_t bump;
  Seeds seeds = SEEDS("node", nk->key, NULL);
  TRY(find_pda(c, node, &seeds, &bump));
  NewAccount new_node = {op, node, sys, NODE_LEN, seeds, bump};
  TRY(create_pda(c, &new_node));
  int64_t now = now_ts();
  iog_store_u64(node->data, DISC_NODE);
  sol_pubkey_copy((SolPubkey *)(node->data + NODE_OFF_OPERATOR), op->key);
  sol_pubkey_copy((SolPubkey *)(node->data + NODE_OFF_NODE_KEY), nk->key);
  ST64(node, NODE_OFF_REGISTERED_AT, (uint64_t)now);
  ST64(node, NODE_OFF_COMMISSION_EFFECTIVE_AT, (uint64_t)now);
  iog_store_u32(node->data + NODE_OFF_GPU_UNITS, gpu_units);
  ST16(node, NODE_OFF_COMMISSION_BPS, commission);
  ST16(node, NODE_OFF_PENDING_COMMISSION_BPS, commission);
  node->data[NODE_OFF_STATUS] = NODE_STATUS_ACTIVE;
  node->data[NODE_OFF_BUMP] = bump;

  uint8_t body[32 * 3 + 4 + 2];
  IogWriter w;
  iog_writer_init(&w, body, sizeof(body), 0);
  iog_write_pubkey(&w, node->key);
  iog_write_pubkey(&w, op->key);
  iog_write_pubkey(&w, nk->key);
  iog_write_u32(&w, gpu_units);
  iog_write_u16(&w, commission);
  emit_event(EV_NODE_REGISTERED, body, w.pos);
  return 0;
}

/* Shared checks of the operator-only node instructions: operator (s), config, node (w). */
static uint64_t operator_node(Ctx *c, Params *p) {
  TRY(need_accounts(c, 3));
  SolAccountInfo *op = &c->p->ka[0], *cfg = &c->p->ka[1], *node = &c->p->ka[2];
  TRY(need_signer(c, op));
  TRY(load_config(c, cfg, p));
  if (p->paused) return ERR_PAUSED;
  TRY(load_node(c, node));
  TRY(need_writable(c, node));
  if (!sol_pubkey_eq(op->key, KEY_AT(node, NODE_OFF_OPERATOR)))
    return fail_keys(c, op, ERR_UNAUTHORIZED, KEY_AT(node, NODE_OFF_OPERATOR));
  return 0;
}

/*
 * set_commission(commission_bps: u16); accounts: operator (s), config, node (w).
 * A pending increase whose notice has passed is applied first. A decrease (or no change) applies at once and
 * cancels any pending increase; an increase is scheduled for now + commission_notice_seconds, and only one
 * increase may be pending at a time (CommissionChangePending).
 */
uint64_t ix_set_commission(Ctx *c) {
  uint16_t bps;
  IogReader r;
  iog_reader_init(&r, c->args, c->args_len, ERR_INVALID_INSTRUCTION);
  TRY(iog_read_u16(&r, &bps));
  TRY(iog_read_end(&r));
  Params p;
  TRY(operator_node(c, &p));
  SolAccountInfo *node = &c->p->ka[2];
  if (bps > p.max_commission_bps) return fail_values(c, ERR_COMMISSION_TOO_HIGH, bps, p.max_commission_bps);
  int64_t now = now_ts();
  uint16_t current = LD16(node, NODE_OFF_COMMISSION_BPS);
  uint16_t pending = LD16(node, NODE_OFF_PENDING_COMMISSION_BPS);
  int64_t effective_at = (int64_t)LD64(node, NODE_OFF_COMMISSION_EFFECTIVE_AT);
  if (pending != current && now >= effective_at) current = pending; /* matured increase */
  uint16_t old = current;
  if (bps <= current) {
    current = bps;
    pending = bps;
    effective_at = now;
  } else {
    if (pending != current) return ERR_COMMISSION_CHANGE_PENDING;
    pending = bps;
    effective_at = now + p.commission_notice_seconds;
  }
  ST16(node, NODE_OFF_COMMISSION_BPS, current);
  ST16(node, NODE_OFF_PENDING_COMMISSION_BPS, pending);
  ST64(node, NODE_OFF_COMMISSION_EFFECTIVE_AT, (uint64_t)effective_at);

  uint8_t body[32 + 2 + 2 + 8];
  IogWriter w;
  iog_writer_init(&w, body, sizeof(body), 0);
  iog_write_pubkey(&w, node->key);
  iog_write_u16(&w, old);
  iog_write_u16(&w, bps);
  iog_write_u64(&w, (uint64_t)effective_at);
  emit_event(EV_COMMISSION_SCHEDULED, body, w.pos);
  return 0;
}

/* deactivate_node(); accounts: operator (s), config, node (w). No new stake; positions leave by the cooldown. */
uint64_t ix_deactivate_node(Ctx *c) {
  TRY(iog_read_end(&(IogReader){c->args, c->args_len, 0, ERR_INVALID_INSTRUCTION}));
  Params p;
  TRY(operator_node(c, &p));
  SolAccountInfo *op = &c->p->ka[0], *node = &c->p->ka[2];
  if (node->data[NODE_OFF_STATUS] != NODE_STATUS_ACTIVE) return fail_at(c, node, ERR_NODE_NOT_ACTIVE);
  node->data[NODE_OFF_STATUS] = NODE_STATUS_DEACTIVATED;
  uint8_t body[64];
  sol_memcpy(body, node->key, 32);
  sol_memcpy(body + 32, op->key, 32);
  emit_event(EV_NODE_DEACTIVATED, body, 64);
  return 0;
}
