/*
 * App lifecycle and the scheduler: every running app is an engine instance with its own
 * memory; events (start, timers, pin edges, messages) are queued per app and delivered one at a
 * time, in fuel slices, round robin, so that an app stuck in a loop cannot starve the others
 * or the protocol. A trap stops only the app that trapped.
 */
#include <stdio.h>
#include <string.h>

#include "liquid_port.h"
#include "lq_app.h"
#include "lq_hal_link.h"
#include "lq_linker.h"
#include "lq_sha256.h"
#include "lq_store.h"

#ifndef LQ_SLICE_FUEL
#define LQ_SLICE_FUEL 20000u /* fuel units per slice: a few hundred us of wasm */
#endif
/* Per-instance engine stacks; a port with little RAM (256 KiB MCUs) lowers them with -D. */
#ifndef LQ_VALUE_STACK_SLOTS
#define LQ_VALUE_STACK_SLOTS 8192u /* 8-byte slots: 64 KiB per app */
#endif
#ifndef LQ_CALL_DEPTH
#define LQ_CALL_DEPTH 1000u
#endif
#ifndef LQ_CALL_BUDGET_MS
#define LQ_CALL_BUDGET_MS 2000u /* an entry point still running after this is stopped */
#endif
/* A module's start function (AssemblyScript's top-level code) runs inside instantiation,
 * which cannot be sliced: it gets one bounded budget instead, so an endless loop there fails
 * the start with "start function ran out of fuel" rather than hanging the device. */
#ifndef LQ_START_FUEL
#define LQ_START_FUEL 10000000u
#endif
uint32_t lq_start_fuel = LQ_START_FUEL;
#ifndef LQ_FREEZE_HOLD_MS
/* How long an app stays held after a SNAPSHOT answered EBUSY: a host retrying keeps it held,
 * one that gave up lets it run on. */
#define LQ_FREEZE_HOLD_MS 1000u
#endif
#define MSG_SLOTS 16
#define MSG_MAX 256

uint8_t lq_module_buf[LQ_MODULE_MAX];
char lq_scratch[LQ_SCRATCH_SIZE];
#ifdef LQ_ARENA_FROM_LINKER
/* The port's linker script gives the engine all RAM left between the static data and the
 * stack (__lq_arena_start/__lq_arena_end), so the arena follows the runtime's own statics
 * instead of a size tuned by hand (the Cortex-M ports do this). */
extern uint8_t __lq_arena_start[], __lq_arena_end[];
#define ARENA_BASE __lq_arena_start
#define ARENA_BYTES ((size_t)(__lq_arena_end - __lq_arena_start))
#else
static uint8_t arena_mem[LQ_RUNTIME_ARENA_SIZE] __attribute__((aligned(16)));
#define ARENA_BASE arena_mem
#define ARENA_BYTES sizeof arena_mem
#endif
static lq_arena arena;
static lq_engine *engine;
static lq_app apps[LQ_MAX_APPS];
static int rr; /* round-robin start */
lq_app *lq_current_app;

/* apps that trapped, with their error, until started again or removed */
static struct {
  char name[32];
  char error[LQ_MESSAGE_MAX + 32];
} trapped[LQ_STORE_MAX_APPS];

static struct {
  int refs;
  char topic[LQ_TOPIC_MAX];
  uint8_t data[MSG_MAX];
  uint32_t len;
} msgs[MSG_SLOTS];
static int msg_current = -1;

static const char *EV_NAMES[] = {"start", "on_timer", "on_pin", "on_message", "on_migrate_out", "on_migrate_in"};

/* ---- engine ------------------------------------------------------------------------------ */

size_t lq_engine_heap_used(void) { return engine ? arena.used : 0; }
lq_engine *lq_app_engine(void) { return engine; }
/* Libraries' modules are loaded with a second engine on the same arena whose only difference
 * is smaller per-instance stacks (LQ_LIBRARY_STACK_SLOTS, lq_linker.h). */
static lq_engine *library_engine;
lq_engine *lq_library_engine(void) { return library_engine; }
size_t lq_engine_heap_size(void) { return ARENA_BYTES; }

static int engine_up(void) {
  lq_config cfg;
  lq_error err;
  if (engine) return 0;
  memset(&cfg, 0, sizeof cfg);
  lq_arena_init(&arena, ARENA_BASE, ARENA_BYTES);
  cfg.alloc = lq_arena_alloc;
  cfg.alloc_user = &arena;
  cfg.limits.max_module_size = LQ_MODULE_MAX;
  cfg.limits.max_memory_pages = lq_app_max_pages();
  cfg.limits.max_table_size = 4096;
  cfg.limits.value_stack_slots = LQ_VALUE_STACK_SLOTS;
  cfg.limits.call_depth = LQ_CALL_DEPTH;
  cfg.limits.start_fuel = lq_start_fuel;
  if (lq_engine_new(&cfg, &engine, &err) != LQ_OK) {
    lq_log(LQ_LOG_ERROR, NULL, "engine: %s", err.message);
    return -1;
  }
  cfg.limits.value_stack_slots = LQ_LIBRARY_STACK_SLOTS;
  cfg.limits.call_depth = LQ_LIBRARY_CALL_DEPTH;
  if (lq_engine_new(&cfg, &library_engine, &err) != LQ_OK) {
    lq_log(LQ_LOG_ERROR, NULL, "engine: %s", err.message);
    return -1;
  }
  if (lq_hal_link_init(engine) != 0) {
    lq_log(LQ_LOG_ERROR, NULL, "engine: cannot create the HAL host functions");
    return -1;
  }
  return 0;
}

/* ---- state bookkeeping ------------------------------------------------------------------- */

static lq_app *find_app(const char *name) {
  int i;
  for (i = 0; i < LQ_MAX_APPS; i++)
    if (apps[i].used && !strcmp(apps[i].name, name)) return &apps[i];
  return NULL;
}

static int trapped_index(const char *name) {
  int i;
  for (i = 0; i < LQ_STORE_MAX_APPS; i++)
    if (trapped[i].name[0] && !strcmp(trapped[i].name, name)) return i;
  return -1;
}

static void clear_trapped(const char *name) {
  int i = trapped_index(name);
  if (i >= 0) trapped[i].name[0] = 0;
}

int lq_apps_state(const char *name, const char **error) {
  int i;
  lq_app *app = find_app(name);
  *error = NULL;
  if (app) return app->paused ? LQ_APP_STOPPED : LQ_APP_RUNNING;
  i = trapped_index(name);
  if (i >= 0) {
    *error = trapped[i].error;
    return LQ_APP_TRAPPED;
  }
  return LQ_APP_STOPPED;
}

void lq_report_app_state(const char *name, const char *state, const char *error) {
  char json[400], qn[80], qe[300], trace[400];
  size_t n;
  lq_json_quote(name, strlen(name), qn, sizeof qn);
  if (error) {
    lq_json_quote(error, strlen(error), qe, sizeof qe);
    n = (size_t)snprintf(json, sizeof json, "{\"name\":%s,\"state\":\"%s\",\"error\":%s}", qn, state, qe);
  } else {
    n = (size_t)snprintf(json, sizeof json, "{\"name\":%s,\"state\":\"%s\"}", qn, state);
  }
  if (n < sizeof json) lq_protocol_event(0x81, json, n);
  snprintf(trace, sizeof trace, "app %llu %s %s%s%s", (unsigned long long)lq_now_ms(), name, state,
           error ? ": " : "", error ? error : "");
  lq_port_trace(trace);
  if (error) lq_log(LQ_LOG_ERROR, NULL, "app '%s' %s: %s", name, state, error);
  else lq_log(LQ_LOG_INFO, NULL, "app '%s' %s", name, state);
}

