/*
 * iog_cpi.h -- cross-program invocation helpers: System create_account (PDA payer and/or PDA new account), SPL
 * Token Transfer (3) and TransferChecked (12), plain or PDA-signed, and readers of SPL token accounts and mints.
 *
 * The invoked program's account must be part of the transaction (pass it to the instruction); `infos` given to
 * the helpers must hold every account the CPI names.
 */
#ifndef IOG_CPI_H
#define IOG_CPI_H

#include "iog_types.h"
#include "iog_syscalls.h"

/* Invokes `ix` without PDA signers. */
static inline uint64_t iog_invoke(const SolInstruction *ix, const SolAccountInfo *infos, uint64_t n_infos) {
  return sol_invoke_signed_c(ix, infos, n_infos, NULL, 0);
}

/* Invokes `ix` with `n_signers` PDA seed sets of this program as signers. */
static inline uint64_t iog_invoke_signed(const SolInstruction *ix, const SolAccountInfo *infos, uint64_t n_infos,
                                         const SolSignerSeeds *signers, uint64_t n_signers) {
  return sol_invoke_signed_c(ix, infos, n_infos, signers, n_signers);
}

/* System program: index of CreateAccount and size of its data (u32 index, u64 lamports, u64 space, owner). */
#define IOG_SYSTEM_IX_CREATE_ACCOUNT 0
#define IOG_SYSTEM_CREATE_ACCOUNT_DATA_LEN 52

/*
 * System create_account: `payer` funds `lamports` for a new account of `space` bytes owned by `owner`.
 * Both payer and new_account must sign: as transaction signers or through `signers` (PDA seeds of this program,
 * e.g. the new account's seeds with bump, and/or a PDA payer's seeds). `system_program` is the System program's
 * account info (the program must be in the transaction). Afterwards new_account->data_len is stale (0): call
 * iog_account_refresh_len before using it or passing the account to another CPI.
 */
IOG_INLINE uint64_t iog_system_create_account(const SolAccountInfo *payer, const SolAccountInfo *new_account,
                                              const SolAccountInfo *system_program, uint64_t lamports,
                                              uint64_t space, const SolPubkey *owner,
                                              const SolSignerSeeds *signers, uint64_t n_signers) {
  SolPubkey system_id = IOG_SYSTEM_PROGRAM_ID;
  uint8_t data[IOG_SYSTEM_CREATE_ACCOUNT_DATA_LEN];
  iog_store_u32(data, IOG_SYSTEM_IX_CREATE_ACCOUNT);
  iog_store_u64(data + 4, lamports);
  iog_store_u64(data + 12, space);
  sol_memcpy(data + 20, owner, SIZE_PUBKEY);
  SolAccountMeta metas[2] = {{payer->key, true, true}, {new_account->key, true, true}};
  SolInstruction ix = {&system_id, metas, 2, data, sizeof(data)};
  SolAccountInfo infos[3] = {*payer, *new_account, *system_program};
  return sol_invoke_signed_c(&ix, infos, 3, signers, n_signers);
}

/* Other System program instructions (u32 index first). */
#define IOG_SYSTEM_IX_ASSIGN 1   /* u32, owner pubkey; accounts: account (w, s) */
#define IOG_SYSTEM_IX_TRANSFER 2 /* u32, u64 lamports; accounts: from (w, s), to (w) */
#define IOG_SYSTEM_IX_ALLOCATE 8 /* u32, u64 space; accounts: account (w, s) */

/* System transfer of `lamports` from `from` (a signer, or a PDA of this program signed through `signers`). */
IOG_INLINE uint64_t iog_system_transfer(const SolAccountInfo *from, const SolAccountInfo *to,
                                        const SolAccountInfo *system_program, uint64_t lamports,
                                        const SolSignerSeeds *signers, uint64_t n_signers) {
  SolPubkey system_id = IOG_SYSTEM_PROGRAM_ID;
  uint8_t data[12];
  iog_store_u32(data, IOG_SYSTEM_IX_TRANSFER);
  iog_store_u64(data + 4, lamports);
  SolAccountMeta metas[2] = {{from->key, true, true}, {to->key, true, false}};
  SolInstruction ix = {&system_id, metas, 2, data, sizeof(data)};
  SolAccountInfo infos[3] = {*from, *to, *system_program};
  return sol_invoke_signed_c(&ix, infos, 3, signers, n_signers);
}

/* System allocate: gives a system-owned, empty account `space` zeroed bytes (the account must sign). */
IOG_INLINE uint64_t iog_system_allocate(const SolAccountInfo *account, const SolAccountInfo *system_program,
                                        uint64_t space, const SolSignerSeeds *signers, uint64_t n_signers) {
  SolPubkey system_id = IOG_SYSTEM_PROGRAM_ID;
  uint8_t data[12];
  iog_store_u32(data, IOG_SYSTEM_IX_ALLOCATE);
  iog_store_u64(data + 4, space);
  SolAccountMeta metas[1] = {{account->key, true, true}};
  SolInstruction ix = {&system_id, metas, 1, data, sizeof(data)};
  SolAccountInfo infos[2] = {*account, *system_program};
  return sol_invoke_signed_c(&ix, infos, 2, signers, n_signers);
}

