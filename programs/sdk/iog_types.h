/*
 * iog_types.h -- fixed-width types, pubkeys, runtime ABI structs, builtin error codes, well-known program ids
 * and memory helpers for IOG on-chain programs (SBPFv0, built by programs/toolchain).
 *
 * Every constant and struct layout in this file is pinned by tests/programs/toolchain/ against solders and
 * against the runtime embedded in LiteSVM. Change one only together with its pin test.
 */
#ifndef IOG_TYPES_H
#define IOG_TYPES_H

/* clang's freestanding headers (the build passes -ffreestanding): no libc exists on chain. */
#include <stdint.h>
#include <stdbool.h>
#include <stddef.h>

/* Short fixed-width names used across the SDK and the program. */
typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int8_t i8;
typedef int16_t i16;
typedef int32_t i32;
typedef int64_t i64;

/* Largest u64, for saturation and overflow checks. */
#define IOG_U64_MAX UINT64_MAX

/* Always-inlined helper: required for helpers taking more than 5 arguments (the BPF calling convention passes at
 * most 5 arguments in registers, so such a function must never be emitted as a real call). */
#define IOG_INLINE static inline __attribute__((always_inline))

/* Size of a pubkey (an ed25519 public key or a program derived address) in bytes. */
#define SIZE_PUBKEY 32

/* A 32-byte account address. Alignment 1: may point straight into the input buffer or account data. */
typedef struct {
  uint8_t x[SIZE_PUBKEY];
} SolPubkey;

/* A byte slice, as the runtime expects it for sol_log_data and sol_sha256 (address, length). */
typedef struct {
  const uint8_t *addr;
  uint64_t len;
} SolBytes;

/* One account as seen by the program (filled by iog_deserialize). Layout is fixed by the runtime: the same struct
 * is passed to sol_invoke_signed_c, so field order and types must not change (56 bytes, offsets 0/8/16/24/32/40/
 * 48/49/50). Writing *lamports or data[0..data_len) writes the account (if the runtime allows it). */
typedef struct {
  SolPubkey *key;        /* address of the account */
  uint64_t *lamports;    /* balance, writable in place */
  uint64_t data_len;     /* current data length */
  uint8_t *data;         /* data bytes, writable in place when is_writable and owned by this program */
  SolPubkey *owner;      /* owning program */
  uint64_t rent_epoch;   /* legacy rent epoch */
  bool is_signer;        /* the transaction carries this account's signature */
  bool is_writable;      /* the account is writable in this instruction */
  bool executable;       /* the account is a program */
} SolAccountInfo;

/* CPI: one account of an instruction to invoke. Runtime layout (16 bytes). */
typedef struct {
  SolPubkey *pubkey;
  bool is_writable;
  bool is_signer;
} SolAccountMeta;

/* CPI: an instruction to invoke with sol_invoke_signed_c. Runtime layout (40 bytes). */
typedef struct {
  SolPubkey *program_id;
  SolAccountMeta *accounts;
  uint64_t account_len;
  uint8_t *data;
  uint64_t data_len;
} SolInstruction;

/* One seed of a program derived address (address, length <= 32 bytes). */
typedef struct {
  const uint8_t *addr;
  uint64_t len;
} SolSignerSeed;

/* The seeds (including the bump seed) of one PDA signer of a CPI. */
typedef struct {
  const SolSignerSeed *addr;
  uint64_t len;
} SolSignerSeeds;

/* ---------------------------------------------------------------------------------------------------------------
 * Return codes of the entrypoint. 0 is success. Builtin errors are `code << 32`; a small non-zero integer n
 * (< 2^32) is reported by the runtime as InstructionError::Custom(n). Custom(0) needs IOG_ERR_CUSTOM_ZERO.
 * ------------------------------------------------------------------------------------------------------------- */