static void release_messages(lq_app *app) {
  int i;
  for (i = 0; i < app->q_len; i++) {
    lq_event *ev = &app->queue[(app->q_head + i) % LQ_APP_QUEUE];
    if (ev->kind == EV_MESSAGE && ev->msg >= 0) msgs[ev->msg].refs--;
  }
  if (app->calling && app->current.kind == EV_MESSAGE && app->current.msg >= 0)
    msgs[app->current.msg].refs--;
}

static void free_app(lq_app *app) {
  int i;
  release_messages(app);
  for (i = 0; i < app->npins_open; i++)
    if (app->watches[i].active) lq_port_gpio_notify(lq_the_board.pins[app->pin_of[i]].port_pin, 0);
  if (app->inst && app->calling) lq_abort(app->inst); /* stopped in the middle of a sliced call */
  if (app->inst) lq_instance_free(app->inst);
  lq_linker_release(app); /* its libraries' instances, after the app's that calls them */
  if (app->module) lq_module_free(app->module);
  if (lq_current_app == app) lq_current_app = NULL;
  memset(app, 0, sizeof *app);
}

static void trap_app(lq_app *app, const char *where, const char *message) {
  char name[32];
  int i;
  memcpy(name, app->name, sizeof name);
  for (i = 0; i < LQ_STORE_MAX_APPS && trapped[i].name[0]; i++) {}
  if (i == LQ_STORE_MAX_APPS) i = 0;
  memcpy(trapped[i].name, name, sizeof name);
  snprintf(trapped[i].error, sizeof trapped[i].error, "%s: %s", where, message);
  free_app(app);
  lq_report_app_state(name, "trapped", trapped[i].error);
}

/* ---- validation and start ---------------------------------------------------------------- */

static int check_entry(lq_module *m, const char *name, const char *params, char *msg, size_t cap) {
  uint32_t i, n = lq_module_export_count(m);
  for (i = 0; i < n; i++) {
    lq_export_info ex;
    if (lq_module_export(m, i, &ex) != LQ_OK || strcmp(ex.name, name) != 0) continue;
    if (ex.type.kind != LQ_EXTERN_FUNC || strcmp(ex.type.params, params) != 0 ||
        ex.type.results[0] != 0) {
      snprintf(msg, cap, "entry point '%s' must be a function (%s) with no results", name,
               params[0] ? (params[1] ? "i32, i32" : "i32") : "no parameters");
      return -1;
    }
  }
  return 0;
}

/* Checks a loaded module against the HAL and its manifest's grants. */
static int check_module(lq_module *m, const lq_app *grants, char *msg, size_t cap) {
  uint32_t i, n = lq_module_import_count(m);
  for (i = 0; i < n; i++) {
    lq_import_info im;
    uint32_t bit;
    lq_module_import(m, i, &im);
    if (lq_linker_is_app_memory_import(&im)) continue; /* a shared-everything library (linker.c) */
    if (im.type.kind != LQ_EXTERN_FUNC) {
      snprintf(msg, cap, "import %.*s.%.*s: only functions can be imported", (int)im.module_len,
               im.module, (int)im.name_len, im.name);
      return -1;
    }
    if (lq_linker_is_library_import(&im)) continue; /* linked at start (linker.c) */
    bit = lq_hal_link_check(&im, msg, cap);
    if (!bit) return -1;
    if (!(grants->caps & bit)) {
      snprintf(msg, cap, "module imports %.*s.%.*s but its manifest does not grant capability '%.*s'",
               (int)im.module_len, im.module, (int)im.name_len, im.name, (int)im.module_len,
               im.module);
      return -1;
    }
  }
  if (grants->max_pages > lq_app_max_pages()) {
    snprintf(msg, cap, "app wants up to %lu pages (64 KiB each) of memory; this device gives an app at most %lu",
             (unsigned long)grants->max_pages, (unsigned long)lq_app_max_pages());
    return -1;
  }
  n = lq_module_export_count(m);
  for (i = 0; i < n; i++) {
    lq_export_info ex;
    if (lq_module_export(m, i, &ex) != LQ_OK || ex.type.kind != LQ_EXTERN_MEMORY) continue;
    if (ex.type.min > lq_app_max_pages() || (grants->max_pages && ex.type.min > grants->max_pages)) {
      snprintf(msg, cap, "module needs %lu pages of memory at start; %s allows %lu",
               (unsigned long)ex.type.min, grants->max_pages ? "its manifest" : "this device",
               (unsigned long)(grants->max_pages ? grants->max_pages : lq_app_max_pages()));
      return -1;
    }
  }
  if (check_entry(m, "start", "", msg, cap) || check_entry(m, "on_timer", "i", msg, cap) ||
      check_entry(m, "on_pin", "ii", msg, cap) || check_entry(m, "on_message", "ii", msg, cap) ||
      check_entry(m, "on_migrate_out", "", msg, cap) || check_entry(m, "on_migrate_in", "", msg, cap))
    return -1;
  return 0;
}

/* A free app slot for `name`, cleared and marked used (start and restore both begin here);
 * 0, or a protocol status with the message in `msg`. */
static int claim_slot(const char *name, lq_app **out, char *msg, size_t cap) {
  int i;
  if (engine_up() != 0) {
    snprintf(msg, cap, "the engine could not start");
    return LQ_P_EINTERNAL;
  }
  for (i = 0; i < LQ_MAX_APPS; i++) {
    if (!apps[i].used) {
      memset(&apps[i], 0, sizeof apps[i]);
      apps[i].used = 1;
      clear_trapped(name);
      *out = &apps[i];
      return 0;
    }
  }
  snprintf(msg, cap, "too many apps running (at most %d)", LQ_MAX_APPS);
  return LQ_P_EBUSY;
}

int lq_apps_validate(const uint8_t *wasm, uint32_t len, const char *manifest, uint32_t mlen,
                     char *msg, size_t cap) {
  static lq_app scratch;
  lq_module *m;
  lq_error err;
  int rc;
  if (engine_up() != 0) {
    snprintf(msg, cap, "the engine could not start");
    return -1;
  }
  memset(&scratch, 0, sizeof scratch);
  if (lq_app_grants_parse(&scratch, manifest, mlen, msg, cap) != 0) return -1;
  if (lq_module_load(engine, wasm, len, &m, &err) != LQ_OK) {
    snprintf(msg, cap, "invalid module: %s", err.message);
    return -1;
  }
  rc = check_module(m, &scratch, msg, cap);
  lq_module_free(m);
  return rc;
}

static lq_status resolve(void *user, const lq_import_info *im, lq_extern *out) {
  (void)user;
  if (lq_linker_is_library_import(im)) return lq_linker_resolve(lq_current_app, im, out);
  return lq_hal_link_resolve(im, out);
}

