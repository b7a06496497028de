/*
 * probe.c -- a test program that exercises every part of programs/sdk and reports what it saw through return data
 * or its return code, so the Python tests can pin the SDK against solders and the LiteSVM runtime.
 * The first instruction-data byte selects the operation (OP_* below); the rest is its argument.
 */
#include "iog_sdk.h"

enum {
  OP_HELLO = 0,
  OP_FIND_PDA = 1,
  OP_ERROR = 2,
  OP_IDS = 3,
  OP_LAYOUT = 4,
  OP_MUL_DIV = 5,
  OP_TRANSFER = 6,
  OP_CREATE_PDA = 7,
  OP_READ_TOKEN = 8,
  OP_CHECKED = 9,
  OP_BORSH = 10,
  OP_SYSVARS = 11,
  OP_REALLOC = 12,
  OP_CUSTOM = 13,
};

/* The builtin error codes of the SDK, in the order of BUILTIN_ERRORS in test_sdk_constants.py. */
static const uint64_t ERRORS[] = {
    IOG_ERR_CUSTOM_ZERO,
    IOG_ERR_INVALID_ARGUMENT,
    IOG_ERR_INVALID_INSTRUCTION_DATA,
    IOG_ERR_INVALID_ACCOUNT_DATA,
    IOG_ERR_ACCOUNT_DATA_TOO_SMALL,
    IOG_ERR_INSUFFICIENT_FUNDS,
    IOG_ERR_INCORRECT_PROGRAM_ID,
    IOG_ERR_MISSING_REQUIRED_SIGNATURE,
    IOG_ERR_ACCOUNT_ALREADY_INITIALIZED,
    IOG_ERR_UNINITIALIZED_ACCOUNT,
    IOG_ERR_NOT_ENOUGH_ACCOUNT_KEYS,
    IOG_ERR_ACCOUNT_BORROW_FAILED,
    IOG_ERR_MAX_SEED_LENGTH_EXCEEDED,
    IOG_ERR_INVALID_SEEDS,
    IOG_ERR_BORSH_IO_ERROR,
    IOG_ERR_ACCOUNT_NOT_RENT_EXEMPT,
    IOG_ERR_UNSUPPORTED_SYSVAR,
    IOG_ERR_ILLEGAL_OWNER,
    IOG_ERR_MAX_ACCOUNTS_DATA_ALLOCATIONS_EXCEEDED,
    IOG_ERR_INVALID_REALLOC,
    IOG_ERR_MAX_INSTRUCTION_TRACE_LENGTH_EXCEEDED,
    IOG_ERR_BUILTIN_PROGRAMS_MUST_CONSUME_COMPUTE_UNITS,
    IOG_ERR_INVALID_ACCOUNT_OWNER,
    IOG_ERR_ARITHMETIC_OVERFLOW,
    IOG_ERR_IMMUTABLE,
    IOG_ERR_INCORRECT_AUTHORITY,
};

#define RETURN_MAX 1024
#define LAYOUT_MAX_ACCOUNTS 7

static const char VAULT_SEED[] = "vault_authority";
static const char STATE_SEED[] = "state";
static const char PAYER_SEED[] = "payer";

static uint64_t op_find_pda(const SolParameters *p, uint8_t *out) {
  IogReader r;
  iog_reader_init(&r, p->data + 1, p->data_len - 1, IOG_ERR_INVALID_INSTRUCTION_DATA);
  uint8_t n;
  if (iog_read_u8(&r, &n) || n > 15) return IOG_ERR_INVALID_INSTRUCTION_DATA;
  SolSignerSeed seeds[16];
  for (uint8_t i = 0; i < n; i++) {
    uint8_t len;
    if (iog_read_u8(&r, &len)) return r.err;
    const uint8_t *bytes = iog_read_raw(&r, len);
    if (!bytes) return r.err;
    seeds[i].addr = bytes;
    seeds[i].len = len;
  }
  SolPubkey pda;
  uint8_t bump;
  uint64_t err = iog_find_pda(seeds, n, p->program_id, &pda, &bump);
  if (err) return err;
  seeds[n].addr = &bump;
  seeds[n].len = 1;
  uint64_t check = iog_check_pda(seeds, n + 1, p->program_id, &pda);
  sol_memcpy(out, pda.x, 32);
  out[32] = bump;
  out[33] = check == IOG_SUCCESS;
  sol_set_return_data(out, 34);
  return IOG_SUCCESS;
}

