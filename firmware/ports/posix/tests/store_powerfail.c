/*
 * Power-fail test of the module store: runs a fixed sequence of installs, replacements,
 * configuration changes, removals, a compaction and a full-store error, cutting the power at
 * every single flash operation of it in turn. After each cut the store is remounted and must
 * hold exactly the state after the last operation that returned success, or the state after
 * the interrupted one (if its commit record landed), with every module's bytes intact; then it
 * must accept a new install. Exit status 0 and a summary line when every cut point recovered.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flash_sim.h"
#include "liquid_port.h"
#include "lq_sha256.h"
#include "lq_store.h"

/* The store kicks the watchdog during long flash work; there is none in this test. */
void lq_port_watchdog_kick(void) {}

#define FLASH_SIZE (64u * 1024u)
#define PAGE 256u
#define BLOCK 4096u
#define MAXA LQ_STORE_MAX_APPS

typedef struct app_model {
  char name[32];
  uint32_t size, seed;
  int autostart;
} app_model;

typedef struct state {
  int n;
  app_model a[MAXA];
  uint32_t flags; /* store-wide flags */
} state;

typedef enum { OP_INSTALL, OP_REMOVE, OP_AUTOSTART, OP_FLAGS, OP_PARTIAL, OP_RESUME } op_kind;
typedef struct op {
  op_kind kind;
  const char *name;
  uint32_t size, seed;
  int flag;
  int expect; /* expected result code */
} op;

/* Blocks: 2 metadata regions of 1 block, 14 data blocks of 4 KB. */
static const op SEQ[] = {
    {OP_INSTALL, "alpha", 3000, 1, 0, 0},
    {OP_INSTALL, "beta", 9000, 2, 1, 0},
    {OP_AUTOSTART, "alpha", 0, 0, 1, 0},
    {OP_INSTALL, "alpha", 3500, 3, 1, 0}, /* replace */
    {OP_INSTALL, "gamma", 4000, 4, 0, 0},
    {OP_INSTALL, "delta", 4000, 5, 0, 0},
    {OP_INSTALL, "eps", 4000, 6, 0, 0},
    {OP_INSTALL, "zeta", 4000, 7, 0, 0},
    {OP_INSTALL, "huge", 40000, 8, 0, LQ_STORE_ENOSPACE}, /* clear error, nothing lost */
    {OP_REMOVE, "beta", 0, 0, 0, 0},
    {OP_REMOVE, "delta", 0, 0, 0, 0},
    {OP_REMOVE, "zeta", 0, 0, 0, 0},
    {OP_INSTALL, "eta", 28000, 9, 1, 0}, /* 7 blocks: only fits after compaction */
    {OP_AUTOSTART, "gamma", 0, 0, 1, 0},
    {OP_FLAGS, "", 0, 0, 1, 0}, /* the boot guard's flag: set, then cleared */
    {OP_FLAGS, "", 0, 0, 0, 0},
    {OP_REMOVE, "alpha", 0, 0, 0, 0},
    {OP_PARTIAL, "iota", 9000, 11, 0, 0}, /* half an upload, then the device reboots */
    {OP_RESUME, "iota", 9000, 11, 1, 0},  /* ...and the upload continues where it was */
    {OP_INSTALL, "theta", 1000, 10, 0, 0},
};
#define NSEQ ((int)(sizeof SEQ / sizeof SEQ[0]))

static uint8_t buf[48 * 1024];
static uint32_t resumed_from;        /* wasm offset where the last OP_RESUME continued */
static uint32_t resumed_blob_offset; /* the same, from the start of the blob */

static void content(uint32_t seed, uint32_t size, uint8_t *out) {
  uint32_t x = seed * 2654435761u + 1, i;
  for (i = 0; i < size; i++) {
    x ^= x << 13; x ^= x >> 17; x ^= x << 5;
    out[i] = (uint8_t)x;
  }
}

static void manifest_of(const char *name, uint32_t seed, char *out, size_t cap) {
  snprintf(out, cap, "{\"liquid\":1,\"name\":\"%s\",\"seed\":%u}", name, (unsigned)seed);
}

