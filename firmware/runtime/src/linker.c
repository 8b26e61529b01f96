/*
 * Run-time linking of libraries into apps (docs/linking.md). A library is a module in the
 * store whose manifest says "kind": "library"; an app imports its functions from the module
 * "NAME@RANGE". Linking happens while the app is instantiated, i.e. before any of its events
 * runs, so no host call ever waits for it. Each library instance belongs to one app: its HAL
 * calls find that app through the instance's user pointer (grants, handles), and since the
 * engine runs cross-instance calls inside the caller's interpreter loop, library code spends
 * the calling app's fuel and is suspended and resumed with it.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lq_hal.h"
#include "lq_hal_link.h"
#include "liquid_port.h"
#include "lq_linker.h"
#include "lq_runtime.h"
#include "lq_sha256.h"
#include "lq_store.h"

typedef struct lq_linked {
  lq_app *app;
  char name[LQ_STORE_NAME_MAX + 1]; /* the library's name (NAME) */
  char key[LQ_STORE_NAME_MAX + 1];  /* its store entry (NAME@MAJOR): what an install replaces */
  char version[24];
  lq_module *module;
  lq_instance *inst;
  uint32_t gen;      /* bumped at every hot swap: trampolines look their export up again */
  uint64_t stale_us; /* a new version was installed at this time (0: none) */
  /* A shared library's own static data: the region of the app's memory it was placed in, and
   * the env.__memory_base global holding its address (NULL: none). */
  uint32_t data_addr, data_size;
  int data_from_heap; /* the region was taken from the app's heap, not the top of its memory */
  lq_global *memory_base;
  /* A shared library's function table entries (ABI v2): the slots [table_base, table_base +
   * table_n) appended to the app's exported "table" for it, and the env.__table_base global
   * holding table_base (NULL: none). */
  uint32_t table_base, table_n;
  lq_global *table_base_g;
  int busy; /* a trampoline's call into it is running (calls nest: app -> library -> app -> ...) */
} lq_linked;

/* Trampoline calls running now, one inside the other (lazy_call). */
static int call_depth;

static lq_linked linked[LQ_LINKER_MAX];

/* Old versions of swapped libraries that have table entries, kept until an event of their app
 * that began after the swap: the swap may happen while the app's stack still holds frames of
 * the old version's code (the app called it through its table, and it called back into the
 * app, which called a trampoline of the same library). A library without table entries runs
 * only inside trampoline calls, which a swap never interrupts, and is freed at once.
 * Trampolines owned by retired[g] have owner LQ_LINKER_MAX + g. */
#ifndef LQ_LINKER_RETIRED_MAX
#define LQ_LINKER_RETIRED_MAX 2
#endif
static lq_linked retired[LQ_LINKER_RETIRED_MAX];
static uint64_t retired_ms[LQ_LINKER_RETIRED_MAX];
static char error_msg[200];
static char manifest_buf[2048];

/* snprintf that may cut long names short without the compiler objecting: messages are for
 * people, a truncated one is still useful. */
static void say(char *dst, size_t cap, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(dst, cap, fmt, ap);
  va_end(ap);
}

const char *lq_linker_error(void) { return error_msg; }
void lq_linker_clear_error(void) { error_msg[0] = 0; }

int lq_linker_is_library_import(const lq_import_info *im) {
  return memchr(im->module, '@', im->module_len) != NULL;
}

/* ---- semver ------------------------------------------------------------------------------ */

/* Parses up to three dot-separated numbers; missing or "x"/"*" parts are -1. Returns the
 * number of characters used, or -1. */
static int parse_partial(const char *s, size_t n, long v[3]) {
  size_t i = 0;
  int part;
  v[0] = v[1] = v[2] = -1;
  for (part = 0; part < 3; part++) {
    if (i >= n) break;
    if (s[i] == 'x' || s[i] == 'X' || s[i] == '*') {
      i++;
    } else if (s[i] >= '0' && s[i] <= '9') {
      long x = 0;
      while (i < n && s[i] >= '0' && s[i] <= '9') {
        x = x * 10 + (s[i] - '0');
        if (x > 1000000L) return -1;
        i++;
      }
      v[part] = x;
    } else {
      return -1;
    }
    if (i < n && s[i] == '.') i++;
    else break;
  }
  return (int)i;
}

static int cmp3(const long a[3], const long b[3]) {
  int k;
  for (k = 0; k < 3; k++)
    if (a[k] != b[k]) return a[k] < b[k] ? -1 : 1;
  return 0;
}

/* Is RANGE well formed ("*", or [^|~|>=] followed by 1 to 3 parts)? */
static int range_ok(const char *range, size_t n) {
  long r[3];
  size_t skip = 0;
  int used;
  if (n == 1 && range[0] == '*') return 1;
  if (n > 0 && (range[0] == '^' || range[0] == '~')) skip = 1;
  else if (n > 1 && range[0] == '>' && range[1] == '=') skip = 2;
  used = parse_partial(range + skip, n - skip, r);
  return used > 0 && (size_t)used == n - skip && r[0] >= 0;
}

int lq_semver_satisfies(const char *version, const char *range, size_t n) {
  long v[3], r[3], lo[3], hi[3];
  int k, used;
  char op = 0;
  if (parse_partial(version, strlen(version), v) < 0 || v[0] < 0 || v[1] < 0 || v[2] < 0) return 0;
  if (n == 1 && range[0] == '*') return 1;
  if (n > 0 && (range[0] == '^' || range[0] == '~')) op = range[0];
  else if (n > 1 && range[0] == '>' && range[1] == '=') op = '>';
  range += op == '>' ? 2 : op ? 1 : 0;
  n -= op == '>' ? 2 : op ? 1 : 0;
  used = parse_partial(range, n, r);
  if (used < 0 || (size_t)used != n || r[0] < 0) return 0;
  for (k = 0; k < 3; k++) lo[k] = r[k] < 0 ? 0 : r[k];
  if (op == '>') return cmp3(v, lo) >= 0;
  /* upper bound (exclusive) */
  if (op == '^') {
    hi[0] = lo[0] + 1, hi[1] = 0, hi[2] = 0;
    if (lo[0] == 0 && r[1] >= 0) { hi[0] = 0; hi[1] = lo[1] + 1; }
    if (lo[0] == 0 && lo[1] == 0 && r[2] >= 0) { hi[1] = 0; hi[2] = lo[2] + 1; }
  } else if (op == '~' || r[2] < 0) { /* ~1.2 / 1.2 / 1.2.x: same minor; ~1 / 1: same major */
    if (r[1] < 0) { hi[0] = lo[0] + 1; hi[1] = 0; hi[2] = 0; }
    else { hi[0] = lo[0]; hi[1] = lo[1] + 1; hi[2] = 0; }
  } else {
    return cmp3(v, lo) == 0; /* exact */
  }
  return cmp3(v, lo) >= 0 && cmp3(v, hi) < 0;
}

