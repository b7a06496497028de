/*
 * iog_syscalls.h -- the runtime syscalls (declared with the signatures the SBPFv0 runtime expects), logging
 * helpers, SHA-256, program derived addresses, return data and the Clock/Rent sysvars.
 *
 * A call to any function declared here compiles to `call -1`; programs/toolchain/link.py turns it into a dynamic
 * R_BPF_64_32 relocation against a .dynsym entry of the same name, which the loader resolves by name hash. Only
 * names in programs/toolchain/link.py:KNOWN_SYSCALLS are accepted by the linker.
 */
#ifndef IOG_SYSCALLS_H
#define IOG_SYSCALLS_H

#include "iog_types.h"
#include "iog_math.h"

/* Logs `len` bytes of UTF-8 text ("Program log: ..."). 100 CU + length. */
void sol_log_(const char *message, uint64_t len);
/* Logs five u64 values in hex ("Program log: 0x1, 0x2, ..."). */
void sol_log_64_(uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e);
/* Logs a pubkey in base58. */
void sol_log_pubkey(const SolPubkey *pubkey);
/* Logs `n` byte slices as one "Program data: <base64> <base64> ..." line (used for Anchor-style events). */
void sol_log_data(const SolBytes *fields, uint64_t n);
/* Logs the remaining compute units ("Program consumption: N units remaining"). */
void sol_log_compute_units_(void);
/* Aborts the program with a location (file name bytes, line, column). */
void sol_panic_(const char *file, uint64_t len, uint64_t line, uint64_t column) __attribute__((noreturn));

/* SHA-256 of the concatenation of `n` slices into out[32]. Returns 0. */
uint64_t sol_sha256(const SolBytes *slices, uint64_t n, uint8_t *out);

/* Derives the address of `seeds` (+ bump inside seeds) under program_id. Returns 0, or non-zero when the seeds
 * give a point on the curve (not a valid PDA). */
uint64_t sol_create_program_address(const SolSignerSeed *seeds, uint64_t n, const SolPubkey *program_id,
                                    SolPubkey *out);
/* Finds the canonical PDA of `seeds` (bump searched from 255 down). Returns 0 and writes address and bump. */
uint64_t sol_try_find_program_address(const SolSignerSeed *seeds, uint64_t n, const SolPubkey *program_id,
                                      SolPubkey *out, uint8_t *bump);

/* Invokes another program (CPI). `infos` must hold every account the instruction names (and may hold more);
 * `signers` are PDA seed sets of this program that sign. Returns 0, or the callee's error. */
uint64_t sol_invoke_signed_c(const SolInstruction *instruction, const SolAccountInfo *infos, uint64_t n_infos,
                             const SolSignerSeeds *signers, uint64_t n_signers);

/* Sets this instruction's return data (at most 1,024 bytes). */
void sol_set_return_data(const uint8_t *data, uint64_t len);
/* Copies up to `len` bytes of the last return data into `data` and its program id into *program_id; returns the
 * full length of the return data (0 when none). */
uint64_t sol_get_return_data(uint8_t *data, uint64_t len, SolPubkey *program_id);

/* Clock sysvar (40 bytes, the runtime's layout). */
typedef struct {
  uint64_t slot;                  /* current slot */
  int64_t epoch_start_timestamp;  /* unix time of the first slot of this epoch */
  uint64_t epoch;                 /* current epoch */
  uint64_t leader_schedule_epoch; /* epoch of the leader schedule in use */
  int64_t unix_timestamp;         /* estimated unix time of this slot, seconds */
} SolClock;

/* Rent sysvar (24 bytes, the runtime's layout). exemption_threshold is an IEEE-754 double kept as its raw bits:
 * programs never use floating point. */
typedef struct {
  uint64_t lamports_per_byte_year; /* rent rate */
  uint64_t exemption_threshold_bits; /* f64 bits, 2.0 (0x4000000000000000) on every cluster */
  uint8_t burn_percent;            /* share of collected rent burned */
  uint8_t _padding[7];
} SolRent;

/* Fills *clock from the Clock sysvar. Returns 0 on success. */
uint64_t sol_get_clock_sysvar(SolClock *clock);
/* Fills *rent from the Rent sysvar. Returns 0 on success. */
uint64_t sol_get_rent_sysvar(SolRent *rent);

/* Bytes of account metadata that rent charges on top of the data length. */
#define IOG_ACCOUNT_STORAGE_OVERHEAD 128ULL

