/*
 * lq_runtime.h — what the runtime's parts (log, board, apps/scheduler, HAL, protocol) share.
 * Not for ports: a port only sees liquid_port.h.
 */
#ifndef LQ_RUNTIME_H
#define LQ_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#include "liquid_engine.h"
#include "lq_json.h"

#define LQ_FIRMWARE_NAME "liquid"
#define LQ_FIRMWARE_VERSION "0.1.0"
#define LQ_PROTOCOL_VERSION 1
#define LQ_MAX_PAYLOAD 4096u

/* Sizes a port may override at compile time (-D...). */
#ifndef LQ_RUNTIME_ARENA_SIZE
#define LQ_RUNTIME_ARENA_SIZE (4u * 1024u * 1024u) /* engine heap: modules + instances */
#endif
#ifndef LQ_MODULE_MAX
#define LQ_MODULE_MAX (256u * 1024u) /* largest wasm module accepted */
#endif
#ifndef LQ_APP_MAX_PAGES
#define LQ_APP_MAX_PAGES 16u /* linear memory limit per app (64 KiB pages) */
#endif
#ifndef LQ_MAX_APPS
#define LQ_MAX_APPS 8 /* apps running at the same time */
#endif

uint64_t lq_now_ms(void);

/* Protocol status codes (docs/protocol.md), also used as results inside the runtime. */
enum {
  LQ_P_OK = 0, LQ_P_EUNKNOWN = 1, LQ_P_EBADREQ = 2, LQ_P_ENOTFOUND = 3, LQ_P_EEXISTS = 4,
  LQ_P_ENOSPACE = 5, LQ_P_EHASH = 6, LQ_P_EINVALID = 7, LQ_P_ERANGE = 8, LQ_P_EVERSION = 9,
  LQ_P_EBUSY = 10, LQ_P_EINTERNAL = 11
};