/* ---- linking ----------------------------------------------------------------------------- */

static int env_named(const lq_import_info *im, const char *name) {
  size_t n = strlen(name);
  return im->module_len == 3 && memcmp(im->module, "env", 3) == 0 && im->name_len == n && memcmp(im->name, name, n) == 0;
}

static int is_base_import(const lq_import_info *im, const char *name) {
  return im->type.kind == LQ_EXTERN_GLOBAL && im->type.valtype == LQ_I32 && !im->type.mutable_ && env_named(im, name);
}

/* What a shared-everything library takes from its app (ABI v2, docs/linking.md): 0 none,
 * else one of these. */
enum { APP_MEMORY = 1, APP_MEMORY_BASE, APP_TABLE, APP_TABLE_BASE, APP_ALLOC };

static int app_import_kind(const lq_import_info *im) {
  if (is_base_import(im, "__memory_base")) return APP_MEMORY_BASE; /* where its static data lies */
  if (is_base_import(im, "__table_base")) return APP_TABLE_BASE;   /* where its table slots start */
  if (im->type.kind == LQ_EXTERN_MEMORY && env_named(im, "memory")) return APP_MEMORY;
  if (im->type.kind == LQ_EXTERN_TABLE && env_named(im, "table")) return APP_TABLE;
  if (im->type.kind == LQ_EXTERN_FUNC &&
      (env_named(im, "__lq_alloc") || env_named(im, "__lq_realloc") || env_named(im, "__lq_free")))
    return APP_ALLOC;
  return 0;
}

int lq_linker_is_app_memory_import(const lq_import_info *im) { return app_import_kind(im) != 0; }

/* The env.__memory_base and env.__table_base globals of the library being instantiated
 * (link_library sets them). */
static lq_global *pending_memory_base, *pending_table_base;

/* The slot of the library being instantiated while its own library imports are bound to
 * trampolines (they belong to it: freed with it), -1 for an app's imports. */
static int pending_owner = -1;

/* The app's exported function table ("table"), NULL when it exports none. */
static lq_table *app_table(lq_app *app) {
  lq_extern ex;
  if (!app->inst || lq_instance_export(app->inst, "table", &ex) != LQ_OK || ex.kind != LQ_EXTERN_TABLE) return NULL;
  return ex.of.table;
}

/* A library's imports: the HAL, and for a shared-everything library the app's memory, table
 * and allocator, and where its static data and table slots lie in them. */
static lq_status resolve_for_library(void *user, const lq_import_info *im, lq_extern *out) {
  lq_app *app = (lq_app *)user;
  char fname[16];
  switch (app_import_kind(im)) {
  case APP_MEMORY_BASE:
  case APP_TABLE_BASE:
    out->kind = LQ_EXTERN_GLOBAL;
    out->of.global = app_import_kind(im) == APP_MEMORY_BASE ? pending_memory_base : pending_table_base;
    return out->of.global ? LQ_OK : LQ_ERROR;
  case APP_MEMORY:
    out->kind = LQ_EXTERN_MEMORY;
    out->of.memory = app->inst ? lq_instance_memory(app->inst) : NULL;
    return out->of.memory ? LQ_OK : LQ_ERROR;
  case APP_TABLE:
    out->kind = LQ_EXTERN_TABLE;
    out->of.table = app_table(app);
    return out->of.table ? LQ_OK : LQ_ERROR;
  case APP_ALLOC:
    memcpy(fname, im->name, im->name_len); /* at most "__lq_realloc" */
    fname[im->name_len] = 0;
    out->kind = LQ_EXTERN_FUNC;
    out->of.func = app->inst ? lq_instance_func(app->inst, fname) : NULL;
    return out->of.func ? LQ_OK : LQ_ERROR;
  default:
    /* a library importing a library: bound to a trampoline like an app's import */
    if (lq_linker_is_library_import(im)) return lq_linker_resolve(app, im, out);
    return lq_hal_link_resolve(im, out);
  }
}

/* Reads an unsigned LEB128 at *p (below end); -1 when malformed. */
static int read_leb(const uint8_t **p, const uint8_t *end, uint32_t *out) {
  uint32_t v = 0;
  int shift = 0;
  while (*p < end && shift < 35) {
    uint8_t b = *(*p)++;
    v |= (uint32_t)(b & 0x7f) << shift;
    if (!(b & 0x80)) {
      *out = v;
      return 0;
    }
    shift += 7;
  }
  return -1;
}

/* A u32 (little endian) custom section written by liquid build --library --shared:
 * "liquid.shared_data" (bytes of static data) or "liquid.shared_table" (table slots); 0 when
 * absent. The module was validated already, so a malformed walk only ends the search. */
static uint32_t shared_u32_section(const uint8_t *wasm, uint32_t len, const char *want) {
  const size_t want_len = strlen(want);
  const uint8_t *p = wasm + 8, *end = wasm + len;
  while (p < end) {
    uint8_t id = *p++;
    uint32_t size, name_len;
    const uint8_t *body;
    if (read_leb(&p, end, &size) != 0 || size > (uint32_t)(end - p)) return 0;
    body = p;
    p += size;
    if (id != 0 || read_leb(&body, p, &name_len) != 0 || name_len > (uint32_t)(p - body)) continue;
    if (name_len == want_len && memcmp(body, want, name_len) == 0 && p - (body + name_len) == 4) {
      body += name_len;
      return (uint32_t)body[0] | (uint32_t)body[1] << 8 | (uint32_t)body[2] << 16 | (uint32_t)body[3] << 24;
    }
  }
  return 0;
}

/* Reserves `size` bytes for a library's static data in `app`'s memory; returns the address, or
 * -1 when it does not fit. When the app's manifest names its heap pointer (AssemblyScript's
 * stub allocator bumps it upwards) the region is taken from the heap: the pointer is read,
 * aligned, advanced past the region and written back, so the app allocates above it. Otherwise
 * (or when the heap has no room below the memory's end) it goes at the top of the memory,
 * below the regions of the app's other libraries, where the app's allocator does not know
 * about it (docs/linking.md). *from_heap tells which. */
static int64_t reserve_shared_data(const lq_app *app, uint32_t size, int *from_heap) {
  lq_memory *mem = app->inst ? lq_instance_memory(app->inst) : NULL;
  uint32_t top = mem ? lq_memory_size(mem) : 0;
  lq_global *heap = app->inst && app->heap_pointer[0] ? lq_instance_global(app->inst, app->heap_pointer) : NULL;
  int i;
  *from_heap = 0;
  for (i = 0; i < LQ_LINKER_MAX; i++)
    if (linked[i].app == app && linked[i].memory_base && !linked[i].data_from_heap && linked[i].data_addr < top) top = linked[i].data_addr;
  if (heap && lq_global_get(heap).type == LQ_I32) {
    uint64_t at = ((uint64_t)lq_global_get(heap).of.i32 + 15) & ~(uint64_t)15;
    uint64_t end = at + (((uint64_t)size + 15) & ~(uint64_t)15);
    if (end <= top && lq_global_set(heap, lq_i32((int32_t)(uint32_t)end), NULL) == LQ_OK) {
      *from_heap = 1;
      return (int64_t)at;
    }
  }
  if (size > top) return -1;
  return (int64_t)((top - size) & ~(uint32_t)15);
}