static uint64_t op_ids(uint8_t *out) {
  const SolPubkey ids[5] = {IOG_SYSTEM_PROGRAM_ID, IOG_TOKEN_PROGRAM_ID, IOG_ASSOCIATED_TOKEN_PROGRAM_ID,
                            IOG_SYSVAR_CLOCK_ID, IOG_SYSVAR_RENT_ID};
  sol_memcpy(out, ids, sizeof(ids));
  sol_set_return_data(out, sizeof(ids));
  return IOG_SUCCESS;
}

static uint64_t op_layout(const SolParameters *p, uint8_t *out) {
  IogWriter w;
  iog_writer_init(&w, out, RETURN_MAX, IOG_ERR_ACCOUNT_DATA_TOO_SMALL);
  iog_write_u64(&w, p->ka_total);
  iog_write_u64(&w, p->ka_num);
  iog_write_u64(&w, p->data_len);
  iog_write_pubkey(&w, p->program_id);
  uint8_t digest[32];
  iog_sha256(p->data, p->data_len, digest);
  iog_write_bytes32(&w, digest);
  uint64_t n = iog_min_u64(p->ka_num, LAYOUT_MAX_ACCOUNTS);
  for (uint64_t i = 0; i < n; i++) {
    const SolAccountInfo *a = &p->ka[i];
    iog_write_u8(&w, p->dup_of[i]);
    iog_write_u8(&w, a->is_signer);
    iog_write_u8(&w, a->is_writable);
    iog_write_u8(&w, a->executable);
    iog_write_u32(&w, (uint32_t)iog_account_original_len(a));
    iog_write_u64(&w, *a->lamports);
    iog_write_u64(&w, a->data_len);
    iog_write_u64(&w, a->rent_epoch);
    iog_write_pubkey(&w, a->key);
    iog_write_pubkey(&w, a->owner);
    iog_sha256(a->data, a->data_len, digest);
    iog_write_bytes32(&w, digest);
  }
  sol_set_return_data(out, w.pos);
  return IOG_SUCCESS;
}

static uint64_t op_mul_div(const SolParameters *p, uint8_t *out) {
  if (p->data_len < 2 || (p->data_len - 2) % 24 != 0 || (p->data_len - 2) / 24 > RETURN_MAX / 16)
    return IOG_ERR_INVALID_INSTRUCTION_DATA;
  bool ceil = p->data[1] != 0;
  uint64_t n = (p->data_len - 2) / 24;
  for (uint64_t i = 0; i < n; i++) {
    const uint8_t *t = p->data + 2 + 24 * i;
    uint64_t q = 0;
    uint64_t err = ceil ? iog_mul_div_ceil(iog_load_u64(t), iog_load_u64(t + 8), iog_load_u64(t + 16), &q)
                        : iog_mul_div(iog_load_u64(t), iog_load_u64(t + 8), iog_load_u64(t + 16), &q);
    iog_store_u64(out + 16 * i, err);
    iog_store_u64(out + 16 * i + 8, q);
  }
  sol_set_return_data(out, 16 * n);
  return IOG_SUCCESS;
}