/* System assign: hands a system-owned account to `owner` (the account must sign). */
IOG_INLINE uint64_t iog_system_assign(const SolAccountInfo *account, const SolAccountInfo *system_program,
                                      const SolPubkey *owner, const SolSignerSeeds *signers, uint64_t n_signers) {
  SolPubkey system_id = IOG_SYSTEM_PROGRAM_ID;
  uint8_t data[36];
  iog_store_u32(data, IOG_SYSTEM_IX_ASSIGN);
  sol_memcpy(data + 4, owner, SIZE_PUBKEY);
  SolAccountMeta metas[1] = {{account->key, true, true}};
  SolInstruction ix = {&system_id, metas, 1, data, sizeof(data)};
  SolAccountInfo infos[2] = {*account, *system_program};
  return sol_invoke_signed_c(&ix, infos, 2, signers, n_signers);
}

/*
 * Creates a program account at a PDA even when someone has already sent lamports to that address (plain
 * create_account fails on a funded address, which lets anyone block a predictable PDA). Empty address:
 * create_account. Funded but still system-owned and without data: transfer the shortfall up to `lamports`
 * (if any), allocate `space`, assign to `owner`. Returns IOG_ERR_ACCOUNT_ALREADY_INITIALIZED when the address
 * already has data or another owner. Signing as for iog_system_create_account. Afterwards call
 * iog_account_refresh_len on the program's own SolAccountInfo of the new account (as after any create).
 */
IOG_INLINE uint64_t iog_create_pda_account(const SolAccountInfo *payer, const SolAccountInfo *new_account,
                                           const SolAccountInfo *system_program, uint64_t lamports,
                                           uint64_t space, const SolPubkey *owner,
                                           const SolSignerSeeds *signers, uint64_t n_signers) {
  uint64_t have = *new_account->lamports;
  if (have == 0)
    return iog_system_create_account(payer, new_account, system_program, lamports, space, owner, signers,
                                     n_signers);
  SolPubkey system_id = IOG_SYSTEM_PROGRAM_ID;
  if (!sol_pubkey_eq(new_account->owner, &system_id) || new_account->data_len != 0)
    return IOG_ERR_ACCOUNT_ALREADY_INITIALIZED;
  uint64_t err;
  if (have < lamports &&
      (err = iog_system_transfer(payer, new_account, system_program, lamports - have, signers, n_signers)))
    return err;
  if ((err = iog_system_allocate(new_account, system_program, space, signers, n_signers))) return err;
  /* The next CPI must present the new size, or the runtime sees this program shrink a foreign account. */
  SolAccountInfo resized = *new_account;
  resized.data_len = *(const uint64_t *)(resized.data - 8);
  return iog_system_assign(&resized, system_program, owner, signers, n_signers);
}

/* SPL Token instruction indexes and data sizes. */
#define IOG_TOKEN_IX_TRANSFER 3
#define IOG_TOKEN_IX_TRANSFER_CHECKED 12
#define IOG_TOKEN_TRANSFER_DATA_LEN 9          /* u8 index, u64 amount */
#define IOG_TOKEN_TRANSFER_CHECKED_DATA_LEN 10 /* u8 index, u64 amount, u8 decimals */

/*
 * SPL Token Transfer of `amount` base units from `source` to `destination`, authorized by `authority` (a signer of
 * the transaction, or a PDA of this program whose seeds are in `signers`). `token_program` is the Token program's
 * account info.
 */
IOG_INLINE uint64_t iog_token_transfer(const SolAccountInfo *source, const SolAccountInfo *destination,
                                       const SolAccountInfo *authority, const SolAccountInfo *token_program,
                                       uint64_t amount, const SolSignerSeeds *signers, uint64_t n_signers) {
  SolPubkey token_id = IOG_TOKEN_PROGRAM_ID;
  uint8_t data[IOG_TOKEN_TRANSFER_DATA_LEN];
  data[0] = IOG_TOKEN_IX_TRANSFER;
  iog_store_u64(data + 1, amount);
  SolAccountMeta metas[3] = {{source->key, true, false}, {destination->key, true, false}, {authority->key, false, true}};
  SolInstruction ix = {&token_id, metas, 3, data, sizeof(data)};
  SolAccountInfo infos[4] = {*source, *destination, *authority, *token_program};
  return sol_invoke_signed_c(&ix, infos, 4, signers, n_signers);
}

/*
 * SPL Token TransferChecked: like iog_token_transfer, but the Token program also checks `mint` and `decimals`.
 */
