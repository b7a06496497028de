/*
 * iog_sdk.h -- the IOG SDK for on-chain C programs (SBPFv0), in one include.
 *
 *   iog_types.h     u8..u64, SolPubkey, SolAccountInfo / CPI structs, builtin error codes, program ids, memory
 *   iog_math.h      checked add/sub/mul, iog_mul_div (floor(a*b/c) over 128 bits), iog_mul_div_ceil
 *   iog_syscalls.h  syscalls, logging, sha256, PDAs, return data, Clock/Rent sysvars, rent-exempt minimum
 *   iog_input.h     SolParameters and iog_deserialize (the loader's input layout), heap bump allocator, realloc
 *   iog_cpi.h       invoke / invoke_signed, System create_account, SPL Token Transfer / TransferChecked, token
 *                   account and mint readers
 *   iog_borsh.h     bounds-checked borsh reader/writer
 *
 * Conventions: functions that can fail return uint64_t, IOG_SUCCESS (0) or an entrypoint error code, so
 * `if ((err = f(...))) return err;` propagates; iog_*_overflow return true on overflow. Nothing allocates except
 * iog_alloc. No writable globals (the linker refuses .data/.bss): keep state in accounts or on the heap.
 *
 * Minimal program:
 *
 *   #include "iog_sdk.h"
 *   uint64_t entrypoint(const uint8_t *input) {
 *     SolParameters *params;
 *     uint64_t err = iog_params_on_heap(input, &params);
 *     if (err) return err;
 *     if (params->ka_num < 1) return IOG_ERR_NOT_ENOUGH_ACCOUNT_KEYS;
 *     IOG_LOG("hello");
 *     return IOG_SUCCESS;
 *   }
 *
 * Build: python programs/toolchain/build.py --out prog.so src/a.c src/b.c -I programs/sdk
 */
#ifndef IOG_SDK_H
#define IOG_SDK_H

#include "iog_types.h"
#include "iog_math.h"
#include "iog_syscalls.h"
#include "iog_input.h"
#include "iog_cpi.h"
#include "iog_borsh.h"

#endif /* IOG_SDK_H */