static uint64_t op_checked(const SolParameters *p, uint8_t *out) {
  if ((p->data_len - 1) % 16 != 0 || (p->data_len - 1) / 16 * 27 > RETURN_MAX) return IOG_ERR_INVALID_INSTRUCTION_DATA;
  uint64_t n = (p->data_len - 1) / 16;
  for (uint64_t i = 0; i < n; i++) {
    uint64_t a = iog_load_u64(p->data + 1 + 16 * i), b = iog_load_u64(p->data + 9 + 16 * i), v;
    uint8_t *o = out + 27 * i;
    o[0] = iog_add_overflow(a, b, &v);
    iog_store_u64(o + 1, v);
    o[9] = iog_sub_overflow(a, b, &v);
    iog_store_u64(o + 10, v);
    o[18] = iog_mul_overflow(a, b, &v);
    iog_store_u64(o + 19, v);
  }
  sol_set_return_data(out, 27 * n);
  return IOG_SUCCESS;
}

/* accounts: vault (w), [mint], destination (w), vault authority PDA, token program.
 * data: u64 amount, u8 checked, u8 decimals */
static uint64_t op_transfer(const SolParameters *p) {
  IogReader r;
  iog_reader_init(&r, p->data + 1, p->data_len - 1, IOG_ERR_INVALID_INSTRUCTION_DATA);
  uint64_t amount;
  uint8_t checked, decimals;
  uint64_t err;
  if ((err = iog_read_u64(&r, &amount)) || (err = iog_read_u8(&r, &checked)) || (err = iog_read_u8(&r, &decimals)))
    return err;
  if ((err = iog_read_end(&r))) return err;
  if (p->ka_num < (checked ? 5u : 4u)) return IOG_ERR_NOT_ENOUGH_ACCOUNT_KEYS;
  const SolAccountInfo *authority = &p->ka[checked ? 3 : 2];
  SolSignerSeed seeds[2] = {{(const uint8_t *)VAULT_SEED, sizeof(VAULT_SEED) - 1}, {NULL, 1}};
  SolPubkey pda;
  uint8_t bump;
  if ((err = iog_find_pda(seeds, 1, p->program_id, &pda, &bump))) return err;
  if (!sol_pubkey_eq(&pda, authority->key)) return IOG_ERR_INVALID_SEEDS;
  seeds[1].addr = &bump;
  SolSignerSeeds signer = {seeds, 2};
  IogTokenAccount vault;
  if ((err = iog_token_account_read(&p->ka[0], &vault))) return err;
  if (!sol_pubkey_eq(vault.owner, &pda)) return IOG_ERR_INCORRECT_AUTHORITY;
  if (checked)
    return iog_token_transfer_checked(&p->ka[0], &p->ka[1], &p->ka[2], authority, &p->ka[4], amount, decimals,
                                      &signer, 1);
  return iog_token_transfer(&p->ka[0], &p->ka[1], authority, &p->ka[3], amount, &signer, 1);
}

/* accounts: payer (w; signer, or the "payer" PDA), new state PDA (w), system program.
 * data: u64 space, u8 flags (bit 0: the payer is the "payer" PDA; bit 1: use iog_create_pda_account).
 * Creates the account owned by this program and writes "IOGSTATE" at 0. */
