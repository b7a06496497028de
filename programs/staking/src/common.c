/* common.c -- account checks, PDAs, token CPIs, params and events shared by every instruction. */
#include "common.h"

uint64_t add64(uint64_t a, uint64_t b, uint64_t *out) { return iog_add_overflow(a, b, out) ? ERR_MATH_OVERFLOW : 0; }

uint64_t sub64(uint64_t a, uint64_t b, uint64_t *out) { return iog_sub_overflow(a, b, out) ? ERR_MATH_OVERFLOW : 0; }

uint64_t mul_div(uint64_t a, uint64_t b, uint64_t c, uint64_t *out) {
  return iog_mul_div(a, b, c, out) ? ERR_MATH_OVERFLOW : 0;
}

uint64_t mul_div_ceil(uint64_t a, uint64_t b, uint64_t c, uint64_t *out) {
  return iog_mul_div_ceil(a, b, c, out) ? ERR_MATH_OVERFLOW : 0;
}

uint64_t mul64(uint64_t a, uint64_t b, uint64_t *out) {
  uint64_t hi, lo;
  iog_mul_wide(a, b, &hi, &lo);
  if (hi) return ERR_MATH_OVERFLOW;
  *out = lo;
  return 0;
}

uint64_t need_accounts(Ctx *c, uint64_t n) {
  /* Every instruction needs fewer than IOG_MAX_ACCOUNTS accounts, so all of them are recorded. */
  return c->p->ka_num < n ? ERR_NOT_ENOUGH_ACCOUNTS : 0;
}

uint64_t need_signer(Ctx *c, const SolAccountInfo *a) {
  return a->is_signer ? 0 : fail_at(c, a, ERR_MISSING_SIGNER);
}

uint64_t need_writable(Ctx *c, const SolAccountInfo *a) {
  return a->is_writable ? 0 : fail_at(c, a, ERR_ACCOUNT_NOT_WRITABLE);
}

uint64_t need_distinct(Ctx *c, const SolAccountInfo *a, const SolAccountInfo *b) {
  return sol_pubkey_eq(a->key, b->key) ? fail_at(c, b, ERR_DUPLICATE_ACCOUNT) : 0;
}

uint64_t need_token_program(Ctx *c, const SolAccountInfo *a) {
  SolPubkey id = IOG_TOKEN_PROGRAM_ID;
  return sol_pubkey_eq(a->key, &id) ? 0 : fail_at(c, a, ERR_INVALID_PROGRAM);
}

uint64_t need_system_program(Ctx *c, const SolAccountInfo *a) {
  SolPubkey id = IOG_SYSTEM_PROGRAM_ID;
  return sol_pubkey_eq(a->key, &id) ? 0 : fail_at(c, a, ERR_INVALID_PROGRAM);
}

uint64_t load_account(Ctx *c, const SolAccountInfo *a, uint64_t disc, uint64_t len) {
  if (!sol_pubkey_eq(a->owner, c->program_id)) return fail_at(c, a, ERR_INVALID_ACCOUNT_OWNER);
  if (a->data_len < len || iog_load_u64(a->data) != disc) return fail_at(c, a, ERR_INVALID_DISCRIMINATOR);
  return 0;
}

/* Fills out[] with (prefix, k2?, k3?, bump?) and returns how many were used. */
static uint64_t make_seeds(SolSignerSeed *out, const Seeds *s, const uint8_t *bump) {
  uint64_t n = 0;
  out[n].addr = (const uint8_t *)s->prefix;
  out[n++].len = s->prefix_len;
  if (s->k2) {
    out[n].addr = s->k2->x;
    out[n++].len = SIZE_PUBKEY;
  }
  if (s->k3) {
    out[n].addr = s->k3->x;
    out[n++].len = SIZE_PUBKEY;
  }
  if (bump) {
    out[n].addr = bump;
    out[n++].len = 1;
  }
  return n;
}

uint64_t check_pda(Ctx *c, const SolAccountInfo *a, const Seeds *s, uint8_t bump) {
  SolSignerSeed seeds[4];
  uint64_t n = make_seeds(seeds, s, &bump);
  return iog_check_pda(seeds, n, c->program_id, a->key) ? fail_at(c, a, ERR_INVALID_PDA) : 0;
}

uint64_t find_pda(Ctx *c, const SolAccountInfo *a, const Seeds *s, uint8_t *bump) {
  SolSignerSeed seeds[3];
  SolPubkey derived;
  uint64_t n = make_seeds(seeds, s, NULL);
  if (iog_find_pda(seeds, n, c->program_id, &derived, bump)) return fail_at(c, a, ERR_INVALID_PDA);
  return sol_pubkey_eq(&derived, a->key) ? 0 : fail_at(c, a, ERR_INVALID_PDA);
}

/* Rent-exempt minimum of an account of `space` bytes. */
static uint64_t rent_minimum(uint64_t space, uint64_t *out) {
  SolRent rent;
  if (sol_get_rent_sysvar(&rent)) return ERR_MATH_OVERFLOW;
  return iog_rent_minimum_balance(&rent, space, out) ? ERR_MATH_OVERFLOW : 0;
}