static int load_app(lq_app *app, const lq_store_entry *e, char *msg, size_t cap) {
  char *manifest = lq_scratch;
  uint8_t digest[32];
  lq_sha256 h;
  lq_error err;
  lq_status st;
  if (e->wasm_len > LQ_MODULE_MAX || e->manifest_len >= LQ_SCRATCH_SIZE ||
      lq_store_read_wasm(e, 0, lq_module_buf, e->wasm_len) != 0 ||
      lq_store_read_manifest(e, 0, manifest, e->manifest_len) != 0) {
    snprintf(msg, cap, "cannot read app '%s' from the store", e->name);
    return LQ_P_EINTERNAL;
  }
  lq_sha256_init(&h);
  lq_sha256_update(&h, lq_module_buf, e->wasm_len);
  lq_sha256_final(&h, digest);
  if (memcmp(digest, e->sha256, 32) != 0) {
    snprintf(msg, cap, "stored module of '%s' is damaged (sha256 mismatch)", e->name);
    return LQ_P_EINVALID;
  }
  snprintf(app->name, sizeof app->name, "%s", e->name);
  if (lq_app_grants_parse(app, manifest, e->manifest_len, msg, cap) != 0) return LQ_P_EINVALID;
  if (lq_module_load(engine, lq_module_buf, e->wasm_len, &app->module, &err) != LQ_OK) {
    snprintf(msg, cap, "invalid module: %s", err.message);
    return LQ_P_EINVALID;
  }
  if (check_module(app->module, app, msg, cap) != 0) return LQ_P_EINVALID;
  lq_current_app = app;
  lq_linker_clear_error();
  st = lq_instantiate(app->module, resolve, NULL, &app->inst, &err);
  lq_current_app = NULL;
  if (st != LQ_OK) {
    /* a trap in the start section still hands back the instance: it must be freed */
    if (st == LQ_TRAP && app->inst) lq_instance_free(app->inst);
    app->inst = NULL;
    lq_linker_release(app);
    snprintf(msg, cap, "%s", st == LQ_ERROR && lq_linker_error()[0] ? lq_linker_error() : err.message);
    return st == LQ_TRAP ? -1 : LQ_P_EINVALID; /* -1: trapped while initialising */
  }
  lq_instance_set_user(app->inst, app);
  app->f_start = lq_instance_func(app->inst, "start");
  app->f_timer = lq_instance_func(app->inst, "on_timer");
  app->f_pin = lq_instance_func(app->inst, "on_pin");
  app->f_message = lq_instance_func(app->inst, "on_message");
  app->f_migrate_out = lq_instance_func(app->inst, "on_migrate_out");
  app->f_migrate_in = lq_instance_func(app->inst, "on_migrate_in");
  return 0;
}

int lq_apps_start(const char *name, char *msg, size_t cap) {
  const lq_store_entry *e = lq_store_find(name);
  lq_app *app = NULL;
  lq_event ev;
  int rc;
  if (!e) {
    snprintf(msg, cap, "no app named '%s'", name);
    return LQ_P_ENOTFOUND;
  }
  app = find_app(name);
  if (app && app->paused) { /* restored from a snapshot: resume where it was, no start() */
    app->paused = 0;
    lq_report_app_state(name, "running", NULL);
    return 0;
  }
  if (app) {
    snprintf(msg, cap, "app '%s' is already running", name);
    return LQ_P_EEXISTS;
  }
  rc = claim_slot(name, &app, msg, cap);
  if (rc != 0) return rc;
  rc = load_app(app, e, msg, cap);
  if (rc != 0) {
    char where[48];
    snprintf(where, sizeof where, "%s", rc == -1 ? "initialisation" : "start");
    if (rc == -1) {
      trap_app(app, where, msg);
      return 0; /* started, then trapped: reported by APP_STATE */
    }
    free_app(app);
    return rc;
  }
  lq_report_app_state(name, "running", NULL);
  memset(&ev, 0, sizeof ev);
  ev.kind = EV_START;
  ev.msg = -1;
  ev.t_ms = lq_now_ms();
  if (app->f_start) lq_app_enqueue(app, &ev);
  return 0;
}

int lq_apps_stop(const char *name, char *msg, size_t cap) {
  lq_app *app = find_app(name);
  if (app && app->paused) { /* restored but never resumed: drop the restored state */
    free_app(app);
    lq_report_app_state(name, "stopped", NULL);
    return 0;
  }
  if (!app) {
    snprintf(msg, cap, "app '%s' is not running", name);
    clear_trapped(name);
    return LQ_P_EEXISTS;
  }
  free_app(app);
  lq_report_app_state(name, "stopped", NULL);
  return 0;
}

void lq_apps_unload(const char *name) {
  lq_app *app = find_app(name);
  clear_trapped(name);
  if (app) {
    free_app(app);
    lq_report_app_state(name, "stopped", NULL);
  }
}

void lq_apps_unload_all(void) {
  int i;
  for (i = 0; i < LQ_MAX_APPS; i++)
    if (apps[i].used) free_app(&apps[i]);
  memset(trapped, 0, sizeof trapped);
  memset(msgs, 0, sizeof msgs);
  msg_current = -1;
}

void lq_apps_init(void) {
  lq_apps_unload_all();
  if (engine) {
    lq_hal_link_free();
    lq_engine_free(engine);
    engine = NULL;
  }
  engine_up();
}

void lq_apps_autostart(void) {
  int i;
  for (i = 0; i < lq_store_count(); i++) {
    const lq_store_entry *e = lq_store_at(i);
    char msg[200];
    if (!(e->flags & LQ_STORE_AUTOSTART)) continue;
    if (lq_apps_start(e->name, msg, sizeof msg) != 0)
      lq_log(LQ_LOG_ERROR, NULL, "autostart of '%s' failed: %s", e->name, msg);
  }
}

/* ---- events ------------------------------------------------------------------------------ */

int lq_app_enqueue(lq_app *app, const lq_event *ev) {
  if (app->q_len == LQ_APP_QUEUE) return -1;
  app->queue[(app->q_head + app->q_len) % LQ_APP_QUEUE] = *ev;
  app->q_len++;
  return 0;
}

static int topic_matches(const char *sub, const char *topic, size_t tlen) {
  size_t n = strlen(sub);
  if (n >= 2 && sub[n - 2] == '/' && sub[n - 1] == '#') /* prefix subscription "a/b/#" */
    return tlen >= n - 1 && !memcmp(sub, topic, n - 1);
  return n == tlen && !memcmp(sub, topic, n);
}

int lq_msg_publish(const char *topic, size_t tlen, const uint8_t *data, size_t dlen) {
  int slot = -1, i, s;
  if (tlen >= LQ_TOPIC_MAX || dlen > MSG_MAX) return -1;
  for (i = 0; i < MSG_SLOTS; i++)
    if (msgs[i].refs == 0 && i != msg_current) { slot = i; break; }
  if (slot < 0) return -4; /* EBUSY: too many messages in flight */
  memcpy(msgs[slot].topic, topic, tlen);
  msgs[slot].topic[tlen] = 0;
  memcpy(msgs[slot].data, data, dlen);
  msgs[slot].len = (uint32_t)dlen;
  for (i = 0; i < LQ_MAX_APPS; i++) {
    lq_app *a = &apps[i];
    if (!a->used || !a->f_message) continue;
    for (s = 0; s < a->nsubs; s++) {
      lq_event ev;
      if (!a->sub_active[s] || !topic_matches(a->subs[s], topic, tlen)) continue;
      memset(&ev, 0, sizeof ev);
      ev.kind = EV_MESSAGE;
      ev.a = s;
      ev.b = (int32_t)dlen;
      ev.msg = (int16_t)slot;
      ev.t_ms = lq_event_time_ms();
      if (lq_app_enqueue(a, &ev) == 0) msgs[slot].refs++;
      else lq_log(LQ_LOG_WARN, a->name, "message on %s dropped: event queue full", msgs[slot].topic);
      break; /* one delivery per app and message */
    }
  }
  return 0;
}