/* Frees what a library slot holds (instance, module, its __memory_base and __table_base) and
 * clears it. Its slots in the app's table stay taken until the app stops (like its static
 * data region); while the app lives (`app_alive`: an unload or a swap, not the app's end,
 * which frees its instance and table first) they are emptied: they point at functions of the
 * instance freed here, and a call through one of them now traps ("uninitialized element")
 * instead of running freed code. */
static void free_lazies_of(const lq_app *app, int owner);

static void empty_table_slots(lq_linked *l) {
  lq_table *t = l->table_n ? app_table(l->app) : NULL;
  uint32_t k;
  for (k = 0; t && k < l->table_n; k++) lq_table_set(t, l->table_base + k, lq_ref(LQ_FUNCREF, NULL), NULL);
}

/* `owner`: the slot's index (LQ_LINKER_MAX + g for retired[g]), whose trampolines go too. */
static void free_slot(lq_linked *l, int owner, int app_alive) {
  if (app_alive) empty_table_slots(l);
  if (l->inst) lq_instance_free(l->inst);
  free_lazies_of(l->app, owner); /* the trampolines of its own library imports */
  if (l->module) lq_module_free(l->module);
  if (l->memory_base) lq_global_free(l->memory_base);
  if (l->table_base_g) lq_global_free(l->table_base_g);
  memset(l, 0, sizeof *l);
}

static int fail(const lq_import_info *im, const char *fmt, const char *detail) {
  char why[150];
  say(why, sizeof why, fmt, detail);
  say(error_msg, sizeof error_msg, "cannot link %.*s: %s", (int)im->module_len, im->module, why);
  return -1;
}

/* The stored library NAME with the highest version that satisfies RANGE, or NULL. Libraries
 * are stored as NAME@MAJOR (one entry per major version, docs/linking.md), so this looks at
 * every entry NAME@...; it reads their manifests into manifest_buf. */
static const lq_store_entry *find_library(const char *name, const char *range, size_t range_len) {
  const lq_store_entry *best = NULL;
  long bv[3] = {-1, -1, -1};
  size_t n = strlen(name);
  int i;
  for (i = 0; i < lq_store_count(); i++) {
    const lq_store_entry *e = lq_store_at(i);
    lq_json doc, v;
    char ver[24];
    long pv[3];
    if (strncmp(e->name, name, n) != 0 || e->name[n] != '@') continue;
    if (e->manifest_len >= sizeof manifest_buf || lq_store_read_manifest(e, 0, manifest_buf, e->manifest_len) != 0 ||
        lq_json_parse(manifest_buf, e->manifest_len, &doc) != 0 || lq_json_get(doc, "version", &v) != 0 ||
        lq_json_string(v, ver, sizeof ver) < 0 || !lq_semver_satisfies(ver, range, range_len) ||
        parse_partial(ver, strlen(ver), pv) < 0)
      continue;
    if (!best || cmp3(pv, bv) > 0) {
      best = e;
      memcpy(bv, pv, sizeof bv);
    }
  }
  return best;
}

/* Loads and instantiates library `name` for `app`: the store entry `key` (a hot swap stays on
 * the key it replaces), or with key NULL the best stored version for the import's range.
 * Returns the slot or -1 (error_msg set). */