/* A System program instruction with one u32 index and a u64 or pubkey argument, on 1 or 2 accounts. */
IOG_INLINE uint64_t system_call(const SolAccountInfo *a, const SolAccountInfo *b, const SolAccountInfo *sys,
                               const uint8_t *data, uint64_t data_len, const SolSignerSeeds *signer) {
  SolPubkey system_id = IOG_SYSTEM_PROGRAM_ID;
  SolAccountMeta metas[2] = {{a->key, true, true}, {b ? b->key : a->key, true, false}};
  SolInstruction ix = {&system_id, metas, b ? 2 : 1, (uint8_t *)data, data_len};
  SolAccountInfo infos[3] = {*a, b ? *b : *a, *sys};
  return sol_invoke_signed_c(&ix, infos, 3, signer, signer ? 1 : 0);
}

uint64_t create_pda(Ctx *c, const NewAccount *n) {
  SolAccountInfo *acct = n->account;
  SolPubkey system_id = IOG_SYSTEM_PROGRAM_ID;
  if (acct->data_len != 0 || !sol_pubkey_eq(acct->owner, &system_id))
    return fail_at(c, acct, ERR_ACCOUNT_ALREADY_INITIALIZED);
  uint64_t lamports;
  TRY(rent_minimum(n->space, &lamports));
  SolSignerSeed seeds[4];
  uint64_t k = make_seeds(seeds, &n->seeds, &n->bump);
  SolSignerSeeds signer = {seeds, k};
  if (*acct->lamports == 0) {
    TRY(iog_system_create_account(n->payer, acct, n->system_program, lamports, n->space, c->program_id, &signer, 1));
  } else {
    /* Someone sent lamports to the address first (which would make create_account fail forever): top it up to
     * the rent minimum, then allocate and assign it, signed by the PDA. */
    uint8_t data[36];
    if (*acct->lamports < lamports) {
      iog_store_u32(data, 2); /* Transfer */
      iog_store_u64(data + 4, lamports - *acct->lamports);
      TRY(system_call(n->payer, acct, n->system_program, data, 12, NULL));
    }
    iog_store_u32(data, 8); /* Allocate */
    iog_store_u64(data + 4, n->space);
    TRY(system_call(acct, NULL, n->system_program, data, 12, &signer));
    acct->data_len = n->space; /* the runtime reads the size of the next CPI's accounts from our infos */
    iog_store_u32(data, 1); /* Assign */
    sol_memcpy(data + 4, c->program_id, 32);
    TRY(system_call(acct, NULL, n->system_program, data, 36, &signer));
  }
  acct->data_len = n->space;
  return 0;
}

uint64_t load_config(Ctx *c, const SolAccountInfo *cfg, Params *out) {
  TRY(load_account(c, cfg, DISC_CONFIG, CONFIG_LEN));
  Seeds s = SEEDS("config", NULL, NULL);
  TRY(check_pda(c, cfg, &s, cfg->data[CONFIG_OFF_BUMP]));
  out->min_stake_per_gpu = LD64(cfg, CONFIG_OFF_P_MIN_STAKE_PER_GPU);
  out->cooldown_seconds = (int64_t)LD64(cfg, CONFIG_OFF_P_COOLDOWN_SECONDS);
  out->commission_notice_seconds = (int64_t)LD64(cfg, CONFIG_OFF_P_COMMISSION_NOTICE_SECONDS);
  out->max_epoch_rewards = LD64(cfg, CONFIG_OFF_P_MAX_EPOCH_REWARDS);
  out->max_delegation_bps = LD16(cfg, CONFIG_OFF_P_MAX_DELEGATION_BPS);
  out->max_commission_bps = LD16(cfg, CONFIG_OFF_P_MAX_COMMISSION_BPS);
  out->max_slash_bps = LD16(cfg, CONFIG_OFF_P_MAX_SLASH_BPS);
  out->paused = cfg->data[CONFIG_OFF_P_PAUSED] != 0;
  return 0;
}

uint64_t load_node(Ctx *c, const SolAccountInfo *node) {
  TRY(load_account(c, node, DISC_NODE, NODE_LEN));
  Seeds s = SEEDS("node", KEY_AT(node, NODE_OFF_NODE_KEY), NULL);
  return check_pda(c, node, &s, node->data[NODE_OFF_BUMP]);
}

uint64_t load_distributor(Ctx *c, const SolAccountInfo *d) {
  TRY(load_account(c, d, DISC_DISTRIBUTOR, DISTRIBUTOR_LEN));
  Seeds s = SEEDS("distributor", NULL, NULL);
  return check_pda(c, d, &s, d->data[DISTRIBUTOR_OFF_BUMP]);
}

uint64_t check_vault_authority(Ctx *c, const SolAccountInfo *cfg, const SolAccountInfo *va) {
  Seeds s = SEEDS("vault_authority", NULL, NULL);
  return check_pda(c, va, &s, cfg->data[CONFIG_OFF_VAULT_AUTHORITY_BUMP]);
}