static int do_install(const char *name, uint32_t size, uint32_t seed, int flags) {
  uint8_t sha[32];
  char man[128];
  lq_sha256 h;
  uint32_t off;
  int r;
  content(seed, size, buf);
  lq_sha256_init(&h);
  lq_sha256_update(&h, buf, size);
  lq_sha256_final(&h, sha);
  manifest_of(name, seed, man, sizeof man);
  r = lq_store_upload_begin(name, sha, size, man, (uint32_t)strlen(man));
  if (r) return r;
  for (off = 0; off < size; off += 700) {
    uint32_t n = size - off < 700 ? size - off : 700;
    r = lq_store_upload_write(off, buf + off, n);
    if (r) return r;
  }
  return lq_store_upload_commit(flags ? LQ_STORE_AUTOSTART : 0);
}

static void apply(state *s, const op *o) {
  int i;
  if (o->kind == OP_FLAGS) {
    s->flags = (uint32_t)o->flag;
    return;
  }
  if (o->kind == OP_PARTIAL) return; /* nothing visible */
  for (i = 0; i < s->n; i++)
    if (strcmp(s->a[i].name, o->name) == 0) break;
  if (o->kind == OP_INSTALL || o->kind == OP_RESUME) {
    if (i == s->n) s->n++;
    snprintf(s->a[i].name, sizeof s->a[i].name, "%s", o->name);
    s->a[i].size = o->size;
    s->a[i].seed = o->seed;
    s->a[i].autostart = o->flag;
  } else if (o->kind == OP_REMOVE) {
    if (i < s->n) {
      memmove(&s->a[i], &s->a[i + 1], sizeof(app_model) * (size_t)(s->n - i - 1));
      s->n--;
    }
  } else if (i < s->n) {
    s->a[i].autostart = o->flag;
  }
}

static uint8_t sha_of(uint32_t seed, uint32_t size, uint8_t out[32]) {
  lq_sha256 h;
  content(seed, size, buf);
  lq_sha256_init(&h);
  lq_sha256_update(&h, buf, size);
  lq_sha256_final(&h, out);
  return out[0];
}

/* Begins an upload and writes its first half. */
static int do_partial(const char *name, uint32_t size, uint32_t seed) {
  uint8_t sha[32];
  char man[128];
  uint32_t off;
  int r;
  sha_of(seed, size, sha);
  manifest_of(name, seed, man, sizeof man);
  r = lq_store_upload_begin(name, sha, size, man, (uint32_t)strlen(man));
  for (off = 0; r == 0 && off < size / 2; off += 700)
    r = lq_store_upload_write(off, buf + off, off + 700 <= size / 2 ? 700 : size / 2 - off);
  return r;
}

/* Reboots (remounts), finds the upload in the store and finishes it. */
static int do_resume(const char *name, uint32_t size, uint32_t seed, int flags) {
  uint8_t sha[32];
  lq_store_entry pend;
  uint32_t held, off;
  int r = lq_store_mount();
  if (r) return r;
  sha_of(seed, size, sha);
  if (!lq_store_upload_pending(&pend, &held)) return lq_store_mounted() ? -100 : LQ_STORE_EIO;
  if (strcmp(pend.name, name) || memcmp(pend.sha256, sha, 32) || held > size / 2) return -101;
  resumed_from = held;
  resumed_blob_offset = held + pend.manifest_len;
  for (off = held; off < size; off += 700) {
    r = lq_store_upload_write(off, buf + off, size - off < 700 ? size - off : 700);
    if (r) return r;
  }
  return lq_store_upload_commit(flags ? LQ_STORE_AUTOSTART : 0);
}

static int run_op(const op *o) {
  if (o->kind == OP_INSTALL) return do_install(o->name, o->size, o->seed, o->flag);
  if (o->kind == OP_PARTIAL) return do_partial(o->name, o->size, o->seed);
  if (o->kind == OP_RESUME) return do_resume(o->name, o->size, o->seed, o->flag);
  if (o->kind == OP_REMOVE) return lq_store_remove(o->name);
  if (o->kind == OP_FLAGS) return lq_store_set_flags((uint32_t)o->flag);
  return lq_store_set_autostart(o->name, o->flag);
}

