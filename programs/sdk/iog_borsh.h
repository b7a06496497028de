/*
 * iog_borsh.h -- bounds-checked borsh reader and writer (little endian): u8/u16/u32/u64, pubkey, [u8; 32],
 * Vec<[u8; 32]> (u32 length prefix).
 *
 * Every read/write returns IOG_SUCCESS or the error code given at init (e.g. IOG_ERR_INVALID_INSTRUCTION_DATA for
 * instruction data, IOG_ERR_INVALID_ACCOUNT_DATA for account data, IOG_ERR_ACCOUNT_DATA_TOO_SMALL for a writer);
 * on error the cursor does not move and nothing is written.
 */
#ifndef IOG_BORSH_H
#define IOG_BORSH_H

#include "iog_types.h"

/* A read cursor over a byte buffer. */
typedef struct {
  const uint8_t *buf; /* start of the buffer */
  uint64_t len;       /* buffer length */
  uint64_t pos;       /* bytes consumed */
  uint64_t err;       /* error code returned when a read runs past the end */
} IogReader;

/* A write cursor over a byte buffer. */
typedef struct {
  uint8_t *buf;
  uint64_t len;
  uint64_t pos; /* bytes written */
  uint64_t err; /* error code returned when a write runs past the end */
} IogWriter;

/* Starts reading buf[0..len); reads past the end fail with `err`. */
static inline void iog_reader_init(IogReader *r, const uint8_t *buf, uint64_t len, uint64_t err) {
  r->buf = buf;
  r->len = len;
  r->pos = 0;
  r->err = err;
}

/* Bytes left to read. */
static inline uint64_t iog_reader_remaining(const IogReader *r) { return r->len - r->pos; }

/* Reserves n bytes; returns a pointer to them or NULL when fewer than n remain. */
static inline const uint8_t *iog_read_raw(IogReader *r, uint64_t n) {
  if (n > r->len - r->pos) return NULL;
  const uint8_t *p = r->buf + r->pos;
  r->pos += n;
  return p;
}

/* Reads a u8. */
static inline uint64_t iog_read_u8(IogReader *r, uint8_t *out) {
  const uint8_t *p = iog_read_raw(r, 1);
  if (!p) return r->err;
  *out = p[0];
  return IOG_SUCCESS;
}

/* Reads a u16 (LE). */
static inline uint64_t iog_read_u16(IogReader *r, uint16_t *out) {
  const uint8_t *p = iog_read_raw(r, 2);
  if (!p) return r->err;
  *out = iog_load_u16(p);
  return IOG_SUCCESS;
}

/* Reads a u32 (LE). */
static inline uint64_t iog_read_u32(IogReader *r, uint32_t *out) {
  const uint8_t *p = iog_read_raw(r, 4);
  if (!p) return r->err;
  *out = iog_load_u32(p);
  return IOG_SUCCESS;
}

/* Reads a u64 (LE). */
static inline uint64_t iog_read_u64(IogReader *r, uint64_t *out) {
  const uint8_t *p = iog_read_raw(r, 8);
  if (!p) return r->err;
  *out = iog_load_u64(p);
  return IOG_SUCCESS;
}

/* Reads a bool (one byte that must be 0 or 1). */
static inline uint64_t iog_read_bool(IogReader *r, bool *out) {
  const uint8_t *p = iog_read_raw(r, 1);
  if (!p) return r->err;
  if (p[0] > 1) {
    r->pos -= 1;
    return r->err;
  }
  *out = p[0] == 1;
  return IOG_SUCCESS;
}

/* Reads a [u8; 32] by copy into out[32]. */
static inline uint64_t iog_read_bytes32(IogReader *r, uint8_t *out) {
  const uint8_t *p = iog_read_raw(r, 32);
  if (!p) return r->err;
  sol_memcpy(out, p, 32);
  return IOG_SUCCESS;
}

/* Reads a pubkey by copy. */
static inline uint64_t iog_read_pubkey(IogReader *r, SolPubkey *out) { return iog_read_bytes32(r, out->x); }

