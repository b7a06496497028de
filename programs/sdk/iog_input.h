/*
 * iog_input.h -- the SBPFv0 program input (what the loader serializes for `entrypoint`), its parser, and a bump
 * allocator on the 32 KiB program heap.
 *
 * Input layout (little endian, all offsets pinned by tests/programs/toolchain/test_input_layout.py):
 *   u64 number of accounts
 *   per account, either
 *     u8 0xFF (not a duplicate), u8 is_signer, u8 is_writable, u8 executable, 4 bytes of padding (the parser
 *     stores the original data length there, as Solana's Rust entrypoint does, for the realloc limit),
 *     [32] key, [32] owner, u64 lamports, u64 data_len, data[data_len], 10,240 bytes of realloc room,
 *     zero padding to the next multiple of 8, u64 rent_epoch
 *   or
 *     u8 index of the earlier account it duplicates, 7 bytes of padding
 *   u64 instruction data length, instruction data, [32] program id
 */
#ifndef IOG_INPUT_H
#define IOG_INPUT_H

#include "iog_types.h"

/* Most accounts iog_deserialize records; further accounts are skipped (counted in ka_total). */
#ifndef IOG_MAX_ACCOUNTS
#define IOG_MAX_ACCOUNTS 16
#endif
/* Marker byte of an account that is not a duplicate. */
#define IOG_NON_DUP_MARKER 0xFF
/* Bytes of room the loader leaves after each account's data, so the program may grow it in place. */
#define IOG_MAX_PERMITTED_DATA_INCREASE 10240ULL
/* Alignment of every account record and of the rent_epoch field. */
#define IOG_INPUT_ALIGN 8ULL

/* The parsed input. Big (928 bytes with 16 accounts): keep it on the heap (iog_params_on_heap), not on the
 * 4 KiB stack frame of the entrypoint. */
typedef struct {
  SolAccountInfo ka[IOG_MAX_ACCOUNTS]; /* accounts, in instruction order; duplicates are copies of the original */
  uint64_t ka_num;                     /* accounts recorded in ka (<= IOG_MAX_ACCOUNTS) */
  uint64_t ka_total;                   /* accounts passed to the instruction (may exceed ka_num) */
  uint8_t dup_of[IOG_MAX_ACCOUNTS];    /* IOG_NON_DUP_MARKER, or the index of the account ka[i] duplicates */
  const uint8_t *data;                 /* instruction data */
  uint64_t data_len;                   /* instruction data length */
  const SolPubkey *program_id;         /* this program's id */
} SolParameters;

/* Start and size of the program heap (zeroed at each invocation). */
#define IOG_HEAP_START 0x300000000ULL
#define IOG_HEAP_LENGTH (32ULL * 1024ULL)

/*
 * Allocates `size` bytes (8-aligned, zeroed) from the heap; returns NULL when the heap is exhausted.
 * The allocator keeps its cursor in the first 8 bytes of the heap, so it needs no writable global.
 */
static inline void *iog_alloc(uint64_t size) {
  uint64_t *cursor = (uint64_t *)IOG_HEAP_START;
  if (*cursor == 0) *cursor = IOG_HEAP_START + 8;
  uint64_t start = (*cursor + 7) & ~7ULL;
  if (size > IOG_HEAP_LENGTH || start + size > IOG_HEAP_START + IOG_HEAP_LENGTH) return NULL;
  *cursor = start + size;
  return (void *)start;
}

/*
 * Parses the program input into *params. Returns IOG_SUCCESS, or IOG_ERR_INVALID_ARGUMENT when a duplicate marker
 * names a later account (never produced by the runtime). Costs about 25 CU per account.
 */