/*
 * Rent-exempt minimum balance of an account with `data_len` bytes, as the runtime computes it:
 * floor((128 + data_len) * lamports_per_byte_year * exemption_threshold). The threshold is decoded from its double
 * bits exactly (integer arithmetic only). Returns IOG_SUCCESS, or IOG_ERR_ARITHMETIC_OVERFLOW / INVALID_ARGUMENT
 * for absurd rent parameters.
 */
static inline uint64_t iog_rent_minimum_balance(const SolRent *rent, uint64_t data_len, uint64_t *out) {
  uint64_t bytes, base;
  if (iog_add_overflow(data_len, IOG_ACCOUNT_STORAGE_OVERHEAD, &bytes)) return IOG_ERR_ARITHMETIC_OVERFLOW;
  if (iog_mul_overflow(bytes, rent->lamports_per_byte_year, &base)) return IOG_ERR_ARITHMETIC_OVERFLOW;
  uint64_t bits = rent->exemption_threshold_bits;
  if (bits >> 63) return IOG_ERR_INVALID_ARGUMENT; /* negative threshold */
  uint64_t exp = (bits >> 52) & 0x7ff;
  uint64_t frac = bits & ((1ULL << 52) - 1);
  if (exp == 0x7ff) return IOG_ERR_INVALID_ARGUMENT; /* inf / nan */
  if (exp == 0) { /* zero or subnormal: below 1 lamport for any realistic base */
    *out = 0;
    return IOG_SUCCESS;
  }
  uint64_t mant = frac | (1ULL << 52); /* value = mant * 2^(exp - 1075) */
  if (exp >= 1075) {
    uint64_t shift = exp - 1075, v;
    if (shift > 11) return IOG_ERR_ARITHMETIC_OVERFLOW;
    if (iog_mul_overflow(base, mant, &v)) return IOG_ERR_ARITHMETIC_OVERFLOW;
    if (v > (IOG_U64_MAX >> shift)) return IOG_ERR_ARITHMETIC_OVERFLOW;
    *out = v << shift;
    return IOG_SUCCESS;
  }
  uint64_t shift = 1075 - exp;
  if (shift > 63) { /* divide in two steps: 2^shift = 2^63 * 2^(shift - 63) */
    uint64_t v;
    uint64_t err = iog_mul_div(base, mant, 1ULL << 63, &v);
    if (err) return err;
    *out = (shift - 63 > 63) ? 0 : v >> (shift - 63);
    return IOG_SUCCESS;
  }
  return iog_mul_div(base, mant, 1ULL << shift, out);
}

/* Logs a NUL-terminated string (length computed at run time). */
static inline void iog_log(const char *s) {
  uint64_t n = 0;
  while (s[n]) n++;
  sol_log_(s, n);
}

/* Logs a string literal (length computed at compile time). */
#define IOG_LOG(literal) sol_log_((literal), sizeof(literal) - 1)

/* Logs up to five u64 values. */
#define IOG_LOG_U64(a, b, c, d, e) sol_log_64_((uint64_t)(a), (uint64_t)(b), (uint64_t)(c), (uint64_t)(d), (uint64_t)(e))

/* out[32] = SHA-256(data[0..len)). */
static inline void iog_sha256(const uint8_t *data, uint64_t len, uint8_t *out) {
  SolBytes slice = {data, len};
  sol_sha256(&slice, 1, out);
}

/* Finds the canonical PDA of `seeds` under program_id. Returns IOG_SUCCESS or IOG_ERR_INVALID_SEEDS. */
static inline uint64_t iog_find_pda(const SolSignerSeed *seeds, uint64_t n, const SolPubkey *program_id, SolPubkey *out,
                                    uint8_t *bump) {
  return sol_try_find_program_address(seeds, n, program_id, out, bump) == 0 ? IOG_SUCCESS : IOG_ERR_INVALID_SEEDS;
}

/* Checks that `expected` is the PDA of `seeds` (the bump included as the last seed) under program_id.
 * Returns IOG_SUCCESS or IOG_ERR_INVALID_SEEDS. Cheaper than iog_find_pda when the bump is stored. */
static inline uint64_t iog_check_pda(const SolSignerSeed *seeds, uint64_t n, const SolPubkey *program_id,
                                     const SolPubkey *expected) {
  SolPubkey derived;
  if (sol_create_program_address(seeds, n, program_id, &derived) != 0) return IOG_ERR_INVALID_SEEDS;
  return sol_pubkey_eq(&derived, expected) ? IOG_SUCCESS : IOG_ERR_INVALID_SEEDS;
}

#endif /* IOG_SYSCALLS_H */