int lq_msg_current(const char **topic, const uint8_t **data, uint32_t *len) {
  if (msg_current < 0) return -1;
  *topic = msgs[msg_current].topic;
  *data = msgs[msg_current].data;
  *len = msgs[msg_current].len;
  return 0;
}

uint64_t lq_event_time_ms(void) {
  if (lq_current_app && lq_current_app->calling) return lq_current_app->current.t_ms;
  return lq_now_ms();
}

static void poll_timers(lq_app *app, uint64_t now) {
  int i;
  for (i = 0; i < LQ_APP_TIMERS; i++) {
    lq_app_timer *t = &app->timers[i];
    lq_event ev;
    if (!t->active || t->due_ms > now) continue;
    memset(&ev, 0, sizeof ev);
    ev.kind = EV_TIMER;
    ev.a = i;
    ev.msg = -1;
    ev.t_ms = t->due_ms;
    if (lq_app_enqueue(app, &ev) != 0) lq_log(LQ_LOG_WARN, app->name, "timer %d: event queue full", i);
    if (t->periodic) {
      t->due_ms += t->period_ms;
      if (t->due_ms + 10u * t->period_ms < now) t->due_ms = now + t->period_ms; /* far behind */
    } else {
      t->active = 0;
    }
  }
}

static void poll_pins(lq_app *app, uint64_t now) {
  int i;
  for (i = 0; i < app->npins_open; i++) {
    lq_app_watch *w = &app->watches[i];
    int level;
    if (!w->active) continue;
    level = lq_port_gpio_read(lq_the_board.pins[app->pin_of[i]].port_pin);
    if (level < 0) continue;
    if (level != w->candidate) {
      w->candidate = level;
      w->since_ms = now;
    }
    if (w->candidate != w->stable && now - w->since_ms >= w->debounce_ms) {
      int rising = w->candidate > w->stable;
      w->stable = w->candidate;
      if (w->edges & (rising ? 1 : 2)) {
        lq_event ev;
        memset(&ev, 0, sizeof ev);
        ev.kind = EV_PIN;
        ev.a = i;
        ev.b = w->stable;
        ev.msg = -1;
        ev.t_ms = now;
        if (lq_app_enqueue(app, &ev) != 0) lq_log(LQ_LOG_WARN, app->name, "pin event dropped: queue full");
      }
    }
  }
}

/* Queues `kind` (no arguments) as the app's next event, ahead of what is queued. */
static void enqueue_first(lq_app *app, int kind) {
  lq_event ev;
  memset(&ev, 0, sizeof ev);
  ev.kind = (uint8_t)kind;
  ev.msg = -1;
  ev.t_ms = lq_now_ms();
  if (app->q_len == LQ_APP_QUEUE) { /* full: the newest event makes room */
    lq_event *last = &app->queue[(app->q_head + app->q_len - 1) % LQ_APP_QUEUE];
    if (last->kind == EV_MESSAGE && last->msg >= 0) msgs[last->msg].refs--;
    app->q_len--;
    lq_log(LQ_LOG_WARN, app->name, "%s: event queue full, an event dropped", EV_NAMES[kind]);
  }
  app->q_head = (app->q_head + LQ_APP_QUEUE - 1) % LQ_APP_QUEUE;
  app->queue[app->q_head] = ev;
  app->q_len++;
}

/* Lets a held app run on when no freeze came. If on_migrate_out already released its
 * hardware, on_migrate_in runs first to take it back: the app stays where it was. */
static void release_hold(lq_app *app, const char *why) {
  app->hold_until_ms = 0;
  if (app->migrate_out == 2 && app->f_migrate_in) enqueue_first(app, EV_MIGRATE_IN);
  if (app->migrate_out) lq_log(LQ_LOG_INFO, NULL, "'%s' not frozen after on_migrate_out: %s", app->name, why);
  app->migrate_out = 0;
}

/* Runs one fuel slice of `app`: continues a suspended call or starts the next event. */
static void run_slice(lq_app *app, uint64_t now) {
  lq_error err;
  lq_status st;
  lq_func *f = NULL;
  if (!app->calling && app->hold_until_ms) {
    if (now >= app->hold_until_ms) release_hold(app, "the freeze was not asked for again");
    else if (app->migrate_out != 1) return; /* held for a pending freeze */
  }
  /* start() waits (a bounded time) for the libraries its app asked the host for */
  if (!app->calling && app->q_len && app->queue[app->q_head].kind == EV_START && lq_linker_waiting(app, now)) return;
  if (!app->calling) {
    lq_value args[2];
    uint32_t nargs = 0;
    if (app->migrate_out == 1) { /* a migrating SNAPSHOT asked for the hook: it goes first */
      memset(&app->current, 0, sizeof app->current);
      app->current.kind = EV_MIGRATE_OUT;
      app->current.msg = -1;
      app->current.t_ms = now;
      f = app->f_migrate_out;
    }
    while (app->q_len && !f) {
      app->current = app->queue[app->q_head];
      app->q_head = (app->q_head + 1) % LQ_APP_QUEUE;
      app->q_len--;
      switch (app->current.kind) {
        case EV_START: f = app->f_start; break;
        case EV_TIMER: f = app->f_timer; nargs = 1; break;
        case EV_PIN: f = app->f_pin; nargs = 2; break;
        case EV_MIGRATE_IN: f = app->f_migrate_in; break;
        case EV_MIGRATE_OUT: break; /* never queued */
        default:
          f = app->f_message; nargs = 2;
          if (!f && app->current.msg >= 0) msgs[app->current.msg].refs--;
      }
    }
    if (!f) return;
    args[0] = lq_i32(app->current.a);
    args[1] = lq_i32(app->current.b);
    app->calling = 1;
    app->call_started_ms = now;
    lq_set_fuel(app->inst, LQ_SLICE_FUEL);
    lq_current_app = app;
    msg_current = app->current.kind == EV_MESSAGE ? app->current.msg : -1;
    st = lq_call(f, args, nargs, NULL, 0, &err);
  } else {
    lq_set_fuel(app->inst, LQ_SLICE_FUEL);
    lq_current_app = app;
    msg_current = app->current.kind == EV_MESSAGE ? app->current.msg : -1;
    st = lq_resume(app->inst, NULL, 0, &err);
  }
  lq_current_app = NULL;
  msg_current = -1;
  if (!app->used) return; /* the app was stopped from inside its own call */
  if (st == LQ_SUSPENDED) {
    if (lq_now_ms() - app->call_started_ms > LQ_CALL_BUDGET_MS) {
      char m[96];
      lq_abort(app->inst);
      snprintf(m, sizeof m, "did not return within %u ms (endless loop?)", LQ_CALL_BUDGET_MS);
      app->calling = 0;
      if (app->current.kind == EV_MESSAGE && app->current.msg >= 0) msgs[app->current.msg].refs--;
      trap_app(app, EV_NAMES[app->current.kind], m);
    }
    return;
  }
  app->calling = 0;
  if (app->current.kind == EV_MESSAGE && app->current.msg >= 0) msgs[app->current.msg].refs--;
  if (st != LQ_OK) trap_app(app, EV_NAMES[app->current.kind], err.message);
  else if (app->current.kind == EV_MIGRATE_OUT) app->migrate_out = 2;
}

static void snapshot_expire(uint64_t now_ms);

