/*
 * lq_store.h — the module store: apps (wasm + manifest) and their configuration, on flash.
 *
 * Layout (docs/runtime.md has the full story): two metadata regions A and B hold a log of
 * directory records (header CRC + payload CRC, page aligned); the newest valid record wins.
 * The rest of the flash holds blobs (manifest JSON followed by the wasm bytes) in contiguous
 * runs of erase blocks. A blob is written to free blocks first and only becomes part of the
 * store when a directory record naming it is committed, so a power cut at any point leaves the
 * previous directory, and every blob it names, intact. Space of removed blobs is free as soon
 * as the directory no longer names it; the metadata log is compacted by rotating to the other
 * region, and blobs are moved (copy then commit) when free space is fragmented.
 */
#ifndef LQ_STORE_H
#define LQ_STORE_H

#include <stddef.h>
#include <stdint.h>

#define LQ_STORE_MAX_APPS 16
#define LQ_STORE_NAME_MAX 31

#define LQ_STORE_OK 0
#define LQ_STORE_EIO (-1)       /* flash failed (or simulated power cut); remount needed */
#define LQ_STORE_ENOSPACE (-2)  /* not enough free flash or too many apps */
#define LQ_STORE_ENOTFOUND (-3) /* no such app */
#define LQ_STORE_EINVAL (-4)    /* bad argument or no upload in progress */
#define LQ_STORE_ENOTMOUNTED (-5)

#define LQ_STORE_AUTOSTART 1u

typedef struct lq_store_entry {
  char name[LQ_STORE_NAME_MAX + 1];
  uint8_t sha256[32];
  uint32_t start_block; /* first block of the blob */
  uint32_t flags;       /* LQ_STORE_AUTOSTART */
  uint32_t manifest_len;
  uint32_t wasm_len;
} lq_store_entry;

/* Reads both metadata regions and adopts the newest valid directory; formats an empty flash. */
int lq_store_mount(void);
/* Erases everything (factory reset) and writes an empty directory. */
int lq_store_format(void);
int lq_store_mounted(void);

int lq_store_count(void);
const lq_store_entry *lq_store_at(int index);
const lq_store_entry *lq_store_find(const char *name);

int lq_store_remove(const char *name);

/* Store-wide flags, committed atomically like everything else. */
#define LQ_STORE_FLAG_STARTING 1u /* set while autostart runs: a boot that never finished it */
uint32_t lq_store_flags(void);
int lq_store_set_flags(uint32_t flags);
int lq_store_set_autostart(const char *name, int on);

/* Bytes given to the store, and bytes a new blob could still use (whole free blocks). */
uint32_t lq_store_total(void);
uint32_t lq_store_free(void);
/* Human-readable reason of the last failure (e.g. "store full: 4096 bytes free, 9000 needed"). */
const char *lq_store_error(void);

/* Reads from an installed app's wasm bytes or manifest. */
int lq_store_read_wasm(const lq_store_entry *e, uint32_t offset, void *buf, uint32_t len);
int lq_store_read_manifest(const lq_store_entry *e, uint32_t offset, void *buf, uint32_t len);

/*
 * Uploads: begin allocates (compacting if needed) and writes the manifest; write appends wasm
 * bytes in order; commit makes the new app (replacing one of the same name) part of the store
 * with the given flags. Only one upload at a time; a new begin abandons the previous one
 * (its blocks are simply free again).
 */
int lq_store_upload_begin(const char *name, const uint8_t sha256[32], uint32_t wasm_len,
                          const char *manifest, uint32_t manifest_len);
int lq_store_upload_write(uint32_t offset, const void *data, uint32_t len);
/* The wasm bytes of the pending upload, for hashing and validation before commit. */
int lq_store_upload_read(uint32_t offset, void *buf, uint32_t len);
int lq_store_upload_commit(uint32_t flags);
int lq_store_upload_abort(void);
/* The upload in progress is recorded in the directory, so it survives a reboot: after mounting,
 * this returns 1 with its entry (name, sha256, sizes) and how many wasm bytes are already held,
 * and lq_store_upload_write/commit continue it. */
int lq_store_upload_pending(lq_store_entry *out, uint32_t *received);

#endif