static inline uint64_t iog_deserialize(const uint8_t *input, SolParameters *params) {
  /* Every field read here is naturally aligned (records start 8-aligned), so plain loads are used: the
   * byte-wise iog_load_* helpers would cost about 4x more. */
  uint64_t n = *(const uint64_t *)input;
  input += 8;
  params->ka_total = n;
  params->ka_num = n < IOG_MAX_ACCOUNTS ? n : IOG_MAX_ACCOUNTS;
  for (uint64_t i = 0; i < n; i++) {
    uint8_t dup = input[0];
    if (dup == IOG_NON_DUP_MARKER) {
      uint64_t data_len = *(const uint64_t *)(input + 80);
      *(uint32_t *)(input + 4) = (uint32_t)data_len; /* original length, for iog_account_realloc */
      if (i < IOG_MAX_ACCOUNTS) {
        SolAccountInfo *a = &params->ka[i];
        a->is_signer = input[1] != 0;
        a->is_writable = input[2] != 0;
        a->executable = input[3] != 0;
        a->key = (SolPubkey *)(input + 8);
        a->owner = (SolPubkey *)(input + 40);
        a->lamports = (uint64_t *)(input + 72);
        a->data_len = data_len;
        a->data = (uint8_t *)(input + 88);
        params->dup_of[i] = IOG_NON_DUP_MARKER;
      }
      input += 88 + data_len + IOG_MAX_PERMITTED_DATA_INCREASE;
      input = (const uint8_t *)(((uint64_t)input + IOG_INPUT_ALIGN - 1) & ~(IOG_INPUT_ALIGN - 1));
      if (i < IOG_MAX_ACCOUNTS) params->ka[i].rent_epoch = *(const uint64_t *)input;
      input += 8;
    } else {
      if (dup >= i) return IOG_ERR_INVALID_ARGUMENT;
      if (i < IOG_MAX_ACCOUNTS) {
        params->ka[i] = params->ka[dup];
        params->dup_of[i] = dup;
      }
      input += 8;
    }
  }
  params->data_len = *(const uint64_t *)input;
  input += 8;
  params->data = input;
  input += params->data_len;
  params->program_id = (const SolPubkey *)input;
  return IOG_SUCCESS;
}

/* Allocates a SolParameters on the heap and parses the input into it; *out is NULL on error. */
static inline uint64_t iog_params_on_heap(const uint8_t *input, SolParameters **out) {
  SolParameters *params = (SolParameters *)iog_alloc(sizeof(SolParameters));
  *out = NULL;
  if (params == NULL) return IOG_ERR_INVALID_ARGUMENT;
  uint64_t err = iog_deserialize(input, params);
  if (err) return err;
  *out = params;
  return IOG_SUCCESS;
}

/* Length the account had when the instruction started (stored by iog_deserialize 4 bytes before the key). */
static inline uint64_t iog_account_original_len(const SolAccountInfo *a) {
  return *(const uint32_t *)((const uint8_t *)a->key - 4);
}

/*
 * Resizes an account this program owns to new_len (at most 10,240 bytes above its original length), zeroing any
 * bytes it grows into. Updates both a->data_len and the serialized length the runtime reads back.
 * Returns IOG_SUCCESS or IOG_ERR_INVALID_REALLOC.
 */
static inline uint64_t iog_account_realloc(SolAccountInfo *a, uint64_t new_len) {
  uint64_t original = iog_account_original_len(a);
  if (new_len > original + IOG_MAX_PERMITTED_DATA_INCREASE) return IOG_ERR_INVALID_REALLOC;
  if (new_len > a->data_len) sol_memset(a->data + a->data_len, 0, new_len - a->data_len);
  *(uint64_t *)(a->data - 8) = new_len;
  a->data_len = new_len;
  return IOG_SUCCESS;
}

/* Re-reads a->data_len from the input buffer after a CPI changed the account's size (create_account, allocate):
 * the runtime updates the serialized length, not the SolAccountInfo copies the program holds. */
static inline void iog_account_refresh_len(SolAccountInfo *a) { a->data_len = *(const uint64_t *)(a->data - 8); }

/* The program's entry point. Returns IOG_SUCCESS or an error code (see iog_types.h). */
uint64_t entrypoint(const uint8_t *input);

#endif /* IOG_INPUT_H */