static uint64_t op_create_pda(SolParameters *p) {
  if (p->ka_num < 3 || p->data_len != 10) return IOG_ERR_INVALID_INSTRUCTION_DATA;
  uint64_t space = iog_load_u64(p->data + 1);
  bool pda_payer = (p->data[9] & 1) != 0;
  bool resilient = (p->data[9] & 2) != 0;
  const SolAccountInfo *payer = &p->ka[0];
  SolAccountInfo *state = &p->ka[1];
  uint8_t state_bump, payer_bump;
  SolSignerSeed state_seeds[3] = {{(const uint8_t *)STATE_SEED, sizeof(STATE_SEED) - 1}, {payer->key->x, 32},
                                  {&state_bump, 1}};
  SolSignerSeed payer_seeds[2] = {{(const uint8_t *)PAYER_SEED, sizeof(PAYER_SEED) - 1}, {&payer_bump, 1}};
  SolPubkey pda;
  uint64_t err;
  if ((err = iog_find_pda(state_seeds, 2, p->program_id, &pda, &state_bump))) return err;
  if (!sol_pubkey_eq(&pda, state->key)) return IOG_ERR_INVALID_SEEDS;
  if (pda_payer) {
    if ((err = iog_find_pda(payer_seeds, 1, p->program_id, &pda, &payer_bump))) return err;
    if (!sol_pubkey_eq(&pda, payer->key)) return IOG_ERR_INVALID_SEEDS;
  }
  SolSignerSeeds signers[2] = {{state_seeds, 3}, {payer_seeds, 2}};
  SolRent rent;
  if (sol_get_rent_sysvar(&rent)) return IOG_ERR_UNSUPPORTED_SYSVAR;
  uint64_t lamports;
  if ((err = iog_rent_minimum_balance(&rent, space, &lamports))) return err;
  if (resilient)
    err = iog_create_pda_account(payer, state, &p->ka[2], lamports, space, p->program_id, signers,
                                 pda_payer ? 2 : 1);
  else
    err = iog_system_create_account(payer, state, &p->ka[2], lamports, space, p->program_id, signers,
                                    pda_payer ? 2 : 1);
  if (err) return err;
  iog_account_refresh_len(state);
  if (state->data_len != space) return IOG_ERR_INVALID_ACCOUNT_DATA;
  if (space >= 8) sol_memcpy(state->data, "IOGSTATE", 8);
  return IOG_SUCCESS;
}

/* accounts: token account, mint. Returns mint, owner, amount, state, supply, decimals. */
static uint64_t op_read_token(const SolParameters *p, uint8_t *out) {
  if (p->ka_num < 2) return IOG_ERR_NOT_ENOUGH_ACCOUNT_KEYS;
  IogTokenAccount t;
  IogMint m;
  uint64_t err;
  if ((err = iog_token_account_read(&p->ka[0], &t))) return err;
  if ((err = iog_mint_read(&p->ka[1], &m))) return err;
  IogWriter w;
  iog_writer_init(&w, out, RETURN_MAX, IOG_ERR_ACCOUNT_DATA_TOO_SMALL);
  iog_write_pubkey(&w, t.mint);
  iog_write_pubkey(&w, t.owner);
  iog_write_u64(&w, t.amount);
  iog_write_u8(&w, t.state);
  iog_write_u64(&w, m.supply);
  iog_write_u8(&w, m.decimals);
  sol_set_return_data(out, w.pos);
  return IOG_SUCCESS;
}

/* data: u16 writer capacity, then u8, u16, u32, u64, bool, pubkey, [u8;32], Vec<[u8;32]> (max 8).
 * Re-encodes them with the writer and returns the bytes. */
static uint64_t op_borsh(const SolParameters *p, uint8_t *out) {
  if (p->data_len < 3) return IOG_ERR_INVALID_INSTRUCTION_DATA;
  uint64_t cap = iog_min_u64(iog_load_u16(p->data + 1), RETURN_MAX);
  IogReader r;
  iog_reader_init(&r, p->data + 3, p->data_len - 3, IOG_ERR_INVALID_INSTRUCTION_DATA);
  uint8_t a;
  uint16_t b;
  uint32_t c, count;
  uint64_t d, err;
  bool e;
  SolPubkey key;
  uint8_t raw[32];
  const uint8_t *items;
  if ((err = iog_read_u8(&r, &a)) || (err = iog_read_u16(&r, &b)) || (err = iog_read_u32(&r, &c)) ||
      (err = iog_read_u64(&r, &d)) || (err = iog_read_bool(&r, &e)) || (err = iog_read_pubkey(&r, &key)) ||
      (err = iog_read_bytes32(&r, raw)) || (err = iog_read_vec_bytes32(&r, &items, &count, 8)) ||
      (err = iog_read_end(&r)))
    return err;
  IogWriter w;
  iog_writer_init(&w, out, cap, IOG_ERR_ACCOUNT_DATA_TOO_SMALL);
  if ((err = iog_write_u8(&w, a)) || (err = iog_write_u16(&w, b)) || (err = iog_write_u32(&w, c)) ||
      (err = iog_write_u64(&w, d)) || (err = iog_write_bool(&w, e)) || (err = iog_write_pubkey(&w, &key)) ||
      (err = iog_write_bytes32(&w, raw)) || (err = iog_write_vec_bytes32(&w, items, count)))
    return err;
  sol_set_return_data(out, w.pos);
  return IOG_SUCCESS;
}