#define IOG_SUCCESS 0ULL
/* Builds a builtin error code from its index. */
#define IOG_BUILTIN_ERROR(code) (((uint64_t)(code)) << 32)
#define IOG_ERR_CUSTOM_ZERO IOG_BUILTIN_ERROR(1)                   /* Custom(0) */
#define IOG_ERR_INVALID_ARGUMENT IOG_BUILTIN_ERROR(2)              /* InvalidArgument */
#define IOG_ERR_INVALID_INSTRUCTION_DATA IOG_BUILTIN_ERROR(3)      /* InvalidInstructionData */
#define IOG_ERR_INVALID_ACCOUNT_DATA IOG_BUILTIN_ERROR(4)          /* InvalidAccountData */
#define IOG_ERR_ACCOUNT_DATA_TOO_SMALL IOG_BUILTIN_ERROR(5)        /* AccountDataTooSmall */
#define IOG_ERR_INSUFFICIENT_FUNDS IOG_BUILTIN_ERROR(6)            /* InsufficientFunds */
#define IOG_ERR_INCORRECT_PROGRAM_ID IOG_BUILTIN_ERROR(7)          /* IncorrectProgramId */
#define IOG_ERR_MISSING_REQUIRED_SIGNATURE IOG_BUILTIN_ERROR(8)    /* MissingRequiredSignature */
#define IOG_ERR_ACCOUNT_ALREADY_INITIALIZED IOG_BUILTIN_ERROR(9)   /* AccountAlreadyInitialized */
#define IOG_ERR_UNINITIALIZED_ACCOUNT IOG_BUILTIN_ERROR(10)        /* UninitializedAccount */
#define IOG_ERR_NOT_ENOUGH_ACCOUNT_KEYS IOG_BUILTIN_ERROR(11)      /* NotEnoughAccountKeys */
#define IOG_ERR_ACCOUNT_BORROW_FAILED IOG_BUILTIN_ERROR(12)        /* AccountBorrowFailed */
#define IOG_ERR_MAX_SEED_LENGTH_EXCEEDED IOG_BUILTIN_ERROR(13)     /* MaxSeedLengthExceeded */
#define IOG_ERR_INVALID_SEEDS IOG_BUILTIN_ERROR(14)                /* InvalidSeeds */
#define IOG_ERR_BORSH_IO_ERROR IOG_BUILTIN_ERROR(15)               /* BorshIoError */
#define IOG_ERR_ACCOUNT_NOT_RENT_EXEMPT IOG_BUILTIN_ERROR(16)      /* AccountNotRentExempt */
#define IOG_ERR_UNSUPPORTED_SYSVAR IOG_BUILTIN_ERROR(17)           /* UnsupportedSysvar */
#define IOG_ERR_ILLEGAL_OWNER IOG_BUILTIN_ERROR(18)                /* IllegalOwner */
#define IOG_ERR_MAX_ACCOUNTS_DATA_ALLOCATIONS_EXCEEDED IOG_BUILTIN_ERROR(19) /* MaxAccountsDataAllocationsExceeded */
#define IOG_ERR_INVALID_REALLOC IOG_BUILTIN_ERROR(20)              /* InvalidRealloc */
#define IOG_ERR_MAX_INSTRUCTION_TRACE_LENGTH_EXCEEDED IOG_BUILTIN_ERROR(21) /* MaxInstructionTraceLengthExceeded */
#define IOG_ERR_BUILTIN_PROGRAMS_MUST_CONSUME_COMPUTE_UNITS IOG_BUILTIN_ERROR(22) /* Builtin...ComputeUnits */
#define IOG_ERR_INVALID_ACCOUNT_OWNER IOG_BUILTIN_ERROR(23)        /* InvalidAccountOwner */
#define IOG_ERR_ARITHMETIC_OVERFLOW IOG_BUILTIN_ERROR(24)          /* ArithmeticOverflow */
#define IOG_ERR_IMMUTABLE IOG_BUILTIN_ERROR(25)                    /* Immutable */
#define IOG_ERR_INCORRECT_AUTHORITY IOG_BUILTIN_ERROR(26)          /* IncorrectAuthority */

/* ---------------------------------------------------------------------------------------------------------------
 * Well-known program and sysvar ids, as initializers (`SolPubkey k = IOG_TOKEN_PROGRAM_ID;`).
 * ------------------------------------------------------------------------------------------------------------- */
/* 11111111111111111111111111111111 */
#define IOG_SYSTEM_PROGRAM_ID {{0}}
/* TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA */
#define IOG_TOKEN_PROGRAM_ID                                                                                  \
  {{0x06, 0xdd, 0xf6, 0xe1, 0xd7, 0x65, 0xa1, 0x93, 0xd9, 0xcb, 0xe1, 0x46, 0xce, 0xeb, 0x79, 0xac,          \
    0x1c, 0xb4, 0x85, 0xed, 0x5f, 0x5b, 0x37, 0x91, 0x3a, 0x8c, 0xf5, 0x85, 0x7e, 0xff, 0x00, 0xa9}}
/* ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL */
#define IOG_ASSOCIATED_TOKEN_PROGRAM_ID                                                                       \
  {{0x8c, 0x97, 0x25, 0x8f, 0x4e, 0x24, 0x89, 0xf1, 0xbb, 0x3d, 0x10, 0x29, 0x14, 0x8e, 0x0d, 0x83,          \
    0x0b, 0x5a, 0x13, 0x99, 0xda, 0xff, 0x10, 0x84, 0x04, 0x8e, 0x7b, 0xd8, 0xdb, 0xe9, 0xf8, 0x59}}