static int link_library(lq_app *app, const lq_import_info *im, const char *name, size_t range_at, const char *key) {
  const lq_store_entry *e = key ? lq_store_find(key) : find_library(name, im->module + range_at, im->module_len - range_at);
  lq_json doc, v;
  char version[24], why[160];
  uint8_t digest[32];
  lq_sha256 h;
  lq_error err;
  lq_module *m = NULL;
  lq_instance *inst = NULL;
  uint32_t i, n, data_size, data_addr = 0, table_n, table_base = 0;
  int data_from_heap = 0, wants_table = 0;
  int slot;
  lq_table *table = NULL;
  lq_status st;
  uint64_t t0 = lq_port_time_us();
  size_t heap0 = lq_engine_heap_used();
  if (!e && !key) { /* say which versions the store holds instead, if any */
    size_t n = strlen(name);
    for (i = 0; i < (uint32_t)lq_store_count() && !e; i++) {
      const lq_store_entry *o = lq_store_at((int)i);
      if (strncmp(o->name, name, n) == 0 && o->name[n] == '@') e = o;
    }
    if (!e) return fail(im, "%s is not in this device's store", name);
  }
  if (!e) return fail(im, "%s is no longer in this device's store", key);
  if (e->manifest_len >= sizeof manifest_buf || e->wasm_len > LQ_MODULE_MAX ||
      lq_store_read_manifest(e, 0, manifest_buf, e->manifest_len) != 0 ||
      lq_store_read_wasm(e, 0, lq_module_buf, e->wasm_len) != 0)
    return fail(im, "cannot read %s from the store", name);
  if (lq_json_parse(manifest_buf, e->manifest_len, &doc) != 0 || lq_json_get(doc, "kind", &v) != 0 ||
      !lq_json_eq(v, "library"))
    return fail(im, "'%s' in the store is an app, not a library", name);
  if (lq_json_get(doc, "version", &v) != 0 || lq_json_string(v, version, sizeof version) < 0)
    return fail(im, "the manifest of %s has no version", name);
  if (!lq_semver_satisfies(version, im->module + range_at, im->module_len - range_at)) {
    snprintf(why, sizeof why, "%s %s is in the store, which does not match", name, version);
    return fail(im, "%s", why);
  }
  lq_sha256_init(&h);
  lq_sha256_update(&h, lq_module_buf, e->wasm_len);
  lq_sha256_final(&h, digest);
  if (memcmp(digest, e->sha256, 32) != 0) return fail(im, "the stored module of %s is damaged (sha256 mismatch)", name);
  for (slot = 0; slot < LQ_LINKER_MAX && linked[slot].app; slot++) {}
  if (slot == LQ_LINKER_MAX) return fail(im, "%s", "too many libraries loaded on this device");
  if (lq_module_load(lq_library_engine(), lq_module_buf, e->wasm_len, &m, &err) != LQ_OK)
    return fail(im, "invalid module: %s", err.message);
  n = lq_module_import_count(m);
  for (i = 0; i < n; i++) {
    lq_import_info li;
    uint32_t bit;
    lq_module_import(m, i, &li);
    switch (app_import_kind(&li)) { /* shared-everything: what it takes from the app */
    case 0: break;
    case APP_TABLE:
      wants_table = 1;
      if (app_table(app)) continue;
      lq_module_free(m);
      say(why, sizeof why, "it needs the app's function table, which app '%s' does not export (rebuild the app with this version of liquid build)",
               app->name);
      return fail(im, "%s", why);
    case APP_ALLOC:
      if (app->inst) {
        char fname[16];
        memcpy(fname, li.name, li.name_len);
        fname[li.name_len] = 0;
        if (lq_instance_func(app->inst, fname)) continue;
      }
      lq_module_free(m);
      say(why, sizeof why, "app '%s' does not share its allocator (no %.*s export; rebuild the app with this version of liquid build)", app->name,
          (int)li.name_len, li.name);
      return fail(im, "%s", why);
    default: continue;
    }
    if (lq_linker_is_library_import(&li)) {
      /* bound to a trampoline owned by the app, linked at its first call (a cycle traps
       * there, as a re-entrant call); only a library naming itself is refused now */
      const char *at = memchr(li.module, '@', li.module_len);
      if (!at || (size_t)(at - li.module) != strlen(name) || memcmp(li.module, name, strlen(name)) != 0) continue;
      lq_module_free(m);
      say(why, sizeof why, "%s %s imports itself (%.*s)", name, version, (int)li.module_len, li.module);
      return fail(im, "%s", why);
    }
    bit = lq_hal_link_check(&li, why, sizeof why);
    if (!bit || !(app->caps & bit)) {
      lq_module_free(m);
      if (bit) snprintf(why, sizeof why, "%s %s imports %.*s.%.*s, a capability app '%s' is not granted", name, version,
                        (int)li.module_len, li.module, (int)li.name_len, li.name, app->name);
      return fail(im, "%s", why);
    }
  }
  data_size = shared_u32_section(lq_module_buf, e->wasm_len, "liquid.shared_data");
  table_n = shared_u32_section(lq_module_buf, e->wasm_len, "liquid.shared_table");
  pending_memory_base = NULL;
  pending_table_base = NULL;
  if (table_n && !wants_table) {
    lq_module_free(m);
    return fail(im, "%s", "its liquid.shared_table section asks for table slots but it does not import env.table");
  }
  if (wants_table) {
    /* Its entries go in slots appended to the app's table; the old size is its __table_base.
     * The slots stay the app's until it stops, even if instantiation fails below. */
    table = app_table(app);
    if (lq_table_grow(table, table_n, lq_ref(LQ_FUNCREF, NULL), &table_base, &err) != LQ_OK ||
        lq_global_new(lq_app_engine(), lq_i32((int32_t)table_base), 0, &pending_table_base, &err) != LQ_OK) {
      lq_module_free(m);
      say(why, sizeof why, "cannot append %lu slots to app '%s''s function table: %s", (unsigned long)table_n, app->name, err.message);
      return fail(im, "%s", why);
    }
  }
  if (data_size) {
    int64_t at = reserve_shared_data(app, data_size, &data_from_heap);
    if (at < 0) {
      lq_module_free(m);
      snprintf(why, sizeof why, "%s %s has %lu bytes of static data, more than app '%s''s memory has free at its top", name, version,
               (unsigned long)data_size, app->name);
      return fail(im, "%s", why);
    }
    data_addr = (uint32_t)at;
    if (lq_global_new(lq_app_engine(), lq_i32((int32_t)data_addr), 0, &pending_memory_base, &err) != LQ_OK) {
      lq_module_free(m);
      if (pending_table_base) lq_global_free(pending_table_base);
      pending_table_base = NULL;
      return fail(im, "cannot place its static data: %s", err.message);
    }
  }
  pending_owner = slot;
  st = lq_instantiate(m, resolve_for_library, app, &inst, &err);
  pending_owner = -1;
  if (st != LQ_OK) {
    free_lazies_of(app, slot);
    /* a trap in its start function may have left its functions in the app's table */
    for (i = 0; table && i < table_n; i++) lq_table_set(table, table_base + i, lq_ref(LQ_FUNCREF, NULL), NULL);
    if (inst) lq_instance_free(inst);
    lq_module_free(m);
    if (pending_memory_base) lq_global_free(pending_memory_base);
    if (pending_table_base) lq_global_free(pending_table_base);
    pending_memory_base = pending_table_base = NULL;
    return fail(im, "instantiation failed: %s", err.message);
  }
  lq_instance_set_user(inst, app); /* its HAL calls act for the app */
  lq_log(LQ_LOG_INFO, app->name, "linked library %s %s in %lu us (engine heap +%lu bytes)", name, version,
         (unsigned long)(lq_port_time_us() - t0), (unsigned long)(lq_engine_heap_used() - heap0));
  linked[slot].app = app;
  snprintf(linked[slot].name, sizeof linked[slot].name, "%s", name);
  snprintf(linked[slot].key, sizeof linked[slot].key, "%s", e->name);
  snprintf(linked[slot].version, sizeof linked[slot].version, "%s", version);
  linked[slot].module = m;
  linked[slot].inst = inst;
  linked[slot].stale_us = 0;
  linked[slot].memory_base = pending_memory_base;
  linked[slot].data_addr = data_size ? data_addr : 0;
  linked[slot].data_from_heap = data_from_heap;
  linked[slot].data_size = data_size;
  linked[slot].table_base = table_base;
  linked[slot].table_n = table ? table_n : 0;
  linked[slot].table_base_g = pending_table_base;
  pending_memory_base = pending_table_base = NULL;
  return slot;
}

/* The slot of library `name` linked into `app`, linking it now if needed (-1: error_msg). */
static int find_or_link(lq_app *app, const lq_import_info *im, char *name) {
  const char *at = memchr(im->module, '@', im->module_len);
  size_t nlen = at ? (size_t)(at - im->module) : 0;
  int slot;
  if (nlen == 0 || nlen > LQ_STORE_NAME_MAX) return fail(im, "%s", "not a valid library name");
  memcpy(name, im->module, nlen);
  name[nlen] = 0;
  /* one instance per version the app's imports resolve to (tmp105@^1 and tmp105@^2 are two) */
  for (slot = 0; slot < LQ_LINKER_MAX; slot++)
    if (linked[slot].app == app && strcmp(linked[slot].name, name) == 0 &&
        lq_semver_satisfies(linked[slot].version, at + 1, im->module_len - nlen - 1))
      return slot;
  return link_library(app, im, name, nlen + 1, NULL);
}

static lq_func *export_of(int slot, const lq_import_info *im) {
  char fname[64];
  lq_func *f;
  const char *p, *r;
  if (im->name_len >= sizeof fname) return NULL;
  memcpy(fname, im->name, im->name_len);
  fname[im->name_len] = 0;
  f = lq_instance_func(linked[slot].inst, fname);
  if (!f) {
    fail(im, "the library does not export %s", fname);
    return NULL;
  }
  lq_func_type(f, &p, &r);
  if (strcmp(p, im->type.params) != 0 || strcmp(r, im->type.results) != 0) {
    fail(im, "the library exports %s with another type", fname);
    return NULL;
  }
  return f;
}