IOG_INLINE uint64_t iog_token_transfer_checked(const SolAccountInfo *source, const SolAccountInfo *mint,
                                               const SolAccountInfo *destination, const SolAccountInfo *authority,
                                               const SolAccountInfo *token_program, uint64_t amount,
                                               uint8_t decimals, const SolSignerSeeds *signers, uint64_t n_signers) {
  SolPubkey token_id = IOG_TOKEN_PROGRAM_ID;
  uint8_t data[IOG_TOKEN_TRANSFER_CHECKED_DATA_LEN];
  data[0] = IOG_TOKEN_IX_TRANSFER_CHECKED;
  iog_store_u64(data + 1, amount);
  data[9] = decimals;
  SolAccountMeta metas[4] = {{source->key, true, false},
                             {mint->key, false, false},
                             {destination->key, true, false},
                             {authority->key, false, true}};
  SolInstruction ix = {&token_id, metas, 4, data, sizeof(data)};
  SolAccountInfo infos[5] = {*source, *mint, *destination, *authority, *token_program};
  return sol_invoke_signed_c(&ix, infos, 5, signers, n_signers);
}

/* SPL token account layout (165 bytes). */
#define IOG_TOKEN_ACCOUNT_LEN 165
#define IOG_TOKEN_ACCOUNT_MINT_OFFSET 0
#define IOG_TOKEN_ACCOUNT_OWNER_OFFSET 32
#define IOG_TOKEN_ACCOUNT_AMOUNT_OFFSET 64
#define IOG_TOKEN_ACCOUNT_STATE_OFFSET 108
/* Values of the state byte. */
#define IOG_TOKEN_STATE_UNINITIALIZED 0
#define IOG_TOKEN_STATE_INITIALIZED 1
#define IOG_TOKEN_STATE_FROZEN 2

/* SPL mint layout (82 bytes). */
#define IOG_MINT_LEN 82
#define IOG_MINT_SUPPLY_OFFSET 36
#define IOG_MINT_DECIMALS_OFFSET 44
#define IOG_MINT_IS_INITIALIZED_OFFSET 45

/* The fields of a token account a program checks. mint and owner point into the account data. */
typedef struct {
  const SolPubkey *mint;  /* mint of the tokens held */
  const SolPubkey *owner; /* wallet or PDA allowed to move them */
  uint64_t amount;        /* balance in base units */
  uint8_t state;          /* IOG_TOKEN_STATE_* */
} IogTokenAccount;

/*
 * Reads an SPL token account. Returns IOG_SUCCESS; IOG_ERR_INCORRECT_PROGRAM_ID when the account is not owned by
 * the Token program; IOG_ERR_INVALID_ACCOUNT_DATA when it is not 165 bytes; IOG_ERR_UNINITIALIZED_ACCOUNT when
 * its state is uninitialized. A frozen account is returned (state 2): the caller decides.
 */
static inline uint64_t iog_token_account_read(const SolAccountInfo *a, IogTokenAccount *out) {
  SolPubkey token_id = IOG_TOKEN_PROGRAM_ID;
  if (!sol_pubkey_eq(a->owner, &token_id)) return IOG_ERR_INCORRECT_PROGRAM_ID;
  if (a->data_len != IOG_TOKEN_ACCOUNT_LEN) return IOG_ERR_INVALID_ACCOUNT_DATA;
  out->mint = (const SolPubkey *)(a->data + IOG_TOKEN_ACCOUNT_MINT_OFFSET);
  out->owner = (const SolPubkey *)(a->data + IOG_TOKEN_ACCOUNT_OWNER_OFFSET);
  out->amount = iog_load_u64(a->data + IOG_TOKEN_ACCOUNT_AMOUNT_OFFSET);
  out->state = a->data[IOG_TOKEN_ACCOUNT_STATE_OFFSET];
  if (out->state == IOG_TOKEN_STATE_UNINITIALIZED) return IOG_ERR_UNINITIALIZED_ACCOUNT;
  return IOG_SUCCESS;
}

/* The fields of a mint a program checks. */
typedef struct {
  uint64_t supply;  /* total supply in base units */
  uint8_t decimals; /* decimal places of one token */
} IogMint;

/* Reads an SPL mint. Errors as iog_token_account_read (82 bytes, is_initialized must be 1). */
static inline uint64_t iog_mint_read(const SolAccountInfo *a, IogMint *out) {
  SolPubkey token_id = IOG_TOKEN_PROGRAM_ID;
  if (!sol_pubkey_eq(a->owner, &token_id)) return IOG_ERR_INCORRECT_PROGRAM_ID;
  if (a->data_len != IOG_MINT_LEN) return IOG_ERR_INVALID_ACCOUNT_DATA;
  if (a->data[IOG_MINT_IS_INITIALIZED_OFFSET] != 1) return IOG_ERR_UNINITIALIZED_ACCOUNT;
  out->supply = iog_load_u64(a->data + IOG_MINT_SUPPLY_OFFSET);
  out->decimals = a->data[IOG_MINT_DECIMALS_OFFSET];
  return IOG_SUCCESS;
}

#endif /* IOG_CPI_H */
