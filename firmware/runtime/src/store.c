#include "lq_store.h"

#include <stdio.h>
#include <string.h>

#include "liquid_port.h"
#include "lq_crc32.h"

#define DIR_MAGIC 0x5244514Cu /* "LQDR" */
#define DIR_HEADER_SIZE 20u
#define DIR_FORMAT 2u /* 2 added a flags word after the count; format 1 is still read */
#define ENTRY_SIZE 80u
/* the apps plus at most one upload in progress */
#define DIR_MAX_PAYLOAD (12u + (LQ_STORE_MAX_APPS + 1) * ENTRY_SIZE)
#define PENDING_FLAG 0x80000000u /* entry flag: an upload in progress, not an app yet */
#define MAX_BLOCKS 1024u

typedef struct region {
  uint32_t start, size;  /* bytes */
  uint32_t append;       /* offset (absolute) where the next record goes */
  int append_usable;     /* 0 when the scan ended at garbage: rotate before writing */
} region;

static struct {
  int mounted;
  lq_flash_geometry geo;
  uint32_t nblocks, data_first_block;
  region meta[2];
  int active; /* index of the region holding the newest record */
  uint32_t seq;
  int count;
  uint32_t flags; /* store-wide flags (LQ_STORE_FLAG_*), committed with the directory */
  lq_store_entry dir[LQ_STORE_MAX_APPS];
  /* the upload in progress */
  int up_active;
  int up_durable; /* the upload is recorded in the committed directory */
  lq_store_entry up;
  uint32_t up_nblocks;
  char error[128];
} S;

static uint8_t rec_buf[DIR_HEADER_SIZE + DIR_MAX_PAYLOAD];
static uint8_t copy_buf[256];

static int fail(int code, const char *msg) {
  snprintf(S.error, sizeof S.error, "%s", msg);
  return code;
}

static int io_fail(void) {
  S.mounted = 0;
  S.up_active = 0;
  return fail(LQ_STORE_EIO, "flash operation failed");
}

const char *lq_store_error(void) { return S.error; }
int lq_store_mounted(void) { return S.mounted; }