/* ---- fetches and lazy imports ------------------------------------------------------------ */

/* A library import that could not be linked when its app started: bound to a host function
 * that links it at the first call, from the store, where a FETCH may have put it by then. */
typedef struct lq_lazy {
  lq_app *app;
  char module[LQ_STORE_NAME_MAX + 26], name[48];
  char params[16], results[8];
  lq_func *stub;
  lq_func *target;
  int slot;
  int owner; /* the library slot whose import this is, -1: the app's */
  uint32_t gen;
} lq_lazy;

typedef struct lq_fetch {
  char module[LQ_STORE_NAME_MAX + 26]; /* NAME@RANGE */
  const lq_app *app; /* whose start asked for it (its start() waits for the answer) */
  int failed, answered;
  int sent; /* a host was connected when the FETCH event last went out */
  uint64_t requested_ms;
  char message[120];
} lq_fetch;

static lq_lazy lazies[LQ_LINKER_LAZY_MAX];

/* Handles of the explicit API (module.load / module.lookup). */
typedef struct lq_handle {
  lq_app *app;
  int slot;
} lq_handle;

typedef struct lq_fn_handle {
  lq_app *app;
  int module; /* index into handles */
  int slot;
  uint32_t gen;
  lq_func *func;
} lq_fn_handle;

static lq_handle handles[LQ_LINKER_MAX];
static lq_fn_handle fn_handles[LQ_LINKER_LAZY_MAX];

static lq_fetch fetches[LQ_LINKER_FETCH_MAX];

static lq_import_info lazy_import(const lq_lazy *lz) {
  lq_import_info im;
  memset(&im, 0, sizeof im);
  im.module = lz->module;
  im.module_len = (uint32_t)strlen(lz->module);
  im.name = lz->name;
  im.name_len = (uint32_t)strlen(lz->name);
  im.type.kind = LQ_EXTERN_FUNC;
  im.type.params = lz->params;
  im.type.results = lz->results;
  return im;
}

static lq_fetch *fetch_of(const char *module) {
  int i;
  for (i = 0; i < LQ_LINKER_FETCH_MAX; i++)
    if (fetches[i].module[0] && strcmp(fetches[i].module, module) == 0) return &fetches[i];
  return NULL;
}

/* Sends the FETCH event for `f` (docs/protocol.md) to the host connected now, if any. */
static void send_fetch(lq_fetch *f) {
  uint8_t body[2 + 2 * 64];
  const char *at = strchr(f->module, '@');
  size_t nlen = (size_t)(at - f->module), rlen = strlen(at + 1);
  f->sent = lq_protocol_connected();
  body[0] = (uint8_t)nlen;
  memcpy(body + 1, f->module, nlen);
  body[1 + nlen] = (uint8_t)rlen;
  memcpy(body + 2 + nlen, at + 1, rlen);
  lq_protocol_event(LQ_EVENT_FETCH, (const char *)body, 2 + nlen + rlen);
}

/* Asks the host (FETCH event, docs/protocol.md) for a library, once per NAME@RANGE until the
 * host answers it; a failed answer is remembered for the trap message. Without a host it is
 * asked for when one connects (lq_linker_host_connected). */
static void request_fetch(const char *module, const lq_app *app) {
  const char *at = strchr(module, '@');
  size_t nlen = (size_t)(at - module), rlen = strlen(at + 1);
  lq_fetch *f = fetch_of(module);
  int i;
  if (f && !f->failed && !f->answered) return; /* still waiting for the host */
  if (!f) {
    for (i = 0; i < LQ_LINKER_FETCH_MAX && fetches[i].module[0]; i++) {}
    if (i == LQ_LINKER_FETCH_MAX) i = 0; /* forget the oldest request */
    f = &fetches[i];
  }
  memset(f, 0, sizeof *f);
  snprintf(f->module, sizeof f->module, "%s", module);
  f->app = app;
  f->requested_ms = lq_port_time_us() / 1000u;
  if (nlen > 63 || rlen > 63) return;
  send_fetch(f);
  if (f->sent) lq_log(LQ_LOG_INFO, NULL, "fetching library %s from the host", module);
  else lq_log(LQ_LOG_INFO, NULL, "library %s is not on this device: asking the next host that connects", module);
}

void lq_linker_host_connected(void) {
  int i;
  /* a FETCH that went nowhere (no host) or to a host that left without answering */
  for (i = 0; i < LQ_LINKER_FETCH_MAX; i++)
    if (fetches[i].module[0] && !fetches[i].answered) {
      send_fetch(&fetches[i]);
      lq_log(LQ_LOG_INFO, NULL, "fetching library %s from the host that connected", fetches[i].module);
    }
}

void lq_linker_fetch_failed(const char *name, const char *range, const char *message) {
  char module[LQ_STORE_NAME_MAX + 26];
  lq_fetch *f;
  snprintf(module, sizeof module, "%s@%s", name, range);
  f = fetch_of(module);
  if (!f) return;
  f->failed = 1;
  f->answered = 1;
  snprintf(f->message, sizeof f->message, "%s", message);
  lq_log(LQ_LOG_WARN, NULL, "library %s could not be fetched: %s", module, message);
}

/* A free entry of `retired` for a version of `app`'s library, after freeing those of its
 * versions an event gone by no longer needs; -1 when all are taken. */
static void free_retired(const lq_app *app, int all);
static int retired_entry(const lq_app *app) {
  int g;
  free_retired(app, 0);
  for (g = 0; g < LQ_LINKER_RETIRED_MAX; g++)
    if (!retired[g].app) return g;
  return -1;
}

/* Moves a version with table entries out of its slot into retired[g] (see there), its table
 * slots emptied. */
static void retire(lq_linked *old, int g) {
  int from = (int)(old - linked), i;
  empty_table_slots(old);
  retired[g] = *old;
  retired_ms[g] = old->app->call_started_ms;
  for (i = 0; i < LQ_LINKER_LAZY_MAX; i++)
    if (lazies[i].app == old->app && lazies[i].owner == from) lazies[i].owner = LQ_LINKER_MAX + g;
  memset(old, 0, sizeof *old);
}

/* Frees the retired versions of `app`'s libraries once an event that began after their swap
 * runs (`all`: regardless, the app is stopping). */
static void free_retired(const lq_app *app, int all) {
  int g;
  for (g = 0; g < LQ_LINKER_RETIRED_MAX; g++)
    if (retired[g].app == app && (all || app->call_started_ms > retired_ms[g])) free_slot(&retired[g], LQ_LINKER_MAX + g, 0);
}

