/*
 * lq_app.h — one running app as the scheduler and the HAL implementation see it.
 * Internal to the runtime.
 */
#ifndef LQ_APP_H
#define LQ_APP_H

#include <stdint.h>

#include "liquid_engine.h"
#include "lq_runtime.h"

#define LQ_APP_TIMERS 8
#define LQ_APP_SUBS 4
#define LQ_APP_QUEUE 16
#define LQ_APP_GRANTS 8
#define LQ_TOPIC_MAX 48

enum { LQ_CAP_GPIO = 1, LQ_CAP_I2C = 2, LQ_CAP_TIME = 4, LQ_CAP_LOG = 8, LQ_CAP_DEVICE = 16,
       LQ_CAP_MSG = 32, LQ_CAP_RANDOM = 64 };

enum { EV_START = 0, EV_TIMER = 1, EV_PIN = 2, EV_MESSAGE = 3, EV_MIGRATE_OUT = 4, EV_MIGRATE_IN = 5 };

typedef struct lq_event {
  uint8_t kind;
  int32_t a, b;
  int16_t msg; /* message slot for EV_MESSAGE */
  uint64_t t_ms; /* when it was due: the time a handler's effects are reported at */
} lq_event;

typedef struct lq_app_timer {
  int active, periodic;
  uint32_t period_ms;
  uint64_t due_ms;
} lq_app_timer;

typedef struct lq_app_watch {
  int active, edges;
  uint32_t debounce_ms;
  int stable, candidate;
  uint64_t since_ms;
} lq_app_watch;

typedef struct lq_app {
  int used;
  char name[32];
  lq_module *module;
  lq_instance *inst;
  lq_func *f_start, *f_timer, *f_pin, *f_message;
  lq_func *f_migrate_out, *f_migrate_in; /* optional migration hooks */
  uint32_t caps;
  uint32_t max_pages; /* manifest memory.maximumPages (0: not given) */
  /* manifest "heapPointer": the exported global that is the app's bump allocator's pointer,
   * from which shared libraries' static data is taken (docs/linking.md); "" when absent */
  char heap_pointer[16];
  int ngrant_pins, ngrant_buses;
  char grant_pins[LQ_APP_GRANTS][16], grant_buses[LQ_APP_GRANTS][16];
  /* handles are per app, in the order the app opened its pins and buses, so that they mean
   * the same after a migration to a board that numbers its pins differently */
  int npins_open, nbuses_open;
  uint8_t pin_of[LQ_APP_GRANTS], bus_of[LQ_APP_GRANTS]; /* handle -> board index */
  lq_app_timer timers[LQ_APP_TIMERS];
  lq_app_watch watches[LQ_APP_GRANTS]; /* by pin handle */
  int nsubs;
  char subs[LQ_APP_SUBS][LQ_TOPIC_MAX];
  uint8_t sub_active[LQ_APP_SUBS];
  lq_event queue[LQ_APP_QUEUE];
  int q_head, q_len;
  /* the call in progress (possibly suspended by fuel) */
  int calling;
  lq_event current;
  uint64_t call_started_ms;
  /* restored from a snapshot without being started: kept, not scheduled, until START */
  int paused;
  /* A SNAPSHOT is waiting for this app: no new event starts (and no timer or pin is polled)
   * before this time, so that the call in progress is the last one before the freeze. Each
   * SNAPSHOT answered EBUSY extends it; a host that stops asking lets it lapse. 0: none. */
  uint64_t hold_until_ms;
  /* on_migrate_out for a migrating SNAPSHOT: 0 not asked, 1 due or running, 2 returned */
  int migrate_out;
} lq_app;

/* The app whose code is running now (set around every call into wasm). */
extern lq_app *lq_current_app;

/* HAL implementation helpers (hal_impl.c). */
/* Forgets pin modes and levels (at boot). */
void lq_hal_reset_state(void);
/* The app's handle for a board pin/bus (same handle when opened again), or LQ_HAL_EBUSY. */
int lq_app_pin_handle(lq_app *app, int board_index);
int lq_app_bus_handle(lq_app *app, int board_index);
/* Mode and last driven level of a board pin (-1 unknown), and setting them back (restore). */
int lq_hal_pin_state(int board_index, int *mode, int *level);
int lq_hal_pin_restore(int board_index, int mode, int level);
int lq_app_grants_parse(lq_app *app, const char *manifest, uint32_t len, char *msg, size_t cap);
uint32_t lq_capability_bit(const char *module, size_t len);
/* The message being delivered to on_message (for msg.read / msg.topic). */
int lq_msg_current(const char **topic, const uint8_t **data, uint32_t *len);
/* Queues an event for an app; returns 0 or -1 when its queue is full. */
int lq_app_enqueue(lq_app *app, const lq_event *ev);
/* Publishes to every subscriber (delivered later, never inside the publisher's call). */
int lq_msg_publish(const char *topic, size_t tlen, const uint8_t *data, size_t dlen);
/* Trace a GPIO output change: "gpio T NAME V" with T the time of the event being handled. */
void lq_trace_gpio(const char *pin, int value);
uint64_t lq_event_time_ms(void);

#endif
