/*
 * common.h -- shared context, account checks and helpers of the iog_staking program.
 *
 * Every handler returns IOG_SUCCESS or one of the ERR_* codes of layout.h (named in the IDL). Checks run before any
 * write or CPI, so a rejected instruction changes nothing (and the runtime rolls back anyway).
 *
 * A failing check may also record, in the Ctx, the account it was about and the two values (or keys) it compared;
 * the entrypoint then logs the error the way Anchor programs do (errors.c), so Anchor clients can name it.
 */
#ifndef STAKING_COMMON_H
#define STAKING_COMMON_H

#include "iog_sdk.h"
#include "layout.h"

#define BPS_DENOM 10000ULL
/* Highest slash: below 100%, so that a slash never leaves a pool with shares but no stake. */
#define MAX_SLASH_BPS (BPS_DENOM - 1)
/* Longest cooldown / notice period accepted (10 years): keeps now + period far from i64 overflow. */
#define MAX_PERIOD_SECONDS (10LL * 365 * 86400)
#define NODE_STATUS_ACTIVE 0
#define NODE_STATUS_DEACTIVATED 1
#define MAX_GPU_UNITS 65535U

/* What a failed check compared (logged as Anchor's "Left:" / "Right:" lines). */
#define CMP_NONE 0
#define CMP_U64 1
#define CMP_I64 2
#define CMP_KEYS 3

/* Per-instruction context: the parsed input with the discriminator stripped from the data, and the origin of an
 * error (set only on failure, read by log_error). */
typedef struct {
  SolParameters *p;
  const SolPubkey *program_id;
  const uint8_t *args; /* instruction data after the 8-byte discriminator */
  uint64_t args_len;
  uint64_t ix;                       /* IXI_* index of the instruction (IX_COUNT before dispatch) */
  const SolAccountInfo *err_account; /* the account a failed check was about, or NULL */
  uint64_t cmp;                      /* CMP_* */
  uint64_t left, right;              /* compared values (CMP_U64 / CMP_I64) */
  const SolPubkey *left_key, *right_key; /* compared keys (CMP_KEYS) */
} Ctx;

/* Returns `err`, recording that it was caused by account `a` ("AnchorError caused by account: <name>"). */
IOG_INLINE uint64_t fail_at(Ctx *c, const SolAccountInfo *a, uint64_t err) {
  c->err_account = a;
  return err;
}

/* Returns `err`, recording the value checked (left) and the bound it broke (right). */
IOG_INLINE uint64_t fail_values(Ctx *c, uint64_t err, uint64_t left, uint64_t right) {
  c->cmp = CMP_U64;
  c->left = left;
  c->right = right;
  return err;
}

/* fail_values for signed values (timestamps). */
IOG_INLINE uint64_t fail_times(Ctx *c, uint64_t err, int64_t left, int64_t right) {
  fail_values(c, err, (uint64_t)left, (uint64_t)right);
  c->cmp = CMP_I64;
  return err;
}

/* Returns `err` caused by account `a` whose key (left) is not the expected one (right). */
IOG_INLINE uint64_t fail_keys(Ctx *c, const SolAccountInfo *a, uint64_t err, const SolPubkey *expected) {
  c->err_account = a;
  c->cmp = CMP_KEYS;
  c->left_key = a->key;
  c->right_key = expected;
  return err;
}

/* Logs a custom error Anchor's way (no-op for builtin errors); see errors.c. */
void log_error(const Ctx *c, uint64_t err);

/* Parsed ConfigParams (same field order as the borsh layout). */
typedef struct {
  uint64_t min_stake_per_gpu;
  int64_t cooldown_seconds;
  int64_t commission_notice_seconds;
  uint64_t max_epoch_rewards;
  uint16_t max_delegation_bps;
  uint16_t max_commission_bps;
  uint16_t max_slash_bps;
  bool paused;
} Params;

/* Account data accessors (offsets are from layout.h). */
#define LD64(a, off) iog_load_u64((a)->data + (off))
#define ST64(a, off, v) iog_store_u64((a)->data + (off), (v))
#define LD16(a, off) iog_load_u16((a)->data + (off))
#define ST16(a, off, v) iog_store_u16((a)->data + (off), (v))
#define KEY_AT(a, off) ((const SolPubkey *)((a)->data + (off)))

/* Returns early with the error code when `expr` is non-zero. */
#define TRY(expr)                  \
  do {                             \
    uint64_t _e = (expr);          \
    if (_e) return _e;             \
  } while (0)

/* Checked arithmetic that fails with ERR_MATH_OVERFLOW. */
uint64_t add64(uint64_t a, uint64_t b, uint64_t *out);
uint64_t sub64(uint64_t a, uint64_t b, uint64_t *out);
uint64_t mul_div(uint64_t a, uint64_t b, uint64_t c, uint64_t *out);
uint64_t mul_div_ceil(uint64_t a, uint64_t b, uint64_t c, uint64_t *out);
/* a * b, ERR_MATH_OVERFLOW when the product does not fit in u64. */
uint64_t mul64(uint64_t a, uint64_t b, uint64_t *out);