/* Replaces the library behind `lz` by the version now in the store, at the first call of an
 * event that began after that version was installed: every event sees one version only. If
 * the new version does not fit (range, exports, capabilities, invalid), the old one stays;
 * one with table entries also stays while no `retired` entry is free (it tries again at the
 * next call). */
static void hot_swap(lq_lazy *lz) {
  lq_linked *old = &linked[lz->slot];
  lq_import_info im = lazy_import(lz);
  const char *at = strchr(lz->module, '@');
  char from[24];
  int fresh, g = -1;
  if (old->table_n && (g = retired_entry(lz->app)) < 0) return;
  old->stale_us = 0;
  snprintf(from, sizeof from, "%s", old->version);
  fresh = link_library(lz->app, &im, old->name, (size_t)(at - lz->module) + 1, old->key);
  if (fresh < 0) {
    lq_log(LQ_LOG_WARN, lz->app->name, "kept library %s %s: %s", old->name, from, error_msg);
    return;
  }
  linked[fresh].gen = old->gen + 1;
  if (old->table_n) {
    retire(old, g);
  } else {
    free_slot(old, lz->slot, 1);
  }
  *old = linked[fresh];
  memset(&linked[fresh], 0, sizeof linked[fresh]);
  { /* the new version's own library imports move with it to the old slot */
    int i;
    for (i = 0; i < LQ_LINKER_LAZY_MAX; i++)
      if (lazies[i].app == lz->app && lazies[i].owner == fresh) lazies[i].owner = (int)(old - linked);
  }
  lq_log(LQ_LOG_INFO, lz->app->name, "hot-swapped library %s %s -> %s", old->name, from, old->version);
}

void lq_linker_library_installed(const char *key) {
  const char *at = strchr(key, '@');
  size_t n = at ? (size_t)(at - key) : strlen(key);
  int i;
  /* any version of NAME answers a FETCH of NAME@RANGE (one that does not fit traps at link) */
  for (i = 0; i < LQ_LINKER_FETCH_MAX; i++)
    if (strncmp(fetches[i].module, key, n) == 0 && fetches[i].module[n] == '@') fetches[i].answered = 1;
  /* only the apps on this key switch: installing tmp105@2 leaves those on tmp105@1 alone */
  for (i = 0; i < LQ_LINKER_MAX; i++)
    if (linked[i].app && strcmp(linked[i].key, key) == 0) linked[i].stale_us = lq_port_time_us();
}

static lq_status lazy_call(lq_instance *caller, void *user, const lq_value *args, lq_value *results) {
  lq_lazy *lz = (lq_lazy *)user;
  char name[LQ_STORE_NAME_MAX + 1], msg[LQ_MESSAGE_MAX];
  lq_error err;
  lq_status st;
  int slot;
  free_retired(lz->app, 0);
  if (lz->target && linked[lz->slot].busy) goto reentered; /* before a swap could free it */
  if (lz->target && linked[lz->slot].stale_us && (uint64_t)lz->app->call_started_ms * 1000u > linked[lz->slot].stale_us)
    hot_swap(lz);
  if (lz->target && lz->gen != linked[lz->slot].gen) { /* the library was swapped */
    lq_import_info im = lazy_import(lz);
    lz->target = export_of(lz->slot, &im);
    if (!lz->target) return lq_host_trap(caller, error_msg);
    lz->gen = linked[lz->slot].gen;
  }
  if (!lz->target) {
    lq_import_info im = lazy_import(lz);
    int slot = find_or_link(lz->app, &im, name);
    lq_func *f = slot >= 0 ? export_of(slot, &im) : NULL;
    if (!f) {
      const lq_fetch *fe = fetch_of(lz->module);
      if (fe && fe->failed) say(msg, sizeof msg, "cannot link %s: the host could not fetch it: %s", lz->module, fe->message);
      else if (fe && !fe->answered && !fe->sent)
        say(msg, sizeof msg, "%s (no host was connected to fetch it; it is asked for when one connects)", error_msg);
      else if (fe && !fe->answered) say(msg, sizeof msg, "%s (fetch requested from the host, no answer yet)", error_msg);
      else say(msg, sizeof msg, "%s", error_msg);
      return lq_host_trap(caller, msg);
    }
    lz->target = f;
    lz->slot = slot;
    lz->gen = linked[slot].gen;
  }
  if (linked[lz->slot].busy) goto reentered;
  if (call_depth >= LQ_LINKER_DEPTH_MAX) {
    say(msg, sizeof msg, "library %s: calls through libraries nested more than %d deep", lz->module, LQ_LINKER_DEPTH_MAX);
    return lq_host_trap(caller, msg);
  }
  /* A nested call on the library's own stack, with its own fuel: it cannot be suspended
   * with the app's slice, so it must finish within LQ_LINKER_CALL_FUEL. The library may call
   * back into the app (its allocator, a function of the app's table): that code runs on
   * the library's stack inside this call, on the app's memory and globals, and spends this
   * call's fuel. The engine allows one call per instance at a time, hence `busy`. */
  slot = lz->slot;
  lq_set_fuel(linked[slot].inst, LQ_LINKER_CALL_FUEL);
  linked[slot].busy = 1;
  call_depth++;
  st = lq_call(lz->target, args, (uint32_t)strlen(lz->params), results, (uint32_t)strlen(lz->results), &err);
  call_depth--;
  linked[slot].busy = 0;
  if (st == LQ_OK) return LQ_OK;
  if (st == LQ_SUSPENDED) {
    lq_abort(linked[lz->slot].inst);
    say(msg, sizeof msg, "library %s: call of %s did not finish within %lu fuel units", lz->module, lz->name,
             (unsigned long)LQ_LINKER_CALL_FUEL);
  } else {
    say(msg, sizeof msg, "in library %s: %s", lz->module, err.message);
  }
  return lq_host_trap(caller, msg);
reentered:
  say(msg, sizeof msg, "library %s: call of %s while the library is already running further up this call (re-entrant library calls are not supported)",
      lz->module, lz->name);
  return lq_host_trap(caller, msg);
}

/* Does the store hold a library NAME whose version satisfies RANGE? (manifests only) */
static int store_matches(const char *name, const char *range, size_t range_len) {
  return find_library(name, range, range_len) != NULL;
}

/* When an app starts, the libraries its libraries import (their manifests' "libraries",
 * transitively) are asked for too, so that start() waits for them like for its own: a
 * library's imports are otherwise only seen when it is instantiated, at its first call. A
 * breadth-first walk over at most LQ_LINKER_MAX names (a cycle ends it, nothing recurses). */