uint64_t lq_apps_poll(uint64_t now_us) {
  uint64_t now = now_us / 1000, next = now_us + 100000; /* at least every 100 ms */
  int i, k;
  snapshot_expire(now);
  for (i = 0; i < LQ_MAX_APPS; i++) {
    /* a held app's timers stay pending: they travel in the snapshot with the time they had left */
    if (!apps[i].used || apps[i].paused || apps[i].hold_until_ms) continue;
    poll_timers(&apps[i], now);
    poll_pins(&apps[i], now);
  }
  for (k = 0; k < LQ_MAX_APPS; k++) {
    lq_app *app = &apps[(rr + k) % LQ_MAX_APPS];
    if (app->used && !app->paused) run_slice(app, now);
  }
  rr = (rr + 1) % LQ_MAX_APPS;
  for (i = 0; i < LQ_MAX_APPS; i++) {
    lq_app *app = &apps[i];
    int t;
    if (!app->used || app->paused) continue;
    if (app->calling || app->migrate_out == 1 || (app->q_len && !app->hold_until_ms)) return now_us;
    if (app->hold_until_ms) { /* held: its timers and pins wait, only the hold's end matters */
      if (app->hold_until_ms * 1000 < next) next = app->hold_until_ms * 1000;
      continue;
    }
    for (t = 0; t < LQ_APP_TIMERS; t++)
      if (app->timers[t].active && app->timers[t].due_ms * 1000 < next)
        next = app->timers[t].due_ms * 1000;
    for (t = 0; t < app->npins_open; t++)
      if (app->watches[t].active && now_us + 5000 < next) next = now_us + 5000; /* sample pins */
  }
  return next;
}

static int granted_in(char list[][16], int n, const char *name) {
  int i;
  for (i = 0; i < n; i++)
    if (!strcmp(list[i], name)) return 1;
  return 0;
}
static int granted_pin(lq_app *app, const char *name) {
  return granted_in(app->grant_pins, app->ngrant_pins, name);
}
static int granted_bus(lq_app *app, const char *name) {
  return granted_in(app->grant_buses, app->ngrant_buses, name);
}

/* ---- snapshots (SNAPSHOT / RESTORE) ----------------------------------------------------- */
/*
 * A snapshot is the engine's container (memory, globals, tables: docs/snapshot.md) followed by
 * one runtime section "LQRT" with what the runtime knows about the app, by name rather than
 * by board number so that it restores on another board:
 *   u8 format (1)
 *   u8 n, n x { str8 pin name, i8 mode, i8 level }       pins in handle order
 *   u8 n, n x { str8 bus name }                           buses in handle order
 *   u8 n, n x { u8 handle, u8 periodic, u32 period_ms, u32 remaining_ms }   active timers
 *   u8 n, n x { u8 pin handle, u8 edges, u32 debounce_ms, u8 stable level } pin watches
 *   u8 n, n x { u8 handle, str8 topic }                   subscriptions
 * Format 2 adds, after the subscriptions, the events queued for the app at the freeze, in
 * queue order, so that a button press or a message that arrived while the app was busy is
 * delivered on the target instead of lost (format 1, without them, is still read):
 *   u8 n (at most LQ_APP_QUEUE), n x { u8 kind, then by kind:
 *     0 start:   nothing
 *     1 timer:   u8 timer handle
 *     2 pin:     u8 pin handle, u8 level (0/1)
 *     3 message: u8 subscription handle, str8 topic, u16 length, length bytes (<= MSG_MAX) }
 * The migration hooks are never carried: the target queues its own on_migrate_in.
 */
#define LQRT_FORMAT 2
#ifndef LQ_SNAPSHOT_MAX
#define LQ_SNAPSHOT_MAX (128u * 1024u) /* the largest snapshot taken or received, whatever RAM is free */
#endif
/* What a restore needs besides the snapshot: the app's own instance (its pages and the engine's
 * state for it), allocated while the snapshot is still held. */
#define LQ_RESTORE_INSTANCE_ROOM ((uint32_t)lq_app_max_pages() * 65536u + 16384u)

/* The snapshot the host reads, or the one it sends, lives in the engine's arena rather than in
 * a static buffer: RAM is spent on it only while a migration runs, and a board can move as much
 * state as it has free RAM for instead of what a fixed buffer allowed. */
static uint8_t *snap_buf;
static struct {
  int kind; /* 0 none, 1 a snapshot taken here, 2 a restore being received */
  char name[32];
  uint32_t len, size, cap;
  uint8_t sha[32];
  uint64_t used_ms; /* last SNAPSHOT, SNAPSHOT_READ, RESTORE_BEGIN or chunk */
} snap;
/* A serial link has no "disconnected": a snapshot nobody reads or completes for this long
 * gives its RAM back (a host that reads it does so within a second). */
#ifndef LQ_SNAPSHOT_KEEP_MS
#define LQ_SNAPSHOT_KEEP_MS 10000u
#endif

void lq_apps_snapshot_release(void) {
  if (snap_buf) lq_arena_alloc(&arena, snap_buf, snap.cap, 0);
  snap_buf = NULL;
  snap.kind = 0;
  snap.len = snap.size = snap.cap = 0;
}

void lq_apps_snapshot_host_gone(void) {
  /* a restore being received stays: the host may reconnect and resume it */
  if (snap.kind != 2) lq_apps_snapshot_release();
}

static void snapshot_expire(uint64_t now_ms) {
  if (snap_buf && now_ms - snap.used_ms > (snap.kind == 2 ? 3u : 1u) * LQ_SNAPSHOT_KEEP_MS)
    lq_apps_snapshot_release();
}

/* Arena bytes free now, less what one more allocation's header costs. */
static uint32_t arena_free(void) {
  size_t free_bytes = arena.size - arena.used;
  return free_bytes > 64 ? (uint32_t)(free_bytes - 64) : 0;
}

/* INFO's memory.snapshotMax: the largest snapshot this device could restore now (the snapshot
 * and the app's instance must fit together), or LQ_SNAPSHOT_MAX if that is smaller. */
uint32_t lq_apps_snapshot_max(void) {
  uint32_t room = arena_free() + snap.cap, need = LQ_RESTORE_INSTANCE_ROOM;
  room = room > need ? room - need : 0;
  return room < LQ_SNAPSHOT_MAX ? room : (uint32_t)LQ_SNAPSHOT_MAX;
}

/* Replaces the held snapshot by an empty buffer of `size` bytes; 0 when the arena has no room. */
static int snap_reserve(uint32_t size) {
  lq_apps_snapshot_release();
  if (size > LQ_SNAPSHOT_MAX) return 0;
  snap_buf = (uint8_t *)lq_arena_alloc(&arena, NULL, 0, size ? size : 1);
  if (!snap_buf) return 0;
  snap.cap = size ? size : 1;
  return 1;
}

static int snap_count(void *user, const void *data, size_t len) {
  (void)data;
  *(uint32_t *)user += (uint32_t)len;
  return 0;
}

static int snap_write(void *user, const void *data, size_t len) {
  (void)user;
  if (len > snap.cap - snap.len) return 1;
  memcpy(snap_buf + snap.len, data, len);
  snap.len += (uint32_t)len;
  return 0;
}

static size_t put_str8(uint8_t *p, const char *s) {
  size_t n = strlen(s);
  p[0] = (uint8_t)n;
  memcpy(p + 1, s, n);
  return n + 1;
}

static size_t put_u32le(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
  return 4;
}