uint64_t need_vault(Ctx *c, const SolAccountInfo *a, const SolAccountInfo *cfg, uint64_t config_off) {
  const SolPubkey *recorded = KEY_AT(cfg, config_off);
  return sol_pubkey_eq(a->key, recorded) ? 0 : fail_keys(c, a, ERR_INVALID_VAULT, recorded);
}

uint64_t check_token_account(Ctx *c, const SolAccountInfo *a, const SolPubkey *mint, const SolPubkey *owner,
                             uint64_t *amount) {
  IogTokenAccount t;
  if (iog_token_account_read(a, &t)) return fail_at(c, a, ERR_INVALID_TOKEN_ACCOUNT);
  if (t.state != IOG_TOKEN_STATE_INITIALIZED) return fail_at(c, a, ERR_INVALID_TOKEN_ACCOUNT);
  if (!sol_pubkey_eq(t.mint, mint)) return fail_at(c, a, ERR_INVALID_MINT);
  if (owner && !sol_pubkey_eq(t.owner, owner)) return fail_at(c, a, ERR_INVALID_TOKEN_ACCOUNT);
  if (amount) *amount = t.amount;
  return 0;
}

uint64_t read_params(IogReader *r, Params *out) {
  uint64_t v;
  TRY(iog_read_u64(r, &out->min_stake_per_gpu));
  TRY(iog_read_u64(r, &v));
  out->cooldown_seconds = (int64_t)v;
  TRY(iog_read_u64(r, &v));
  out->commission_notice_seconds = (int64_t)v;
  TRY(iog_read_u64(r, &out->max_epoch_rewards));
  TRY(iog_read_u16(r, &out->max_delegation_bps));
  TRY(iog_read_u16(r, &out->max_commission_bps));
  TRY(iog_read_u16(r, &out->max_slash_bps));
  return iog_read_bool(r, &out->paused);
}

uint64_t validate_params(Ctx *c, const Params *p) {
  if (p->cooldown_seconds < 0 || p->cooldown_seconds > MAX_PERIOD_SECONDS) return ERR_INVALID_PARAMS;
  if (p->commission_notice_seconds < 0 || p->commission_notice_seconds > MAX_PERIOD_SECONDS) return ERR_INVALID_PARAMS;
  if (p->max_delegation_bps > BPS_DENOM || p->max_commission_bps > BPS_DENOM) return ERR_INVALID_PARAMS;
  /* A slash of 100% would leave shares without stake: the pool could never take stake again. */
  if (p->max_slash_bps > MAX_SLASH_BPS) return fail_values(c, ERR_MAX_SLASH_BPS_TOO_HIGH, p->max_slash_bps, MAX_SLASH_BPS);
  return 0;
}

void store_params(SolAccountInfo *cfg, const Params *p) {
  ST64(cfg, CONFIG_OFF_P_MIN_STAKE_PER_GPU, p->min_stake_per_gpu);
  ST64(cfg, CONFIG_OFF_P_COOLDOWN_SECONDS, (uint64_t)p->cooldown_seconds);
  ST64(cfg, CONFIG_OFF_P_COMMISSION_NOTICE_SECONDS, (uint64_t)p->commission_notice_seconds);
  ST64(cfg, CONFIG_OFF_P_MAX_EPOCH_REWARDS, p->max_epoch_rewards);
  ST16(cfg, CONFIG_OFF_P_MAX_DELEGATION_BPS, p->max_delegation_bps);
  ST16(cfg, CONFIG_OFF_P_MAX_COMMISSION_BPS, p->max_commission_bps);
  ST16(cfg, CONFIG_OFF_P_MAX_SLASH_BPS, p->max_slash_bps);
  cfg->data[CONFIG_OFF_P_PAUSED] = p->paused ? 1 : 0;
}

void write_params(IogWriter *w, const Params *p) {
  iog_write_u64(w, p->min_stake_per_gpu);
  iog_write_u64(w, (uint64_t)p->cooldown_seconds);
  iog_write_u64(w, (uint64_t)p->commission_notice_seconds);
  iog_write_u64(w, p->max_epoch_rewards);
  iog_write_u16(w, p->max_delegation_bps);
  iog_write_u16(w, p->max_commission_bps);
  iog_write_u16(w, p->max_slash_bps);
  iog_write_bool(w, p->paused);
}

int64_t now_ts(void) {
  SolClock clock;
  sol_get_clock_sysvar(&clock);
  return clock.unix_timestamp;
}

void emit_event(uint64_t disc, const uint8_t *body, uint64_t len) {
  uint8_t buf[160];
  if (len > sizeof(buf) - 8) len = sizeof(buf) - 8; /* events are all far smaller; never overrun */
  iog_store_u64(buf, disc);
  sol_memcpy(buf + 8, body, len);
  SolBytes slice = {buf, len + 8};
  sol_log_data(&slice, 1);
}
