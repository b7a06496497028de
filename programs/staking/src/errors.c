/*
 * errors.c -- logs a custom error the way Anchor programs do, so that Anchor clients (TypeScript, Python) name it:
 *
 *   Program log: AnchorError occurred. Error Code: <Name>. Error Number: <n>. Error Message: <msg>.
 *   Program log: AnchorError caused by account: <account>. Error Code: <Name>. Error Number: <n>. Error Message: <msg>.
 *
 * followed, for a failed comparison, by "Left: <value>" / "Right: <value>", or for keys by "Left:", <key>,
 * "Right:", <key> (Anchor's AnchorError::log in lang/src/error.rs). Names, numbers and messages come from the
 * tables gen_layout.py generates beside the IDL, so the log and the IDL cannot disagree. Only the failure path
 * pays for this (one log line, about 100-300 CU; two or four more for compared values).
 */
#define IOG_ERROR_TABLES
#include "common.h"

#define LOG_MAX 320

/* Appends `len` bytes to buf at *pos (truncating at LOG_MAX). */
static void put(char *buf, uint64_t *pos, const char *s, uint64_t len) {
  if (*pos + len > LOG_MAX) len = LOG_MAX - *pos;
  sol_memcpy(buf + *pos, s, len);
  *pos += len;
}

/* Logs "<label> <decimal value>" (signed when `is_signed`). */
static void log_value(const char *label, uint64_t label_len, uint64_t v, bool is_signed) {
  char buf[32], digits[20];
  uint64_t pos = 0, n = 0;
  put(buf, &pos, label, label_len);
  if (is_signed && (int64_t)v < 0) {
    put(buf, &pos, "-", 1);
    v = (uint64_t)0 - v; /* |INT64_MIN| is still exact as u64 */
  }
  do {
    digits[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  while (n) buf[pos++] = digits[--n];
  sol_log_(buf, pos);
}

void log_error(const Ctx *c, uint64_t err) {
  if (err < ERROR_BASE || err >= ERROR_BASE + ERROR_COUNT) return; /* builtin errors: the runtime reports them */
  const IogText *t = &ERROR_TEXTS[err - ERROR_BASE];
  const IogText *account = NULL;
  if (c->err_account && c->ix < IX_COUNT) {
    /* unsigned arithmetic: SBF has no signed division (pointer difference) */
    uint64_t at = (uint64_t)c->err_account, base = (uint64_t)c->p->ka;
    uint64_t i = at >= base ? (at - base) / sizeof(SolAccountInfo) : IOG_MAX_ACCOUNTS;
    if (i < IX_ACCOUNTS_COUNT[c->ix]) account = &ACCOUNT_NAMES[IX_ACCOUNTS_START[c->ix] + i];
  }
  char buf[LOG_MAX];
  uint64_t pos = 0;
  if (account) {
    put(buf, &pos, "AnchorError caused by account: ", 31);
    put(buf, &pos, account->text, account->len);
    put(buf, &pos, ". ", 2);
  } else {
    put(buf, &pos, "AnchorError occurred. ", 22);
  }
  put(buf, &pos, t->text, t->len);
  sol_log_(buf, pos);
  if (c->cmp == CMP_KEYS) {
    IOG_LOG("Left:");
    sol_log_pubkey(c->left_key);
    IOG_LOG("Right:");
    sol_log_pubkey(c->right_key);
  } else if (c->cmp == CMP_U64 || c->cmp == CMP_I64) {
    log_value("Left: ", 6, c->left, c->cmp == CMP_I64);
    log_value("Right: ", 7, c->right, c->cmp == CMP_I64);
  }
}