static void put32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}
static uint32_t get32(const uint8_t *p) {
  return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static uint32_t align_up(uint32_t v, uint32_t a) { return (v + a - 1) / a * a; }

/* Programs any range, split at page boundaries as the port requires. */
static int program(uint32_t addr, const void *data, uint32_t len) {
  const uint8_t *p = (const uint8_t *)data;
  while (len) {
    uint32_t room = S.geo.page_size - addr % S.geo.page_size;
    uint32_t n = len < room ? len : room;
    if (lq_port_flash_program(addr, p, n) != 0) return -1;
    addr += n; p += n; len -= n;
  }
  return 0;
}

static int erased(uint32_t addr, uint32_t len) {
  while (len) {
    uint32_t n = len < sizeof copy_buf ? len : (uint32_t)sizeof copy_buf, i;
    if (lq_port_flash_read(addr, copy_buf, n) != 0) return -1;
    for (i = 0; i < n; i++)
      if (copy_buf[i] != 0xFF) return 0;
    addr += n; len -= n;
  }
  return 1;
}

/* Long flash work (erasing a run, copying a blob) kicks the watchdog as it goes: a page erase
 * takes tens of ms on real parts and a big store would outlast the watchdog. */
static int erase_blocks(uint32_t first, uint32_t n) {
  uint32_t b;
  for (b = first; b < first + n; b++) {
    lq_port_watchdog_kick();
    if (lq_port_flash_erase(b * S.geo.block_size) != 0) return -1;
  }
  return 0;
}

static uint32_t blob_len(const lq_store_entry *e) { return e->manifest_len + e->wasm_len; }
static uint32_t blob_blocks(uint32_t len) {
  uint32_t n = (len + S.geo.block_size - 1) / S.geo.block_size;
  return n ? n : 1;
}

/* ---- directory records -------------------------------------------------------------------- */

static void encode_entry(uint8_t *p, const lq_store_entry *e, uint32_t extra_flags) {
  memset(p, 0, ENTRY_SIZE);
  memcpy(p, e->name, strlen(e->name));
  memcpy(p + 32, e->sha256, 32);
  put32(p + 64, e->start_block);
  put32(p + 68, e->flags | extra_flags);
  put32(p + 72, e->manifest_len);
  put32(p + 76, e->wasm_len);
}

static uint32_t encode_dir(const lq_store_entry *dir, int count, uint32_t flags,
                           const lq_store_entry *pending) {
  uint8_t *p = rec_buf + DIR_HEADER_SIZE;
  int i, total = count + (pending ? 1 : 0);
  put32(p, DIR_FORMAT);
  put32(p + 4, (uint32_t)total);
  put32(p + 8, flags);
  p += 12;
  for (i = 0; i < count; i++, p += ENTRY_SIZE) encode_entry(p, &dir[i], 0);
  if (pending) encode_entry(p, pending, PENDING_FLAG);
  return 12u + (uint32_t)total * ENTRY_SIZE;
}

/* Parses a directory payload; rejects anything inconsistent with the geometry. */
static int decode_dir(const uint8_t *p, uint32_t len, lq_store_entry *dir, int *count,
                      uint32_t *flags, lq_store_entry *pending, int *has_pending) {
  uint32_t n, i, head, format;
  int apps = 0;
  if (len < 8) return -1;
  format = get32(p);
  if (format != 1 && format != 2) return -1;
  head = format == 1 ? 8 : 12;
  n = get32(p + 4);
  if (n > LQ_STORE_MAX_APPS + 1 || len != head + n * ENTRY_SIZE) return -1;
  *flags = format == 1 ? 0 : get32(p + 8);
  *has_pending = 0;
  for (i = 0; i < n; i++) {
    const uint8_t *e = p + head + i * ENTRY_SIZE;
    lq_store_entry *d;
    if (get32(e + 68) & PENDING_FLAG) {
      if (*has_pending) return -1;
      *has_pending = 1;
      d = pending;
    } else {
      if (apps == LQ_STORE_MAX_APPS) return -1;
      d = &dir[apps++];
    }
    memcpy(d->name, e, 32);
    d->name[LQ_STORE_NAME_MAX] = 0;
    memcpy(d->sha256, e + 32, 32);
    d->start_block = get32(e + 64);
    d->flags = get32(e + 68) & ~PENDING_FLAG;
    d->manifest_len = get32(e + 72);
    d->wasm_len = get32(e + 76);
    if (d->start_block < S.data_first_block ||
        blob_len(d) > S.nblocks * S.geo.block_size ||
        d->start_block + blob_blocks(blob_len(d)) > S.nblocks)
      return -1;
  }
  *count = apps;
  return 0;
}

/* Scans one metadata region; keeps the newest valid record if it beats *best_seq. */
static int scan_region(int r, uint32_t *best_seq, int *found) {
  region *g = &S.meta[r];
  uint32_t pos = g->start, end = g->start + g->size;
  g->append_usable = 1;
  while (pos + DIR_HEADER_SIZE <= end) {
    uint8_t h[DIR_HEADER_SIZE];
    uint32_t magic, seq, len, crc, i;
    int all_ff = 1;
    if (lq_port_flash_read(pos, h, DIR_HEADER_SIZE) != 0) return -1;
    for (i = 0; i < DIR_HEADER_SIZE; i++)
      if (h[i] != 0xFF) all_ff = 0;
    if (all_ff) break;
    magic = get32(h); seq = get32(h + 4); len = get32(h + 8); crc = get32(h + 12);
    if (magic != DIR_MAGIC || get32(h + 16) != lq_crc32(0, h, 16) || len > DIR_MAX_PAYLOAD ||
        pos + DIR_HEADER_SIZE + len > end) {
      g->append_usable = 0; /* a torn header: nothing after it can be trusted as erased */
      break;
    }
    if (lq_port_flash_read(pos + DIR_HEADER_SIZE, rec_buf, len) != 0) return -1;
    if (lq_crc32(0, rec_buf, len) == crc && (!*found || seq > *best_seq)) {
      lq_store_entry tmp[LQ_STORE_MAX_APPS], pend;
      int n, has_pending;
      uint32_t flags;
      if (decode_dir(rec_buf, len, tmp, &n, &flags, &pend, &has_pending) == 0) {
        memcpy(S.dir, tmp, sizeof(lq_store_entry) * (size_t)n);
        S.count = n;
        S.flags = flags;
        S.up_active = has_pending;
        S.up_durable = has_pending;
        if (has_pending) {
          S.up = pend;
          S.up_nblocks = blob_blocks(blob_len(&pend));
        }
        S.seq = seq;
        S.active = r;
        *best_seq = seq;
        *found = 1;
      }
    }
    pos += align_up(DIR_HEADER_SIZE + len, S.geo.page_size);
  }
  g->append = pos;
  return 0;
}

/* Writes `dir` as the next directory record: appended, or after rotating to the other region. */
static int commit_dir_full(const lq_store_entry *dir, int count, uint32_t flags,
                           const lq_store_entry *pending) {
  uint32_t len = encode_dir(dir, count, flags, pending), total = DIR_HEADER_SIZE + len;
  region *g = &S.meta[S.active];
  uint32_t seq = S.seq + 1;
  int ok;
  put32(rec_buf, DIR_MAGIC);
  put32(rec_buf + 4, seq);
  put32(rec_buf + 8, len);
  put32(rec_buf + 12, lq_crc32(0, rec_buf + DIR_HEADER_SIZE, len));
  put32(rec_buf + 16, lq_crc32(0, rec_buf, 16));
  ok = g->append_usable && g->append + total <= g->start + g->size;
  if (ok) {
    int e = erased(g->append, align_up(total, S.geo.page_size) < g->start + g->size - g->append
                                  ? align_up(total, S.geo.page_size)
                                  : g->start + g->size - g->append);
    if (e < 0) return io_fail();
    ok = e;
  }
  if (!ok) {
    /* Rotate: the other region only holds older records, so erasing it loses nothing. */
    int other = 1 - S.active;
    region *o = &S.meta[other];
    if (erase_blocks(o->start / S.geo.block_size, o->size / S.geo.block_size) != 0)
      return io_fail();
    o->append = o->start;
    o->append_usable = 1;
    S.active = other;
    g = o;
  }
  if (program(g->append, rec_buf, total) != 0) return io_fail();
  g->append += align_up(total, S.geo.page_size);
  if (dir != S.dir) memmove(S.dir, dir, sizeof(lq_store_entry) * (size_t)count);
  S.count = count;
  S.flags = flags;
  S.seq = seq;
  return LQ_STORE_OK;
}

/* The upload in progress stays recorded in every directory written while it lasts. */
static int commit_dir_flags(const lq_store_entry *dir, int count, uint32_t flags) {
  return commit_dir_full(dir, count, flags, S.up_active && S.up_durable ? &S.up : NULL);
}

static int commit_dir(const lq_store_entry *dir, int count) {
  return commit_dir_flags(dir, count, S.flags);
}

uint32_t lq_store_flags(void) { return S.mounted ? S.flags : 0; }

int lq_store_set_flags(uint32_t flags) {
  if (!S.mounted) return fail(LQ_STORE_ENOTMOUNTED, "store not mounted");
  if (flags == S.flags) return LQ_STORE_OK;
  return commit_dir_flags(S.dir, S.count, flags);
}

int lq_store_mount(void) {
  const lq_flash_geometry *geo = lq_port_flash_geometry();
  uint32_t best = 0, meta_blocks;
  int found = 0;
  memset(&S, 0, sizeof S);
  S.geo = *geo;
  if (!geo->page_size || !geo->block_size || geo->block_size % geo->page_size ||
      geo->size % geo->block_size)
    return fail(LQ_STORE_EINVAL, "bad flash geometry");
  S.nblocks = geo->size / geo->block_size;
  if (S.nblocks > MAX_BLOCKS) S.nblocks = MAX_BLOCKS;
  /* each metadata region must hold at least two full directory records */
  meta_blocks = blob_blocks(2 * align_up(DIR_HEADER_SIZE + DIR_MAX_PAYLOAD, geo->page_size));
  if (S.nblocks < 2 * meta_blocks + 1) return fail(LQ_STORE_EINVAL, "flash too small for a store");
  S.meta[0].start = 0;
  S.meta[1].start = meta_blocks * geo->block_size;
  S.meta[0].size = S.meta[1].size = meta_blocks * geo->block_size;
  S.data_first_block = 2 * meta_blocks;
  if (scan_region(0, &best, &found) != 0 || scan_region(1, &best, &found) != 0) return io_fail();
  S.mounted = 1;
  if (!found) {
    /* Empty or never formatted: start a directory (seq 1) in region A. */
    S.active = 1; /* so that a forced rotation lands in A */
    S.meta[1].append_usable = 0;
    S.seq = 0;
    if (commit_dir(S.dir, 0) != 0) return io_fail();
  }
  return LQ_STORE_OK;
}

int lq_store_format(void) {
  const lq_flash_geometry *geo = lq_port_flash_geometry();
  uint32_t b;
  for (b = 0; b < geo->size / geo->block_size; b++) {
    lq_port_watchdog_kick();
    if (lq_port_flash_erase(b * geo->block_size) != 0) return io_fail();
  }
  return lq_store_mount();
}

int lq_store_count(void) { return S.mounted ? S.count : 0; }
const lq_store_entry *lq_store_at(int i) { return i >= 0 && i < S.count ? &S.dir[i] : NULL; }

const lq_store_entry *lq_store_find(const char *name) {
  int i;
  for (i = 0; i < S.count; i++)
    if (strcmp(S.dir[i].name, name) == 0) return &S.dir[i];
  return NULL;
}

int lq_store_remove(const char *name) {
  lq_store_entry next[LQ_STORE_MAX_APPS];
  int i, n = 0, hit = 0;
  if (!S.mounted) return fail(LQ_STORE_ENOTMOUNTED, "store not mounted");
  for (i = 0; i < S.count; i++) {
    if (strcmp(S.dir[i].name, name) == 0) hit = 1;
    else next[n++] = S.dir[i];
  }
  if (!hit) return fail(LQ_STORE_ENOTFOUND, "no such app");
  return commit_dir(next, n);
}

int lq_store_set_autostart(const char *name, int on) {
  lq_store_entry next[LQ_STORE_MAX_APPS];
  int i;
  const lq_store_entry *e;
  if (!S.mounted) return fail(LQ_STORE_ENOTMOUNTED, "store not mounted");
  e = lq_store_find(name);
  if (!e) return fail(LQ_STORE_ENOTFOUND, "no such app");
  if (((e->flags & LQ_STORE_AUTOSTART) != 0) == (on != 0)) return LQ_STORE_OK;
  memcpy(next, S.dir, sizeof next);
  i = (int)(e - S.dir);
  next[i].flags = on ? (next[i].flags | LQ_STORE_AUTOSTART) : (next[i].flags & ~LQ_STORE_AUTOSTART);
  return commit_dir(next, S.count);
}

/* ---- space management --------------------------------------------------------------------- */

static void used_map(uint8_t *used, int skip_index) {
  int i;
  uint32_t b;
  memset(used, 0, MAX_BLOCKS);
  for (b = 0; b < S.data_first_block; b++) used[b] = 1;
  for (i = 0; i < S.count; i++) {
    if (i == skip_index) continue;
    for (b = 0; b < blob_blocks(blob_len(&S.dir[i])); b++) used[S.dir[i].start_block + b] = 1;
  }
  if (S.up_active)
    for (b = 0; b < S.up_nblocks; b++) used[S.up.start_block + b] = 1;
}

/* First fit of n contiguous free blocks below `limit`; returns the block or 0 (never free). */
static uint32_t find_run(const uint8_t *used, uint32_t n, uint32_t limit) {
  uint32_t b, run = 0;
  for (b = S.data_first_block; b < limit; b++) {
    run = used[b] ? 0 : run + 1;
    if (run == n) return b + 1 - n;
  }
  return 0;
}

uint32_t lq_store_total(void) { return S.nblocks * S.geo.block_size; }

uint32_t lq_store_free(void) {
  static uint8_t used[MAX_BLOCKS];
  uint32_t b, n = 0;
  if (!S.mounted) return 0;
  used_map(used, -1);
  for (b = S.data_first_block; b < S.nblocks; b++) n += !used[b];
  return n * S.geo.block_size;
}

static int copy_blob(uint32_t from_block, uint32_t to_block, uint32_t len) {
  uint32_t off = 0, src = from_block * S.geo.block_size, dst = to_block * S.geo.block_size;
  if (erase_blocks(to_block, blob_blocks(len)) != 0) return -1;
  while (off < len) {
    uint32_t n = len - off < sizeof copy_buf ? len - off : (uint32_t)sizeof copy_buf;
    if (lq_port_flash_read(src + off, copy_buf, n) != 0 || program(dst + off, copy_buf, n) != 0)
      return -1;
    off += n;
  }
  return 0;
}

/*
 * Moves blobs down into lower free runs (copy, then commit a directory naming the copy) until
 * `need` contiguous blocks are free. Each move is one atomic commit, so a power cut leaves
 * either the old or the new location in the directory, never a half copy.
 */
static int compact_for(uint32_t need) {
  static uint8_t used[MAX_BLOCKS];
  for (;;) {
    int i, moved = 0;
    used_map(used, -1);
    if (find_run(used, need, S.nblocks)) return 0;
    for (i = 0; i < S.count && !moved; i++) {
      lq_store_entry next[LQ_STORE_MAX_APPS];
      uint32_t n = blob_blocks(blob_len(&S.dir[i])), to;
      used_map(used, -1);
      to = find_run(used, n, S.dir[i].start_block);
      if (!to) continue;
      if (copy_blob(S.dir[i].start_block, to, blob_len(&S.dir[i])) != 0) return io_fail();
      memcpy(next, S.dir, sizeof next);
      next[i].start_block = to;
      if (commit_dir(next, S.count) != 0) return LQ_STORE_EIO;
      moved = 1;
    }
    if (!moved) return 1;
  }
}

/* ---- uploads ------------------------------------------------------------------------------ */

/* Forgets the upload in progress, in the directory too when it was recorded there. */
static int drop_pending(void) {
  int durable = S.up_active && S.up_durable;
  S.up_active = 0;
  S.up_durable = 0;
  return durable ? commit_dir(S.dir, S.count) : LQ_STORE_OK;
}

int lq_store_upload_begin(const char *name, const uint8_t sha256[32], uint32_t wasm_len,
                          const char *manifest, uint32_t manifest_len) {
  static uint8_t used[MAX_BLOCKS];
  uint32_t len = manifest_len + wasm_len, n, at;
  const lq_store_entry *old;
  lq_store_entry up;
  int c;
  if (!S.mounted) return fail(LQ_STORE_ENOTMOUNTED, "store not mounted");
  /* A new upload replaces the one in progress; its blocks must be free in the directory before
   * they can be reused, or a power cut could leave a record naming rewritten blocks. */
  if (drop_pending() != 0) return LQ_STORE_EIO;
  if (!name[0] || strlen(name) > LQ_STORE_NAME_MAX)
    return fail(LQ_STORE_EINVAL, "app name must be 1..31 bytes");
  old = lq_store_find(name);
  if (!old && S.count >= LQ_STORE_MAX_APPS)
    return fail(LQ_STORE_ENOSPACE, "store full: at most 16 apps");
  n = blob_blocks(len);
  if (n > S.nblocks) {
    snprintf(S.error, sizeof S.error, "store full: %u bytes free, %u needed",
             (unsigned)lq_store_free(), (unsigned)len);
    return LQ_STORE_ENOSPACE;
  }
  c = compact_for(n);
  if (c < 0) return c;
  used_map(used, -1);
  at = find_run(used, n, S.nblocks);
  if (!at) {
    snprintf(S.error, sizeof S.error, "store full: %u bytes free, %u needed",
             (unsigned)lq_store_free(), (unsigned)len);
    return LQ_STORE_ENOSPACE;
  }
  /* Erase and write the manifest first, then record the upload: a recorded upload always
   * points at blocks that hold nothing but its own bytes. */
  if (erase_blocks(at, n) != 0) return io_fail();
  if (manifest_len && program(at * S.geo.block_size, manifest, manifest_len) != 0)
    return io_fail();
  memset(&up, 0, sizeof up);
  memcpy(up.name, name, strlen(name));
  memcpy(up.sha256, sha256, 32);
  up.start_block = at;
  up.manifest_len = manifest_len;
  up.wasm_len = wasm_len;
  if (commit_dir_full(S.dir, S.count, S.flags, &up) != 0) return LQ_STORE_EIO;
  S.up = up;
  S.up_nblocks = n;
  S.up_active = 1;
  S.up_durable = 1;
  return LQ_STORE_OK;
}

int lq_store_upload_write(uint32_t offset, const void *data, uint32_t len) {
  if (!S.up_active) return fail(LQ_STORE_EINVAL, "no upload in progress");
  if (offset > S.up.wasm_len || len > S.up.wasm_len - offset)
    return fail(LQ_STORE_EINVAL, "chunk beyond the announced size");
  if (len && program(S.up.start_block * S.geo.block_size + S.up.manifest_len + offset, data, len))
    return io_fail();
  return LQ_STORE_OK;
}

int lq_store_upload_read(uint32_t offset, void *buf, uint32_t len) {
  if (!S.up_active) return fail(LQ_STORE_EINVAL, "no upload in progress");
  return lq_store_read_wasm(&S.up, offset, buf, len);
}

/*
 * After a reboot: the upload the directory records, and how many of its wasm bytes are surely
 * on flash. Bytes are programmed in order, so everything before the page holding the last
 * programmed byte is complete; that page itself may be torn and is counted as missing (it is
 * programmed again with the same bytes, which flash allows on bits already cleared).
 */
int lq_store_upload_pending(lq_store_entry *out, uint32_t *received) {
  uint32_t base, end, page, last = 0;
  int found = 0;
  if (!S.mounted || !S.up_active) return 0;
  base = S.up.start_block * S.geo.block_size;
  end = base + S.up.manifest_len + S.up.wasm_len;
  for (page = base + S.up.manifest_len / S.geo.page_size * S.geo.page_size; page < end;
       page += S.geo.page_size) {
    uint32_t from = page < base + S.up.manifest_len ? base + S.up.manifest_len : page;
    uint32_t to = page + S.geo.page_size < end ? page + S.geo.page_size : end;
    int e = erased(from, to - from);
    if (e < 0) {
      io_fail();
      return 0;
    }
    if (!e) {
      last = page;
      found = 1;
    }
  }
  *out = S.up;
  *received = !found || last <= base + S.up.manifest_len ? 0 : last - base - S.up.manifest_len;
  return 1;
}

int lq_store_upload_commit(uint32_t flags) {
  lq_store_entry next[LQ_STORE_MAX_APPS];
  int i, n = 0, r;
  if (!S.up_active) return fail(LQ_STORE_EINVAL, "no upload in progress");
  for (i = 0; i < S.count; i++)
    if (strcmp(S.dir[i].name, S.up.name) != 0) next[n++] = S.dir[i];
  if (n >= LQ_STORE_MAX_APPS) return fail(LQ_STORE_ENOSPACE, "store full: at most 16 apps");
  next[n] = S.up;
  next[n].flags = flags;
  n++;
  /* one record: the app becomes part of the store and the upload record disappears */
  r = commit_dir_full(next, n, S.flags, NULL);
  if (r == 0) S.up_active = S.up_durable = 0;
  return r;
}

int lq_store_upload_abort(void) { return drop_pending(); }

static int read_blob(const lq_store_entry *e, uint32_t base, uint32_t limit, uint32_t offset,
                     void *buf, uint32_t len) {
  if (offset > limit || len > limit - offset) return fail(LQ_STORE_EINVAL, "read beyond blob");
  if (lq_port_flash_read(e->start_block * S.geo.block_size + base + offset, buf, len) != 0)
    return io_fail();
  return LQ_STORE_OK;
}

int lq_store_read_wasm(const lq_store_entry *e, uint32_t offset, void *buf, uint32_t len) {
  return read_blob(e, e->manifest_len, e->wasm_len, offset, buf, len);
}

int lq_store_read_manifest(const lq_store_entry *e, uint32_t offset, void *buf, uint32_t len) {
  return read_blob(e, 0, e->manifest_len, offset, buf, len);
}