/* ---- log (RAM ring of records, streamed to followers as LOG events) ---------------------- */
enum { LQ_LOG_DEBUG = 0, LQ_LOG_INFO = 1, LQ_LOG_WARN = 2, LQ_LOG_ERROR = 3 };
void lq_log_reset(void);
/* app may be NULL for the runtime's own records. */
void lq_log(int level, const char *app, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
void lq_log_text(int level, const char *app, const char *text, size_t len);
/* Writes a JSON array of records with seq >= first into buf; returns its length. */
size_t lq_log_json(uint32_t first, char *buf, size_t cap);
/* Formats one record as JSON; returns its length or 0 when seq is gone. */
size_t lq_log_record_json(uint32_t seq, char *buf, size_t cap);
uint32_t lq_log_next_seq(void);

/* ---- board and discovered hardware ----------------------------------------------------- */
#define LQ_BOARD_MAX_PINS 32
#define LQ_BOARD_MAX_BUSES 4
#define LQ_BOARD_MAX_DEVICES 8

typedef struct lq_board_pin {
  char name[16];
  uint32_t port_pin;
  char caps[48]; /* JSON array text, e.g. ["out"] */
} lq_board_pin;

typedef struct lq_board_device {
  uint8_t addr;
  const char *driver; /* "tmp105", "bme280" */
} lq_board_device;

typedef struct lq_board_bus {
  char name[16];
  uint32_t port_bus;
  int ndevices;
  lq_board_device devices[LQ_BOARD_MAX_DEVICES];
} lq_board_bus;

typedef struct lq_board {
  char name[32];
  int npins, nbuses;
  lq_board_pin pins[LQ_BOARD_MAX_PINS];
  lq_board_bus buses[LQ_BOARD_MAX_BUSES];
  uint32_t ram;
  uint32_t app_max; /* memory.appMax in bytes, 0 when the board does not say */
} lq_board;

extern lq_board lq_the_board;
/* Reads the board descriptor; returns 0 or -1 (reason logged). */
int lq_board_load(void);
/* Probes every I2C bus and identifies known devices. */
void lq_board_scan(void);
int lq_board_pin_index(const char *name, size_t len);
int lq_board_bus_index(const char *name, size_t len);
/* Writes the INFO capability document; returns its length (may exceed cap: then truncated). */
size_t lq_board_info_json(char *buf, size_t cap);
/* device.has: a pin, bus or discovered driver name. */
int lq_board_has(const char *name, size_t len);
/* Pages of linear memory one app may have here: the board's appMax within LQ_APP_MAX_PAGES. */
uint32_t lq_app_max_pages(void);

/* ---- apps and scheduler ---------------------------------------------------------------- */
enum { LQ_APP_STOPPED = 0, LQ_APP_RUNNING = 1, LQ_APP_TRAPPED = 2 };

void lq_apps_init(void);
/* Bytes of the engine arena in use (modules, instances) and its size. */
size_t lq_engine_heap_used(void);
size_t lq_engine_heap_size(void);
/* Starts an installed app (instantiate + start()). 0, or a protocol error code with msg. */
int lq_apps_start(const char *name, char *msg, size_t cap);
int lq_apps_stop(const char *name, char *msg, size_t cap);
/* Stops and forgets any instance of `name` (before remove/replace). */
void lq_apps_unload(const char *name);
void lq_apps_unload_all(void);
/* State of an installed app: LQ_APP_*, and its error text (or NULL). */
int lq_apps_state(const char *name, const char **error);
/* Checks that a module can run here: valid wasm, known imports, capabilities granted. */
int lq_apps_validate(const uint8_t *wasm, uint32_t len, const char *manifest, uint32_t mlen,
                     char *msg, size_t cap);
/* Runs due timers, pin edges, messages and app slices. Returns the next deadline (us). */
uint64_t lq_apps_poll(uint64_t now_us);
void lq_apps_autostart(void);
/* SNAPSHOT / SNAPSHOT_READ / RESTORE_*: results are protocol status codes, with msg. */
/* SNAPSHOT flags: bit0 stop the app after freezing, bit1 migrating (run on_migrate_out first). */
#define LQ_SNAPSHOT_STOP 1
#define LQ_SNAPSHOT_MIGRATING 2
/* The largest snapshot this device could restore now (free RAM less room for the app, at most
 * LQ_SNAPSHOT_MAX): INFO's memory.snapshotMax. */
uint32_t lq_apps_snapshot_max(void);
/* Fuel for an app's wasm start function (LQ_START_FUEL; 0 = unlimited), read when the engine
 * is created at boot: a port may change it before lq_runtime_init. */
extern uint32_t lq_start_fuel;
/* Gives the RAM of a snapshot taken or being received back to the arena. Also done when one is
 * left unused for LQ_SNAPSHOT_KEEP_MS (3x that for a restore being received). */
void lq_apps_snapshot_release(void);
/* The host connection closed: a snapshot taken for it is dropped (a restore being received is
 * kept, so that a reconnecting host resumes it). */
void lq_apps_snapshot_host_gone(void);
int lq_apps_snapshot(const char *name, int flags, uint32_t *size, uint8_t sha[32], char *msg, size_t cap);
int lq_apps_snapshot_read(const char *name, uint32_t offset, uint32_t max, const uint8_t **data,
                          uint32_t *n, char *msg, size_t cap);
int lq_apps_restore_begin(const char *name, uint32_t size, const uint8_t sha[32], uint32_t *held,
                          char *msg, size_t cap);
int lq_apps_restore_chunk(uint32_t offset, const uint8_t *data, uint32_t len, uint32_t *next,
                          char *msg, size_t cap);
/* RESTORE_END flags: bit0 start, bit1 migrating (on_migrate_in is the first event after START). */
#define LQ_RESTORE_START 1
#define LQ_RESTORE_MIGRATING 2
int lq_apps_restore_end(int flags, char *msg, size_t cap);
/* Static buffer used to load modules from the store (also usable by validation). */
extern uint8_t lq_module_buf[LQ_MODULE_MAX];
/* One scratch buffer for short-lived text (a manifest being read, INFO for device.info); never
 * held across a call that could use it too. */
#define LQ_SCRATCH_SIZE LQ_MAX_PAYLOAD
extern char lq_scratch[LQ_SCRATCH_SIZE];

/* ---- protocol ------------------------------------------------------------------------- */
void lq_protocol_init(void);
/* Feeds received bytes, flushes pending output. Returns 1 if it did something. */
int lq_protocol_poll(uint64_t now_us);
/* Sends an event frame (LOG 0x80, APP_STATE 0x81). Dropped when there is no room/peer. */
void lq_protocol_event(uint8_t code, const char *json, size_t len);
int lq_protocol_follow_logs(void);
/* True while a host is attached: it sent a frame since the last disconnect. */
int lq_protocol_connected(void);
/* Set when the runtime must reboot once the response is flushed (RESET). */
extern int lq_reset_requested;
int lq_protocol_tx_pending(void); /* 0 none, 1 reboot, 2 factory reset */

/* Reports an app state change: APP_STATE event + log record + trace line. */
void lq_report_app_state(const char *name, const char *state, const char *error);

#endif