/* Does the mounted store hold exactly state s, with intact bytes? */
static int matches(const state *s) {
  int i;
  if (lq_store_count() != s->n || lq_store_flags() != s->flags) return 0;
  for (i = 0; i < s->n; i++) {
    const lq_store_entry *e = lq_store_find(s->a[i].name);
    static uint8_t got[48 * 1024];
    char man[128], gotman[128];
    if (!e || e->wasm_len != s->a[i].size) return 0;
    if (((e->flags & LQ_STORE_AUTOSTART) != 0) != (s->a[i].autostart != 0)) return 0;
    content(s->a[i].seed, s->a[i].size, buf);
    if (lq_store_read_wasm(e, 0, got, e->wasm_len) != 0) return 0;
    if (memcmp(got, buf, e->wasm_len) != 0) return 0;
    manifest_of(s->a[i].name, s->a[i].seed, man, sizeof man);
    if (e->manifest_len != strlen(man) || e->manifest_len >= sizeof gotman) return 0;
    if (lq_store_read_manifest(e, 0, gotman, e->manifest_len) != 0) return 0;
    if (memcmp(gotman, man, e->manifest_len) != 0) return 0;
  }
  return 1;
}

int main(void) {
  state st;
  long total, cut;
  int i, failures = 0, torn_ops_seen = 0;
  /* Dry run: the whole sequence without a cut, checking each result, to count operations. */
  if (lq_flash_sim_open(NULL, FLASH_SIZE, PAGE, BLOCK) != 0 || lq_store_mount() != 0) {
    fprintf(stderr, "cannot set up the flash\n");
    return 1;
  }
  memset(&st, 0, sizeof st);
  for (i = 0; i < NSEQ; i++) {
    int r = run_op(&SEQ[i]);
    if (r != SEQ[i].expect) {
      fprintf(stderr, "dry run: op %d (%s) returned %d, expected %d: %s\n", i, SEQ[i].name, r,
              SEQ[i].expect, lq_store_error());
      return 1;
    }
    if (r == LQ_STORE_ENOSPACE) {
      if (!strstr(lq_store_error(), "store full")) {
        fprintf(stderr, "full-store error message unclear: %s\n", lq_store_error());
        return 1;
      }
      printf("full store reports: %s\n", lq_store_error());
    }
    if (r == 0) apply(&st, &SEQ[i]);
    if (SEQ[i].kind == OP_RESUME) {
      if (resumed_from == 0 || resumed_blob_offset % PAGE) {
        fprintf(stderr, "resume after a reboot started at %u: expected a page boundary > 0\n",
                (unsigned)resumed_from);
        return 1;
      }
      printf("upload resumed after a reboot at byte %u of %u\n", (unsigned)resumed_from,
             (unsigned)SEQ[i].size);
    }
    if (!matches(&st)) {
      fprintf(stderr, "dry run: state wrong after op %d\n", i);
      return 1;
    }
  }
  lq_store_mount();
  if (!matches(&st)) {
    fprintf(stderr, "dry run: state wrong after remount\n");
    return 1;
  }
  total = lq_flash_sim_ops();

  for (cut = 0; cut <= total; cut++) {
    state before, after;
    int interrupted = -1;
    lq_flash_sim_open(NULL, FLASH_SIZE, PAGE, BLOCK);
    lq_flash_sim_cut_after(cut);
    memset(&before, 0, sizeof before);
    if (lq_store_mount() != 0) {
      interrupted = -2; /* cut while formatting */
    } else {
      for (i = 0; i < NSEQ; i++) {
        int r = run_op(&SEQ[i]);
        if (r == LQ_STORE_EIO) {
          interrupted = i;
          break;
        }
        if (r == 0) apply(&before, &SEQ[i]);
      }
    }
    after = before;
    if (interrupted >= 0) apply(&after, &SEQ[interrupted]);
    if (interrupted != -1) torn_ops_seen++;
    lq_flash_sim_power_on();
    if (lq_store_mount() != 0 || !(matches(&before) || matches(&after))) {
      fprintf(stderr, "cut after %ld flash ops (during op %d): store did not recover\n", cut,
              interrupted);
      failures++;
      continue;
    }
    /* The recovered store must still take writes, and keep them across another reboot. */
    {
      state now = matches(&before) ? before : after;
      op extra = {OP_INSTALL, "after-cut", 2000, 99, 0, 0};
      int r = run_op(&extra);
      if (r == 0) apply(&now, &extra);
      if ((r != 0 && r != LQ_STORE_ENOSPACE) || lq_store_mount() != 0 || !matches(&now)) {
        fprintf(stderr, "cut after %ld: store unusable after recovery (%d: %s)\n", cut, r,
                lq_store_error());
        failures++;
      }
    }
  }
  lq_flash_sim_close();
  printf("store power-fail: %ld cut points tested, %d torn, %d failures\n", total + 1,
         torn_ops_seen, failures);
  return failures ? 1 : 0;
}