static void prefetch_imports_of(const char *first_key, const lq_app *app) {
  /* on the stack, not static: this runs once per app start, at a shallow depth, and static
   * bytes are taken from the engine arena on the MCU ports */
  char seen[LQ_LINKER_MAX][LQ_STORE_NAME_MAX + 1];
  char deps[LQ_LINKER_FETCH_MAX][LQ_STORE_NAME_MAX + 26];
  int nseen = 1, k, d, ndeps;
  snprintf(seen[0], sizeof seen[0], "%s", first_key); /* store keys (NAME@MAJOR) */
  for (k = 0; k < nseen; k++) {
    const lq_store_entry *e = lq_store_find(seen[k]);
    lq_json doc, libs, item, field;
    size_t pos = 0;
    ndeps = 0;
    if (!e || e->manifest_len >= sizeof manifest_buf || lq_store_read_manifest(e, 0, manifest_buf, e->manifest_len) != 0 ||
        lq_json_parse(manifest_buf, e->manifest_len, &doc) != 0 || lq_json_get(doc, "libraries", &libs) != 0 || lq_json_kind(libs) != '[')
      continue;
    /* collected first: checking the store below reuses manifest_buf */
    while (ndeps < LQ_LINKER_FETCH_MAX && lq_json_next(libs, &pos, NULL, &item) == 0) {
      char lib[LQ_STORE_NAME_MAX + 1], range[24];
      if (lq_json_get(item, "name", &field) != 0 || lq_json_string(field, lib, sizeof lib) <= 0 ||
          lq_json_get(item, "range", &field) != 0 || lq_json_string(field, range, sizeof range) <= 0)
        continue;
      snprintf(deps[ndeps++], sizeof deps[0], "%s@%s", lib, range);
    }
    for (d = 0; d < ndeps; d++) {
      char *at = strchr(deps[d], '@');
      const lq_store_entry *dep;
      int j;
      *at = 0;
      dep = find_library(deps[d], at + 1, strlen(at + 1));
      if (!dep) {
        *at = '@';
        request_fetch(deps[d], app);
        continue;
      }
      for (j = 0; j < nseen && strcmp(seen[j], dep->name) != 0; j++) {}
      if (j == nseen && nseen < LQ_LINKER_MAX) say(seen[nseen++], sizeof seen[0], "%s", dep->name);
    }
  }
}

int lq_linker_waiting(const lq_app *app, uint64_t now_ms) {
  int i;
  for (i = 0; i < LQ_LINKER_LAZY_MAX; i++) {
    const lq_fetch *f;
    if (lazies[i].app != app) continue;
    f = fetch_of(lazies[i].module);
    if (f && !f->answered && now_ms - f->requested_ms < LQ_LINKER_FETCH_WAIT_MS) return 1;
  }
  for (i = 0; i < LQ_LINKER_FETCH_MAX; i++) /* the libraries its libraries import */
    if (fetches[i].app == app && !fetches[i].answered && now_ms - fetches[i].requested_ms < LQ_LINKER_FETCH_WAIT_MS) return 1;
  return 0;
}

lq_status lq_linker_resolve(lq_app *app, const lq_import_info *im, lq_extern *out) {
  char name[LQ_STORE_NAME_MAX + 1];
  const lq_store_entry *best;
  int i;
  lq_lazy *lz;
  lq_error err;
  const char *at = memchr(im->module, '@', im->module_len);
  size_t nlen = at ? (size_t)(at - im->module) : 0;
  error_msg[0] = 0;
  if (nlen == 0 || nlen > LQ_STORE_NAME_MAX) {
    fail(im, "%s", "not a valid library name");
    return LQ_ERROR;
  }
  memcpy(name, im->module, nlen);
  name[nlen] = 0;
  best = find_library(name, im->module + nlen + 1, im->module_len - nlen - 1);
  if (!best) {
    char module[LQ_STORE_NAME_MAX + 26];
    if (im->module_len < sizeof module) {
      memcpy(module, im->module, im->module_len);
      module[im->module_len] = 0;
      request_fetch(module, app);
    }
  } else if (pending_owner < 0) {
    prefetch_imports_of(best->name, app);
  }
  /* Every library import is bound to a trampoline that links at the first call (and can be
   * re-pointed by a hot swap between two events). */
  /* Not linkable now: bind a trampoline that tries again at the first call, and ask the host
   * for the library if the store lacks it (or holds a version outside the range). */
  if (im->module_len >= sizeof lz->module || im->name_len >= sizeof lz->name || strlen(im->type.params) >= sizeof lz->params ||
      strlen(im->type.results) >= sizeof lz->results)
    return LQ_ERROR;
  for (i = 0; i < LQ_LINKER_LAZY_MAX && lazies[i].app; i++) {}
  if (i == LQ_LINKER_LAZY_MAX) {
    fail(im, "%s", "too many unresolved library imports on this device");
    return LQ_ERROR;
  }
  lz = &lazies[i];
  memset(lz, 0, sizeof *lz);
  memcpy(lz->module, im->module, im->module_len);
  memcpy(lz->name, im->name, im->name_len);
  strcpy(lz->params, im->type.params);
  strcpy(lz->results, im->type.results);
  if (lq_func_new_host(lq_app_engine(), lz->params, lz->results, lazy_call, lz, &lz->stub, &err) != LQ_OK) {
    fail(im, "%s", err.message);
    return LQ_ERROR;
  }
  lz->app = app;
  lz->owner = pending_owner;
  out->kind = LQ_EXTERN_FUNC;
  out->of.func = lz->stub;
  return LQ_OK;
}

static void free_lazies_of(const lq_app *app, int owner) {
  int i;
  for (i = 0; i < LQ_LINKER_LAZY_MAX; i++) {
    if (lazies[i].app != app || lazies[i].owner != owner) continue;
    lq_func_free(lazies[i].stub);
    memset(&lazies[i], 0, sizeof lazies[i]);
  }
}

static void release_handles(lq_app *app);

void lq_linker_release(lq_app *app) {
  int i;
  release_handles(app);
  free_retired(app, 1);
  for (i = 0; i < LQ_LINKER_FETCH_MAX; i++)
    if (fetches[i].app == app) fetches[i].app = NULL;
  for (i = 0; i < LQ_LINKER_LAZY_MAX; i++) {
    if (lazies[i].app != app) continue;
    lq_func_free(lazies[i].stub);
    memset(&lazies[i], 0, sizeof lazies[i]);
  }
  for (i = 0; i < LQ_LINKER_MAX; i++) {
    if (linked[i].app != app) continue;
    free_slot(&linked[i], i, 0);
  }
}

int lq_linker_snapshot_refused(const lq_app *app, char *msg, size_t cap) {
  int i;
  for (i = 0; i < LQ_LINKER_MAX; i++) {
    if (linked[i].app != app || !linked[i].table_n) continue;
    say(msg, cap,
        "cannot snapshot %s: its function table holds entries of shared library %s (function references cannot leave the device); unload the library first",
        app->name, linked[i].name);
    return 1;
  }
  return 0;
}

int lq_linker_count(const lq_app *app) {
  int i, n = 0;
  for (i = 0; i < LQ_LINKER_MAX; i++) n += linked[i].app == app;
  return n;
}

