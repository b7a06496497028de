/* slash.c -- slash(slash_bps, reason): the slash authority cuts a node's bonded and unbonding stake pro rata. */
#include "common.h"

/*
 * slash(slash_bps: u16, reason: u32)
 * accounts: slash_authority (s), config, node (w), stake_vault (w), slash_destination (w), vault_authority,
 *           token_program
 * Allowed while paused and on deactivated nodes: stake in cooldown stays slashable until withdrawn.
 */
uint64_t ix_slash(Ctx *c) {
  TRY(need_accounts(c, 7));
  SolAccountInfo *ka = c->p->ka;
  SolAccountInfo *auth = &ka[0], *cfg = &ka[1], *node = &ka[2], *vault = &ka[3], *dst = &ka[4];
  uint16_t bps;
  uint32_t reason;
  IogReader r;
  iog_reader_init(&r, c->args, c->args_len, ERR_INVALID_INSTRUCTION);
  TRY(iog_read_u16(&r, &bps));
  TRY(iog_read_u32(&r, &reason));
  TRY(iog_read_end(&r));
  TRY(need_signer(c, auth));
  Params p;
  TRY(load_config(c, cfg, &p));
  if (!sol_pubkey_eq(auth->key, KEY_AT(cfg, CONFIG_OFF_SLASH_AUTHORITY)))
    return fail_keys(c, auth, ERR_UNAUTHORIZED, KEY_AT(cfg, CONFIG_OFF_SLASH_AUTHORITY));
  TRY(load_node(c, node));
  TRY(need_writable(c, node));
  TRY(need_writable(c, vault));
  TRY(need_writable(c, dst));
  TRY(need_token_program(c, &ka[6]));
  TRY(need_distinct(c, vault, dst));
  TRY(need_vault(c, vault, cfg, CONFIG_OFF_STAKE_VAULT));
  TRY(need_vault(c, dst, cfg, CONFIG_OFF_SLASH_DESTINATION));
  TRY(check_vault_authority(c, cfg, &ka[5]));
  if (bps == 0) return ERR_ZERO_AMOUNT;
  /* Never 100%, even under a Config written before max_slash_bps was capped: a pool keeps stake behind its shares. */
  uint64_t limit = p.max_slash_bps < MAX_SLASH_BPS ? p.max_slash_bps : MAX_SLASH_BPS;
  if (bps > limit) return fail_values(c, ERR_SLASH_TOO_LARGE, bps, limit);

  uint64_t stake = LD64(node, NODE_OFF_TOTAL_STAKE), ub = LD64(node, NODE_OFF_UNBONDING_STAKE);
  uint64_t cut_bonded, cut_ub, cut, slashed;
  TRY(mul_div(stake, bps, BPS_DENOM, &cut_bonded));
  TRY(mul_div(ub, bps, BPS_DENOM, &cut_ub));
  TRY(add64(cut_bonded, cut_ub, &cut));
  TRY(add64(LD64(node, NODE_OFF_SLASHED_TOTAL), cut, &slashed));
  TRY(transfer(vault, dst, &ka[5], &ka[6], cut, &cfg->data[CONFIG_OFF_VAULT_AUTHORITY_BUMP]));
  ST64(node, NODE_OFF_TOTAL_STAKE, stake - cut_bonded);
  ST64(node, NODE_OFF_UNBONDING_STAKE, ub - cut_ub);
  ST64(node, NODE_OFF_SLASHED_TOTAL, slashed);

  uint8_t body[32 + 2 + 4 + 8];
  IogWriter w;
  iog_writer_init(&w, body, sizeof(body), 0);
  iog_write_pubkey(&w, node->key);
  iog_write_u16(&w, bps);
  iog_write_u32(&w, reason);
  iog_write_u64(&w, cut);
  emit_event(EV_SLASHED, body, w.pos);
  return 0;
}