/*
 * Reads a Vec<[u8; 32]> without copying: *items points at `*count` consecutive 32-byte items inside the buffer.
 * Fails (cursor unmoved) when the length prefix exceeds max_count or the items run past the end.
 */
static inline uint64_t iog_read_vec_bytes32(IogReader *r, const uint8_t **items, uint32_t *count, uint32_t max_count) {
  uint64_t start = r->pos;
  uint32_t n;
  if (iog_read_u32(r, &n)) return r->err;
  const uint8_t *p = n <= max_count ? iog_read_raw(r, (uint64_t)n * 32) : NULL;
  if (!p) {
    r->pos = start;
    return r->err;
  }
  *items = p;
  *count = n;
  return IOG_SUCCESS;
}

/* Succeeds only when every byte was consumed (rejects trailing bytes). */
static inline uint64_t iog_read_end(const IogReader *r) { return r->pos == r->len ? IOG_SUCCESS : r->err; }

/* Starts writing into buf[0..len); writes past the end fail with `err`. */
static inline void iog_writer_init(IogWriter *w, uint8_t *buf, uint64_t len, uint64_t err) {
  w->buf = buf;
  w->len = len;
  w->pos = 0;
  w->err = err;
}

/* Reserves n bytes for writing; NULL when fewer than n remain. */
static inline uint8_t *iog_write_raw(IogWriter *w, uint64_t n) {
  if (n > w->len - w->pos) return NULL;
  uint8_t *p = w->buf + w->pos;
  w->pos += n;
  return p;
}

/* Writes a u8. */
static inline uint64_t iog_write_u8(IogWriter *w, uint8_t v) {
  uint8_t *p = iog_write_raw(w, 1);
  if (!p) return w->err;
  p[0] = v;
  return IOG_SUCCESS;
}

/* Writes a u16 (LE). */
static inline uint64_t iog_write_u16(IogWriter *w, uint16_t v) {
  uint8_t *p = iog_write_raw(w, 2);
  if (!p) return w->err;
  iog_store_u16(p, v);
  return IOG_SUCCESS;
}

/* Writes a u32 (LE). */
static inline uint64_t iog_write_u32(IogWriter *w, uint32_t v) {
  uint8_t *p = iog_write_raw(w, 4);
  if (!p) return w->err;
  iog_store_u32(p, v);
  return IOG_SUCCESS;
}

/* Writes a u64 (LE). */
static inline uint64_t iog_write_u64(IogWriter *w, uint64_t v) {
  uint8_t *p = iog_write_raw(w, 8);
  if (!p) return w->err;
  iog_store_u64(p, v);
  return IOG_SUCCESS;
}

/* Writes a bool as one byte 0/1. */
static inline uint64_t iog_write_bool(IogWriter *w, bool v) { return iog_write_u8(w, v ? 1 : 0); }

/* Writes n raw bytes. */
static inline uint64_t iog_write_bytes(IogWriter *w, const uint8_t *src, uint64_t n) {
  uint8_t *p = iog_write_raw(w, n);
  if (!p) return w->err;
  sol_memcpy(p, src, n);
  return IOG_SUCCESS;
}

/* Writes a [u8; 32]. */
static inline uint64_t iog_write_bytes32(IogWriter *w, const uint8_t *src) { return iog_write_bytes(w, src, 32); }

/* Writes a pubkey. */
static inline uint64_t iog_write_pubkey(IogWriter *w, const SolPubkey *k) { return iog_write_bytes(w, k->x, 32); }

/* Writes a Vec<[u8; 32]>: u32 count then the items (nothing written when it does not fit). */
static inline uint64_t iog_write_vec_bytes32(IogWriter *w, const uint8_t *items, uint32_t count) {
  if ((uint64_t)count * 32 + 4 > w->len - w->pos) return w->err;
  iog_write_u32(w, count);
  return iog_write_bytes(w, items, (uint64_t)count * 32);
}

#endif /* IOG_BORSH_H */