/* ---- explicit API: module.load / lookup / call / unload (hal/hal.json) -------------------- */

static lq_app *calling_app(lq_hal_call *call) {
  lq_app *app = call && call->instance ? (lq_app *)lq_instance_user(call->instance) : NULL;
  return app ? app : lq_current_app;
}

/* Frees library slot `slot` when neither a handle nor a linked trampoline still uses it. */
static void release_if_unused(int slot) {
  int i;
  for (i = 0; i < LQ_LINKER_MAX; i++)
    if (handles[i].app && handles[i].slot == slot) return;
  for (i = 0; i < LQ_LINKER_LAZY_MAX; i++)
    if (lazies[i].app && lazies[i].target && lazies[i].slot == slot) return;
  /* module.unload may be called from app code the library's table entry called back: such a
   * library retires (or, with no entry free, stays loaded until the app stops) */
  if (!linked[slot].table_n) {
    free_slot(&linked[slot], slot, 1);
  } else {
    int g = retired_entry(linked[slot].app);
    if (g >= 0) retire(&linked[slot], g);
  }
}

int32_t lq_hal_module_load(lq_hal_call *call, const uint8_t *name, uint32_t name_len, const uint8_t *range,
                           uint32_t range_len) {
  lq_app *app = calling_app(call);
  char module[LQ_STORE_NAME_MAX + 26], lib[LQ_STORE_NAME_MAX + 1];
  lq_import_info im;
  int slot, h;
  if (app) free_retired(app, 0);
  if (!app || name_len == 0 || name_len > LQ_STORE_NAME_MAX || range_len == 0 || name_len + 1 + range_len >= sizeof module ||
      memchr(name, '@', name_len))
    return LQ_HAL_EINVAL;
  memcpy(module, name, name_len);
  module[name_len] = '@';
  memcpy(module + name_len + 1, range, range_len);
  module[name_len + 1 + range_len] = 0;
  if (!range_ok(module + name_len + 1, range_len)) return LQ_HAL_EINVAL;
  for (h = 0; h < LQ_LINKER_MAX && handles[h].app; h++) {}
  if (h == LQ_LINKER_MAX) return LQ_HAL_EBUSY;
  memcpy(lib, name, name_len);
  lib[name_len] = 0;
  if (!store_matches(lib, module + name_len + 1, range_len)) {
    request_fetch(module, NULL);
    return LQ_HAL_ENOENT;
  }
  memset(&im, 0, sizeof im);
  im.module = module;
  im.module_len = (uint32_t)strlen(module);
  im.name = "";
  slot = find_or_link(app, &im, lib);
  if (slot < 0) {
    lq_log(LQ_LOG_WARN, app->name, "module.load: %s", error_msg);
    return strstr(error_msg, "too many") ? LQ_HAL_EBUSY : LQ_HAL_EINVAL;
  }
  handles[h].app = app;
  handles[h].slot = slot;
  return h;
}

int32_t lq_hal_module_lookup(lq_hal_call *call, int32_t module, const uint8_t *name, uint32_t name_len) {
  lq_app *app = calling_app(call);
  char fname[64];
  const char *p, *r;
  lq_func *f;
  int i;
  if (module < 0 || module >= LQ_LINKER_MAX || !app || handles[module].app != app) return LQ_HAL_EINVAL;
  if (name_len == 0 || name_len >= sizeof fname) return LQ_HAL_ENOENT;
  memcpy(fname, name, name_len);
  fname[name_len] = 0;
  f = lq_instance_func(linked[handles[module].slot].inst, fname);
  if (!f) return LQ_HAL_ENOENT;
  lq_func_type(f, &p, &r);
  if (strcmp(p, "ii") != 0 || strcmp(r, "i") != 0) return LQ_HAL_EINVAL;
  for (i = 0; i < LQ_LINKER_LAZY_MAX && fn_handles[i].app; i++) {}
  if (i == LQ_LINKER_LAZY_MAX) return LQ_HAL_EBUSY;
  fn_handles[i].app = app;
  fn_handles[i].module = module;
  fn_handles[i].slot = handles[module].slot;
  fn_handles[i].gen = linked[handles[module].slot].gen;
  fn_handles[i].func = f;
  return i;
}

int32_t lq_hal_module_call(lq_hal_call *call, int32_t fn, int32_t a, int32_t b, uint8_t *out, uint32_t out_len) {
  lq_app *app = calling_app(call);
  lq_fn_handle *fh;
  lq_value args[2], result;
  lq_error err;
  lq_status st;
  uint32_t v;
  if (fn < 0 || fn >= LQ_LINKER_LAZY_MAX || !app || fn_handles[fn].app != app) return LQ_HAL_EINVAL;
  fh = &fn_handles[fn];
  if (handles[fh->module].app != app || handles[fh->module].slot != fh->slot || linked[fh->slot].gen != fh->gen)
    return LQ_HAL_EINVAL;
  if (out_len < 4) return LQ_HAL_ENOSPC;
  args[0] = lq_i32(a);
  args[1] = lq_i32(b);
  lq_set_fuel(linked[fh->slot].inst, LQ_LINKER_CALL_FUEL);
  st = lq_call(fh->func, args, 2, &result, 1, &err);
  if (st != LQ_OK) {
    if (st == LQ_SUSPENDED) lq_abort(linked[fh->slot].inst);
    lq_log(LQ_LOG_WARN, app->name, "module.call into %s: %s", linked[fh->slot].name,
           st == LQ_SUSPENDED ? "did not finish within its fuel" : err.message);
    return LQ_HAL_EIO;
  }
  v = result.of.i32;
  out[0] = (uint8_t)v;
  out[1] = (uint8_t)(v >> 8);
  out[2] = (uint8_t)(v >> 16);
  out[3] = (uint8_t)(v >> 24);
  return LQ_HAL_OK;
}

int32_t lq_hal_module_unload(lq_hal_call *call, int32_t module) {
  lq_app *app = calling_app(call);
  int slot, i;
  if (module < 0 || module >= LQ_LINKER_MAX || !app || handles[module].app != app) return LQ_HAL_EINVAL;
  slot = handles[module].slot;
  memset(&handles[module], 0, sizeof handles[module]);
  for (i = 0; i < LQ_LINKER_LAZY_MAX; i++)
    if (fn_handles[i].app == app && fn_handles[i].module == module) memset(&fn_handles[i], 0, sizeof fn_handles[i]);
  release_if_unused(slot);
  return LQ_HAL_OK;
}

static void release_handles(lq_app *app) {
  int i;
  for (i = 0; i < LQ_LINKER_MAX; i++)
    if (handles[i].app == app) memset(&handles[i], 0, sizeof handles[i]);
  for (i = 0; i < LQ_LINKER_LAZY_MAX; i++)
    if (fn_handles[i].app == app) memset(&fn_handles[i], 0, sizeof fn_handles[i]);
}