static size_t runtime_section(const lq_app *app, uint8_t *p) {
  size_t o = 0;
  uint64_t now = lq_now_ms();
  int i, n;
  p[o++] = LQRT_FORMAT;
  p[o++] = (uint8_t)app->npins_open;
  for (i = 0; i < app->npins_open; i++) {
    int mode, level;
    lq_hal_pin_state(app->pin_of[i], &mode, &level);
    o += put_str8(p + o, lq_the_board.pins[app->pin_of[i]].name);
    p[o++] = (uint8_t)(int8_t)mode;
    p[o++] = (uint8_t)(int8_t)level;
  }
  p[o++] = (uint8_t)app->nbuses_open;
  for (i = 0; i < app->nbuses_open; i++) o += put_str8(p + o, lq_the_board.buses[app->bus_of[i]].name);
  for (n = 0, i = 0; i < LQ_APP_TIMERS; i++) n += app->timers[i].active;
  p[o++] = (uint8_t)n;
  for (i = 0; i < LQ_APP_TIMERS; i++) {
    const lq_app_timer *t = &app->timers[i];
    if (!t->active) continue;
    p[o++] = (uint8_t)i;
    p[o++] = (uint8_t)t->periodic;
    o += put_u32le(p + o, t->period_ms);
    o += put_u32le(p + o, t->due_ms > now ? (uint32_t)(t->due_ms - now) : 0);
  }
  for (n = 0, i = 0; i < app->npins_open; i++) n += app->watches[i].active;
  p[o++] = (uint8_t)n;
  for (i = 0; i < app->npins_open; i++) {
    const lq_app_watch *w = &app->watches[i];
    if (!w->active) continue;
    p[o++] = (uint8_t)i;
    p[o++] = (uint8_t)w->edges;
    o += put_u32le(p + o, w->debounce_ms);
    p[o++] = (uint8_t)w->stable;
  }
  for (n = 0, i = 0; i < app->nsubs; i++) n += app->sub_active[i];
  p[o++] = (uint8_t)n;
  for (i = 0; i < app->nsubs; i++)
    if (app->sub_active[i]) {
      p[o++] = (uint8_t)i;
      o += put_str8(p + o, app->subs[i]);
    }
  return o;
}

/* Encodes queued event `ev` as format 2 carries it into `p` (room for EVENT_MAX bytes);
 * returns 0 for events that are not carried (the migration hooks). */
#define EVENT_MAX (1u + 1u + 1u + LQ_TOPIC_MAX + 2u + MSG_MAX)
static size_t put_event(const lq_event *ev, uint8_t *p) {
  size_t o = 0;
  switch (ev->kind) {
    case EV_START: p[o++] = EV_START; break;
    case EV_TIMER: p[o++] = EV_TIMER; p[o++] = (uint8_t)ev->a; break;
    case EV_PIN: p[o++] = EV_PIN; p[o++] = (uint8_t)ev->a; p[o++] = (uint8_t)(ev->b ? 1 : 0); break;
    case EV_MESSAGE:
      if (ev->msg < 0) return 0;
      p[o++] = EV_MESSAGE;
      p[o++] = (uint8_t)ev->a;
      o += put_str8(p + o, msgs[ev->msg].topic);
      p[o++] = (uint8_t)msgs[ev->msg].len;
      p[o++] = (uint8_t)(msgs[ev->msg].len >> 8);
      memcpy(p + o, msgs[ev->msg].data, msgs[ev->msg].len);
      o += msgs[ev->msg].len;
      break;
    default: return 0;
  }
  return o;
}

/* Writes the LQRT section: `fixed` (pins to subscriptions, from runtime_section) then the
 * queued events one at a time, so that up to LQ_APP_QUEUE messages of MSG_MAX bytes never
 * need one buffer of several KiB on a small device's stack. */
static int write_runtime_section(lq_write_fn write, void *user, const lq_app *app, const uint8_t *fixed,
                                 uint32_t fixed_len) {
  uint8_t buf[EVENT_MAX], hdr[8];
  uint32_t len = fixed_len + 1;
  int i, n = 0;
  for (i = 0; i < app->q_len; i++) {
    size_t k = put_event(&app->queue[(app->q_head + i) % LQ_APP_QUEUE], buf);
    len += (uint32_t)k;
    n += k != 0;
  }
  memcpy(hdr, "LQRT", 4);
  put_u32le(hdr + 4, len);
  if (write(user, hdr, 8) || write(user, fixed, fixed_len)) return -1;
  buf[0] = (uint8_t)n;
  if (write(user, buf, 1)) return -1;
  for (i = 0; i < app->q_len; i++) {
    size_t k = put_event(&app->queue[(app->q_head + i) % LQ_APP_QUEUE], buf);
    if (k && write(user, buf, k)) return -1;
  }
  return 0;
}

int lq_apps_snapshot(const char *name, int flags, uint32_t *size, uint8_t sha[32], char *msg,
                     size_t cap) {
  lq_app *app = find_app(name);
  int stop = flags & LQ_SNAPSHOT_STOP, migrating = flags & LQ_SNAPSHOT_MIGRATING;
  uint8_t section[1024];
  uint32_t section_len, total = 0;
  lq_error err;
  lq_sha256 h;
  if (!app || app->paused) {
    snprintf(msg, cap, "app '%s' is not running: only a running app can be snapshotted", name);
    return lq_store_find(name) ? LQ_P_EEXISTS : LQ_P_ENOTFOUND;
  }
  /* before holding it or running on_migrate_out: a refused app is left exactly as it runs */
  if (lq_linker_snapshot_refused(app, msg, cap)) return LQ_P_EINVALID;
  /* Inside a call, or its on_migrate_out still to run: the app is held (no new event starts,
   * no timer fires) so that the freeze happens when this call returns, even for an app whose
   * queue never empties; the host asks again. */
  if (app->calling || (migrating && app->f_migrate_out && app->migrate_out != 2)) {
    app->hold_until_ms = lq_now_ms() + LQ_FREEZE_HOLD_MS;
    if (app->calling) {
      snprintf(msg, cap, "app '%s' is inside %s; it freezes when that call returns: ask again", name,
               EV_NAMES[app->current.kind]);
    } else {
      app->migrate_out = 1;
      snprintf(msg, cap, "app '%s' runs on_migrate_out; it freezes when that returns: ask again", name);
    }
    return LQ_P_EBUSY;
  }
  /* Two passes over the frozen app: count, then write into a buffer of exactly that size, so
   * that a small device never holds a doubling buffer and its copy at once. */
  section_len = (uint32_t)runtime_section(app, section);
  lq_apps_snapshot_release();
  if (lq_snapshot(app->inst, snap_count, &total, &err) != LQ_OK ||
      write_runtime_section(snap_count, &total, app, section, section_len) != 0) {
    snprintf(msg, cap, "snapshot failed: %s", err.message);
    return LQ_P_ENOSPACE;
  }
  if (!snap_reserve(total)) {
    if (total > LQ_SNAPSHOT_MAX)
      snprintf(msg, cap, "snapshot of %lu bytes larger than this device takes (%lu)", (unsigned long)total,
               (unsigned long)LQ_SNAPSHOT_MAX);
    else
      snprintf(msg, cap, "snapshot of %lu bytes does not fit in this device's free RAM (%lu bytes)",
               (unsigned long)total, (unsigned long)arena_free());
    return LQ_P_ENOSPACE;
  }
  if (lq_snapshot(app->inst, snap_write, NULL, &err) != LQ_OK) {
    snprintf(msg, cap, "snapshot failed: %s", err.message);
    lq_apps_snapshot_release();
    return LQ_P_ENOSPACE;
  }
  if (write_runtime_section(snap_write, NULL, app, section, section_len) != 0) {
    snprintf(msg, cap, "snapshot failed: the runtime section did not fit");
    lq_apps_snapshot_release();
    return LQ_P_ENOSPACE;
  }
  snap.kind = 1;
  snap.used_ms = lq_now_ms();
  snprintf(snap.name, sizeof snap.name, "%s", name);
  lq_sha256_init(&h);
  lq_sha256_update(&h, snap_buf, snap.len);
  lq_sha256_final(&h, snap.sha);
  *size = snap.len;
  memcpy(sha, snap.sha, 32);
  lq_log(LQ_LOG_INFO, NULL, "snapshot of '%s': %lu bytes", name, (unsigned long)snap.len);
  if (stop) {
    free_app(app);
    lq_report_app_state(name, "stopped", NULL);
  } else if (app->hold_until_ms) {
    release_hold(app, "the snapshot was taken without stopping it");
  }
  return 0;
}