/* Account list checks (a failure names the account). need_distinct names the second of the two. */
uint64_t need_accounts(Ctx *c, uint64_t n);
uint64_t need_signer(Ctx *c, const SolAccountInfo *a);
uint64_t need_writable(Ctx *c, const SolAccountInfo *a);
uint64_t need_distinct(Ctx *c, const SolAccountInfo *a, const SolAccountInfo *b);
uint64_t need_token_program(Ctx *c, const SolAccountInfo *a);
uint64_t need_system_program(Ctx *c, const SolAccountInfo *a);

/* Loads a program account: owner == program id, size and discriminator. */
uint64_t load_account(Ctx *c, const SolAccountInfo *a, uint64_t disc, uint64_t len);

/* The seeds of a PDA without its bump: a literal prefix and up to two keys (NULL when unused). */
typedef struct {
  const char *prefix;
  uint64_t prefix_len;
  const SolPubkey *k2;
  const SolPubkey *k3;
} Seeds;
#define SEEDS(lit, k2, k3) ((Seeds){(lit), sizeof(lit) - 1, (k2), (k3)})

/* Checks that `a` is the PDA of (seeds, bump) under the program id (ERR_INVALID_PDA). */
uint64_t check_pda(Ctx *c, const SolAccountInfo *a, const Seeds *s, uint8_t bump);
/* Finds the canonical bump of `seeds` and checks that `a` is that address (ERR_INVALID_PDA). */
uint64_t find_pda(Ctx *c, const SolAccountInfo *a, const Seeds *s, uint8_t *bump);

/* A program-owned PDA account to create: `payer` funds rent for `space` bytes. */
typedef struct {
  const SolAccountInfo *payer;
  SolAccountInfo *account;
  const SolAccountInfo *system_program;
  uint64_t space;
  Seeds seeds;
  uint8_t bump;
} NewAccount;
/* Creates the account (ERR_ACCOUNT_ALREADY_INITIALIZED if it holds lamports) and sets its data_len. */
uint64_t create_pda(Ctx *c, const NewAccount *n);

/* Loads Config (read-only use) with its PDA check and parsed params. */
uint64_t load_config(Ctx *c, const SolAccountInfo *cfg, Params *out);
/* Loads a Node account (checks PDA with stored node key and bump). */
uint64_t load_node(Ctx *c, const SolAccountInfo *node);
/* Loads the Distributor account. */
uint64_t load_distributor(Ctx *c, const SolAccountInfo *d);
/* Checks the vault authority PDA (bump from Config). */
uint64_t check_vault_authority(Ctx *c, const SolAccountInfo *cfg, const SolAccountInfo *va);
/* Checks that `a` is the vault recorded at `config_off` in Config (ERR_INVALID_VAULT, with both keys). */
uint64_t need_vault(Ctx *c, const SolAccountInfo *a, const SolAccountInfo *cfg, uint64_t config_off);

/*
 * Reads a token account and checks it holds `mint` and, when `owner` is not NULL, that `owner` owns it.
 * Errors (naming the account): ERR_INVALID_TOKEN_ACCOUNT (not a token account / wrong owner / frozen),
 * ERR_INVALID_MINT.
 */
uint64_t check_token_account(Ctx *c, const SolAccountInfo *a, const SolPubkey *mint, const SolPubkey *owner,
                             uint64_t *amount);

/* Transfers IO from a wallet (the signing authority) or, with `vault_bump`, from a vault signed by the vault
 * authority PDA. Nothing happens for 0. */
IOG_INLINE uint64_t transfer(const SolAccountInfo *from, const SolAccountInfo *to, const SolAccountInfo *authority,
                             const SolAccountInfo *token_program, uint64_t amount, const uint8_t *vault_bump) {
  if (amount == 0) return 0;
  if (!vault_bump) return iog_token_transfer(from, to, authority, token_program, amount, NULL, 0);
  SolSignerSeed seeds[2] = {{(const uint8_t *)"vault_authority", 15}, {vault_bump, 1}};
  SolSignerSeeds signer = {seeds, 2};
  return iog_token_transfer(from, to, authority, token_program, amount, &signer, 1);
}

/* Parses ConfigParams (39 bytes) from a reader. */
uint64_t read_params(IogReader *r, Params *out);
/* Validates parameter ranges (ERR_INVALID_PARAMS; ERR_MAX_SLASH_BPS_TOO_HIGH for max_slash_bps >= 10000). */
uint64_t validate_params(Ctx *c, const Params *p);
/* Writes params into Config data. */
void store_params(SolAccountInfo *cfg, const Params *p);
/* Serializes params in borsh order (39 bytes). */
void write_params(IogWriter *w, const Params *p);

/* Current unix timestamp from the Clock sysvar. */
int64_t now_ts(void);

/* Emits an Anchor event: one `Program data:` entry holding disc || body. */
void emit_event(uint64_t disc, const uint8_t *body, uint64_t len);

/* Handlers. */
uint64_t ix_initialize(Ctx *c);
uint64_t ix_update_config(Ctx *c);
uint64_t ix_register_node(Ctx *c);
uint64_t ix_stake(Ctx *c);
uint64_t ix_request_unstake(Ctx *c);
uint64_t ix_withdraw(Ctx *c);
uint64_t ix_set_commission(Ctx *c);
uint64_t ix_post_rewards_root(Ctx *c);
uint64_t ix_claim(Ctx *c);
uint64_t ix_slash(Ctx *c);
uint64_t ix_deactivate_node(Ctx *c);

#endif /* STAKING_COMMON_H */