/* data: u64 data_len. Returns Clock (40), Rent (24), u64 error, u64 rent-exempt minimum for data_len. */
static uint64_t op_sysvars(const SolParameters *p, uint8_t *out) {
  if (p->data_len != 9) return IOG_ERR_INVALID_INSTRUCTION_DATA;
  SolClock clock;
  SolRent rent;
  if (sol_get_clock_sysvar(&clock) || sol_get_rent_sysvar(&rent)) return IOG_ERR_UNSUPPORTED_SYSVAR;
  uint64_t min = 0;
  uint64_t err = iog_rent_minimum_balance(&rent, iog_load_u64(p->data + 1), &min);
  sol_memcpy(out, &clock, sizeof(clock));
  sol_memcpy(out + 40, &rent, sizeof(rent));
  iog_store_u64(out + 64, err);
  iog_store_u64(out + 72, min);
  sol_set_return_data(out, 80);
  return IOG_SUCCESS;
}

/* accounts: state (w, owned by this program). data: u64 new length; new bytes stay zero. */
static uint64_t op_realloc(SolParameters *p) {
  if (p->ka_num < 1 || p->data_len != 9) return IOG_ERR_INVALID_INSTRUCTION_DATA;
  return iog_account_realloc(&p->ka[0], iog_load_u64(p->data + 1));
}

uint64_t entrypoint(const uint8_t *input) {
  SolParameters *p;
  uint64_t err = iog_params_on_heap(input, &p);
  if (err) return err;
  if (p->data_len < 1) return IOG_ERR_INVALID_INSTRUCTION_DATA;
  uint8_t *out = (uint8_t *)iog_alloc(RETURN_MAX);
  if (!out) return IOG_ERR_INVALID_ARGUMENT;
  switch (p->data[0]) {
    case OP_HELLO: {
      IOG_LOG("hello from the iog sdk");
      sol_log_pubkey(p->program_id);
      SolBytes fields[2] = {{(const uint8_t *)"abc", 3}, {p->data + 1, p->data_len - 1}};
      sol_log_data(fields, 2);
      sol_log_compute_units_();
      return IOG_SUCCESS;
    }
    case OP_FIND_PDA:
      return op_find_pda(p, out);
    case OP_ERROR:
      if (p->data_len != 2 || p->data[1] >= sizeof(ERRORS) / sizeof(ERRORS[0])) return IOG_ERR_INVALID_INSTRUCTION_DATA;
      return ERRORS[p->data[1]];
    case OP_IDS:
      return op_ids(out);
    case OP_LAYOUT:
      return op_layout(p, out);
    case OP_MUL_DIV:
      return op_mul_div(p, out);
    case OP_TRANSFER:
      return op_transfer(p);
    case OP_CREATE_PDA:
      return op_create_pda(p);
    case OP_READ_TOKEN:
      return op_read_token(p, out);
    case OP_CHECKED:
      return op_checked(p, out);
    case OP_BORSH:
      return op_borsh(p, out);
    case OP_SYSVARS:
      return op_sysvars(p, out);
    case OP_REALLOC:
      return op_realloc(p);
    case OP_CUSTOM:
      return p->data_len == 5 ? iog_load_u32(p->data + 1) : IOG_ERR_INVALID_INSTRUCTION_DATA;
    default:
      return IOG_ERR_INVALID_INSTRUCTION_DATA;
  }
}