int lq_apps_snapshot_read(const char *name, uint32_t offset, uint32_t max, const uint8_t **data,
                          uint32_t *n, char *msg, size_t cap) {
  if (snap.kind != 1 || strcmp(snap.name, name) != 0) {
    snprintf(msg, cap, "no snapshot of '%s' held (send SNAPSHOT first)", name);
    return LQ_P_ENOTFOUND;
  }
  if (offset > snap.len) {
    snprintf(msg, cap, "offset %lu past the snapshot size %lu", (unsigned long)offset,
             (unsigned long)snap.len);
    return LQ_P_ERANGE;
  }
  snap.used_ms = lq_now_ms();
  *data = snap_buf + offset;
  *n = snap.len - offset < max ? snap.len - offset : max;
  return 0;
}

int lq_apps_restore_begin(const char *name, uint32_t size, const uint8_t sha[32], uint32_t *held,
                          char *msg, size_t cap) {
  if (!(snap.kind == 2 && !strcmp(snap.name, name) && snap.size == size && !memcmp(snap.sha, sha, 32))) {
    /* the same wording as the INFO-based check on the host, which names snapshotMax */
    if (size > lq_apps_snapshot_max() || !snap_reserve(size)) {
      lq_apps_snapshot_release();
      snprintf(msg, cap, "snapshot of %lu bytes too large: this device takes at most %lu now",
               (unsigned long)size, (unsigned long)lq_apps_snapshot_max());
      return LQ_P_ENOSPACE;
    }
    snap.kind = 2;
    snprintf(snap.name, sizeof snap.name, "%s", name);
    snap.size = size;
    snap.len = 0;
    memcpy(snap.sha, sha, 32);
  }
  snap.used_ms = lq_now_ms();
  *held = snap.len;
  return 0;
}

int lq_apps_restore_chunk(uint32_t offset, const uint8_t *data, uint32_t len, uint32_t *next,
                          char *msg, size_t cap) {
  uint32_t end;
  if (snap.kind != 2) {
    snprintf(msg, cap, "no restore in progress (send RESTORE_BEGIN first)");
    return LQ_P_EBADREQ;
  }
  if (offset > snap.len) {
    snprintf(msg, cap, "chunk out of order: expected offset %lu", (unsigned long)snap.len);
    return LQ_P_ERANGE;
  }
  if (offset > snap.size || len > snap.size - offset) {
    snprintf(msg, cap, "chunk beyond the announced snapshot size");
    return LQ_P_EBADREQ;
  }
  end = offset + len;
  snap.used_ms = lq_now_ms();
  if (end > snap.len) {
    memcpy(snap_buf + snap.len, data + (snap.len - offset), end - snap.len);
    snap.len = end;
  }
  *next = snap.len;
  return 0;
}

typedef struct rd {
  const uint8_t *p;
  uint32_t n, at;
  int bad;
} rd;

static const uint8_t *rd_take(rd *r, uint32_t n) {
  const uint8_t *p;
  if (r->bad || r->n - r->at < n) { r->bad = 1; return NULL; }
  p = r->p + r->at;
  r->at += n;
  return p;
}
static uint8_t rd8(rd *r) { const uint8_t *p = rd_take(r, 1); return p ? p[0] : 0; }
static uint32_t rd32(rd *r) {
  const uint8_t *p = rd_take(r, 4);
  return p ? (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24) : 0;
}
static int rdstr(rd *r, char *out, size_t cap) {
  uint8_t n = rd8(r);
  const uint8_t *p = rd_take(r, n);
  if (!p || n >= cap) { r->bad = 1; return -1; }
  memcpy(out, p, n);
  out[n] = 0;
  return 0;
}

/* Queues format 2's carried events on the restored app, in their order, ahead of anything
 * this device queues for it (only on_migrate_in goes first). Whatever cannot be honoured here
 * without being the snapshot's fault is dropped with a warning (a timer handle past this
 * device's timers, no free message slot); a malformed list refuses the whole restore. */
static int apply_queued_events(lq_app *app, rd *r, char *msg, size_t cap) {
  int i, n = rd8(r);
  if (!r->bad && n > LQ_APP_QUEUE) {
    snprintf(msg, cap, "snapshot carries %d queued events; at most %d", n, LQ_APP_QUEUE);
    return -1;
  }
  for (i = 0; i < n && !r->bad; i++) {
    lq_event ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = rd8(r);
    ev.msg = -1;
    ev.t_ms = lq_now_ms();
    if (r->bad) break;
    if (ev.kind == EV_START) { /* no arguments */
    } else if (ev.kind == EV_TIMER) {
      ev.a = rd8(r);
      if (!r->bad && ev.a >= LQ_APP_TIMERS) {
        lq_log(LQ_LOG_WARN, app->name, "queued on_timer(%d) dropped: this device has no timer %d", (int)ev.a, (int)ev.a);
        continue;
      }
    } else if (ev.kind == EV_PIN) {
      ev.a = rd8(r);
      ev.b = rd8(r);
      if (!r->bad && (ev.a >= app->npins_open || ev.b > 1)) {
        snprintf(msg, cap, "snapshot's queued event %d: on_pin(%d, %d) names no pin of the snapshot", i, (int)ev.a, (int)ev.b);
        return -1;
      }
    } else if (ev.kind == EV_MESSAGE) {
      char topic[LQ_TOPIC_MAX];
      const uint8_t *data;
      uint32_t dlen;
      int slot;
      ev.a = rd8(r);
      if (rdstr(r, topic, sizeof topic) != 0) break;
      dlen = rd8(r);
      dlen |= (uint32_t)rd8(r) << 8;
      if (r->bad) break;
      if (dlen > MSG_MAX || ev.a >= LQ_APP_SUBS) {
        snprintf(msg, cap, "snapshot's queued event %d: %s", i,
                 dlen > MSG_MAX ? "message payload longer than 256 bytes" : "message for no subscription handle");
        return -1;
      }
      data = rd_take(r, dlen);
      if (!data) break;
      for (slot = 0; slot < MSG_SLOTS; slot++)
        if (msgs[slot].refs == 0 && slot != msg_current) break;
      if (slot == MSG_SLOTS) {
        lq_log(LQ_LOG_WARN, app->name, "queued message on %s dropped: all %d message slots in use", topic, MSG_SLOTS);
        continue;
      }
      memcpy(msgs[slot].topic, topic, sizeof topic);
      memcpy(msgs[slot].data, data, dlen);
      msgs[slot].len = dlen;
      ev.b = (int32_t)dlen;
      ev.msg = (int16_t)slot;
      msgs[slot].refs++;
    } else {
      snprintf(msg, cap, "snapshot's queued event %d has an unknown kind %d", i, (int)ev.kind);
      return -1;
    }
    lq_app_enqueue(app, &ev); /* cannot be full: a restored app's queue starts empty */
  }
  if (r->bad || r->at != r->n) {
    snprintf(msg, cap, "snapshot runtime section: %s", r->bad ? "its queued events are truncated" : "trailing bytes after the queued events");
    return -1;
  }
  return 0;
}