/* SysvarC1ock11111111111111111111111111111111 */
#define IOG_SYSVAR_CLOCK_ID                                                                                   \
  {{0x06, 0xa7, 0xd5, 0x17, 0x18, 0xc7, 0x74, 0xc9, 0x28, 0x56, 0x63, 0x98, 0x69, 0x1d, 0x5e, 0xb6,          \
    0x8b, 0x5e, 0xb8, 0xa3, 0x9b, 0x4b, 0x6d, 0x5c, 0x73, 0x55, 0x5b, 0x21, 0x00, 0x00, 0x00, 0x00}}
/* SysvarRent111111111111111111111111111111111 */
#define IOG_SYSVAR_RENT_ID                                                                                    \
  {{0x06, 0xa7, 0xd5, 0x17, 0x19, 0x2c, 0x5c, 0x51, 0x21, 0x8c, 0xc9, 0x4c, 0x3d, 0x4a, 0xf1, 0x7f,          \
    0x58, 0xda, 0xee, 0x08, 0x9b, 0xa1, 0xfd, 0x44, 0xe3, 0xdb, 0xd9, 0x8a, 0x00, 0x00, 0x00, 0x00}}

/* ---------------------------------------------------------------------------------------------------------------
 * Memory syscalls (the runtime's, cheaper than byte loops for more than a few bytes) and wrappers.
 * ------------------------------------------------------------------------------------------------------------- */
/* Copies n bytes; the ranges must not overlap (the runtime fails the instruction if they do). */
void sol_memcpy_(void *dst, const void *src, uint64_t n);
/* Copies n bytes; the ranges may overlap. */
void sol_memmove_(void *dst, const void *src, uint64_t n);
/* Sets n bytes to c. */
void sol_memset_(void *dst, uint8_t c, uint64_t n);
/* Compares n bytes; writes <0, 0 or >0 (first differing byte a - b) to *result. */
void sol_memcmp_(const void *a, const void *b, uint64_t n, int32_t *result);

/* Copies n non-overlapping bytes from src to dst. */
static inline void sol_memcpy(void *dst, const void *src, uint64_t n) { sol_memcpy_(dst, src, n); }
/* Sets n bytes at dst to c. */
static inline void sol_memset(void *dst, uint8_t c, uint64_t n) { sol_memset_(dst, c, n); }
/* Compares n bytes: 0 when equal, else the sign of the first differing byte (a - b). */
static inline int32_t sol_memcmp(const void *a, const void *b, uint64_t n) {
  int32_t result = 0;
  sol_memcmp_(a, b, n, &result);
  return result;
}

/* True when two pubkeys are equal (one sol_memcmp_ syscall: about 10 CU, cheaper than a byte loop). */
static inline bool sol_pubkey_eq(const SolPubkey *a, const SolPubkey *b) { return sol_memcmp(a, b, SIZE_PUBKEY) == 0; }

/* Copies a pubkey. */
static inline void sol_pubkey_copy(SolPubkey *dst, const SolPubkey *src) { __builtin_memcpy(dst, src, SIZE_PUBKEY); }

/* Little-endian loads and stores at any alignment (account data and instruction data are byte buffers). */
static inline uint16_t iog_load_u16(const uint8_t *p) { uint16_t v; __builtin_memcpy(&v, p, 2); return v; }
static inline uint32_t iog_load_u32(const uint8_t *p) { uint32_t v; __builtin_memcpy(&v, p, 4); return v; }
static inline uint64_t iog_load_u64(const uint8_t *p) { uint64_t v; __builtin_memcpy(&v, p, 8); return v; }
static inline void iog_store_u16(uint8_t *p, uint16_t v) { __builtin_memcpy(p, &v, 2); }
static inline void iog_store_u32(uint8_t *p, uint32_t v) { __builtin_memcpy(p, &v, 4); }
static inline void iog_store_u64(uint8_t *p, uint64_t v) { __builtin_memcpy(p, &v, 8); }

/* LLVM emits calls to memcpy/memset/memmove for large struct copies and variable-size __builtin_memcpy/memset
 * (the build driver lets them through). These weak definitions route them to the syscalls; one copy survives
 * llvm-link. */
__attribute__((weak)) void *memcpy(void *dst, const void *src, size_t n) { sol_memcpy_(dst, src, n); return dst; }
__attribute__((weak)) void *memmove(void *dst, const void *src, size_t n) { sol_memmove_(dst, src, n); return dst; }
__attribute__((weak)) void *memset(void *dst, int c, size_t n) { sol_memset_(dst, (uint8_t)c, n); return dst; }
__attribute__((weak)) int memcmp(const void *a, const void *b, size_t n) { return sol_memcmp(a, b, n); }

#endif /* IOG_TYPES_H */