/* Applies the LQRT section to a freshly restored app. */
static int apply_runtime_section(lq_app *app, const uint8_t *p, uint32_t len, char *msg, size_t cap) {
  rd r = {p, len, 0, 0};
  uint64_t now = lq_now_ms();
  int i, n, format = rd8(&r);
  if (format != 1 && format != LQRT_FORMAT) {
    snprintf(msg, cap, "snapshot runtime section has an unknown format (%d; this device reads 1 and 2)", format);
    return -1;
  }
  n = rd8(&r);
  for (i = 0; i < n && !r.bad; i++) {
    char name[16];
    int idx, mode, level;
    if (rdstr(&r, name, sizeof name) != 0) break;
    mode = (int8_t)rd8(&r);
    level = (int8_t)rd8(&r);
    idx = lq_board_pin_index(name, strlen(name));
    if (idx < 0 || !granted_pin(app, name)) {
      snprintf(msg, cap, "snapshot uses pin %s, which %s", name,
               idx < 0 ? "this board does not have" : "the app's manifest does not grant");
      return -1;
    }
    if (lq_app_pin_handle(app, idx) != i) {
      snprintf(msg, cap, "snapshot names pin %s twice", name);
      return -1;
    }
    lq_hal_pin_restore(idx, mode, level);
  }
  n = rd8(&r);
  for (i = 0; i < n && !r.bad; i++) {
    char name[16];
    int idx;
    if (rdstr(&r, name, sizeof name) != 0) break;
    idx = lq_board_bus_index(name, strlen(name));
    if (idx < 0 || !granted_bus(app, name)) {
      snprintf(msg, cap, "snapshot uses bus %s, which %s", name,
               idx < 0 ? "this board does not have" : "the app's manifest does not grant");
      return -1;
    }
    if (lq_app_bus_handle(app, idx) != i) {
      snprintf(msg, cap, "snapshot names bus %s twice", name);
      return -1;
    }
  }
  n = rd8(&r);
  for (i = 0; i < n && !r.bad; i++) {
    uint8_t h = rd8(&r);
    lq_app_timer t;
    t.active = 1;
    t.periodic = rd8(&r) != 0;
    t.period_ms = rd32(&r);
    t.due_ms = now + rd32(&r);
    if (h >= LQ_APP_TIMERS || (t.periodic && t.period_ms == 0)) r.bad = 1;
    else app->timers[h] = t;
  }
  n = rd8(&r);
  for (i = 0; i < n && !r.bad; i++) {
    uint8_t h = rd8(&r);
    lq_app_watch w;
    int level;
    memset(&w, 0, sizeof w);
    w.active = 1;
    w.edges = rd8(&r);
    w.debounce_ms = rd32(&r);
    w.stable = rd8(&r) ? 1 : 0;
    if (h >= app->npins_open || w.edges < 1 || w.edges > 3) { r.bad = 1; break; }
    level = lq_port_gpio_read(lq_the_board.pins[app->pin_of[h]].port_pin);
    w.candidate = level < 0 ? w.stable : level;
    w.since_ms = now;
    app->watches[h] = w;
    lq_port_gpio_notify(lq_the_board.pins[app->pin_of[h]].port_pin, 1);
  }
  n = rd8(&r);
  for (i = 0; i < n && !r.bad; i++) {
    uint8_t h = rd8(&r);
    char topic[LQ_TOPIC_MAX];
    if (rdstr(&r, topic, sizeof topic) != 0 || h >= LQ_APP_SUBS) { r.bad = 1; break; }
    memcpy(app->subs[h], topic, sizeof topic);
    app->sub_active[h] = 1;
    if (h >= app->nsubs) app->nsubs = h + 1;
  }
  if (r.bad) {
    snprintf(msg, cap, "snapshot runtime section is malformed");
    return -1;
  }
  return format == 1 ? 0 : apply_queued_events(app, &r, msg, cap);
}

static int restore_received(int flags, char *msg, size_t cap);

int lq_apps_restore_end(int flags, char *msg, size_t cap) {
  int rc;
  if (snap.kind != 2) {
    snprintf(msg, cap, "no restore in progress (send RESTORE_BEGIN first)");
    return LQ_P_EBADREQ;
  }
  if (snap.len != snap.size) { /* the host may still send the missing chunks */
    snprintf(msg, cap, "restore incomplete: %lu of %lu bytes received", (unsigned long)snap.len,
             (unsigned long)snap.size);
    return LQ_P_ERANGE;
  }
  rc = restore_received(flags, msg, cap);
  lq_apps_snapshot_release(); /* restored or refused: either way its RAM goes back to the apps */
  return rc;
}

static int restore_received(int flags, char *msg, size_t cap) {
  int start = flags & LQ_RESTORE_START;
  const lq_store_entry *e;
  lq_app *app = NULL;
  uint8_t digest[32];
  lq_sha256 h;
  lq_error err;
  const uint8_t *section;
  uint32_t section_len;
  int rc;
  snap.kind = 0;
  lq_sha256_init(&h);
  lq_sha256_update(&h, snap_buf, snap.len);
  lq_sha256_final(&h, digest);
  if (memcmp(digest, snap.sha, 32) != 0) {
    snprintf(msg, cap, "snapshot sha256 mismatch: send it again");
    return LQ_P_EHASH;
  }
  e = lq_store_find(snap.name);
  if (!e) {
    snprintf(msg, cap, "no app named '%s' (install the module before restoring its snapshot)", snap.name);
    return LQ_P_ENOTFOUND;
  }
  if (find_app(snap.name)) {
    snprintf(msg, cap, "app '%s' is running; stop it before restoring a snapshot", snap.name);
    return LQ_P_EEXISTS;
  }
  if (lq_snapshot_find(snap_buf, snap.len, "LQRT", &section, &section_len, &err) != LQ_OK) {
    snprintf(msg, cap, "snapshot has no runtime section (LQRT): %s", err.message);
    return LQ_P_EINVALID;
  }
  rc = claim_slot(snap.name, &app, msg, cap);
  if (rc != 0) return rc;
  rc = load_app(app, e, msg, cap);
  if (rc != 0) {
    free_app(app);
    return rc == -1 ? LQ_P_EINVALID : rc;
  }
  if (lq_restore(app->inst, snap_buf, snap.len, &err) != LQ_OK) {
    snprintf(msg, cap, "snapshot does not fit this module: %s", err.message);
    free_app(app);
    return LQ_P_EINVALID;
  }
  if (apply_runtime_section(app, section, section_len, msg, cap) != 0) {
    free_app(app);
    return LQ_P_EINVALID;
  }
  app->paused = !start;
  /* the first event after START: the app takes its hardware on this board */
  if ((flags & LQ_RESTORE_MIGRATING) && app->f_migrate_in) enqueue_first(app, EV_MIGRATE_IN);
  lq_log(LQ_LOG_INFO, NULL, "restored '%s' from a %lu-byte snapshot", app->name, (unsigned long)snap.len);
  if (start) lq_report_app_state(app->name, "running", NULL);
  return 0;
}
