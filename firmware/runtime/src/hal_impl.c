/*
 * The runtime's implementation of the HAL (hal/hal.json): one function per host function,
 * called by the generated dispatch (firmware/hal/generated) after it has unmarshalled the
 * arguments and bounds-checked every pointer. Here go the per-app grants: a pin or bus not
 * named by the app's manifest traps with a message naming the app and the resource.
 */
#include <stdio.h>
#include <string.h>

#include "liquid_port.h"
#include "lq_app.h"
#include "lq_hal_link.h"


static int8_t pin_level[LQ_BOARD_MAX_PINS]; /* last level driven, -1 unknown */
static int8_t pin_mode[LQ_BOARD_MAX_PINS];

void lq_hal_reset_state(void) {
  memset(pin_level, -1, sizeof pin_level);
  memset(pin_mode, -1, sizeof pin_mode);
}

uint32_t lq_capability_bit(const char *name, size_t len) {
  return lq_hal_capability_bit(name, (uint32_t)len);
}

int lq_app_grants_parse(lq_app *app, const char *manifest, uint32_t len, char *msg, size_t cap) {
  lq_json doc, v, list, item;
  size_t pos;
  if (lq_json_parse(manifest, len, &doc) != 0 || lq_json_kind(doc) != '{') {
    snprintf(msg, cap, "the manifest is not a JSON object");
    return -1;
  }
  app->caps = 0;
  if (lq_json_get(doc, "capabilities", &list) == 0 && lq_json_kind(list) == '[') {
    pos = 0;
    while (lq_json_next(list, &pos, NULL, &item) == 0) {
      char name[16];
      int n = lq_json_string(item, name, sizeof name);
      if (n > 0) app->caps |= lq_capability_bit(name, (size_t)n);
    }
  }
  app->max_pages = 0;
  if (lq_json_get(doc, "memory", &v) == 0 && lq_json_kind(v) == '{') {
    lq_json m;
    long pages;
    if (lq_json_get(v, "maximumPages", &m) == 0 && lq_json_int(m, &pages) == 0 && pages >= 0)
      app->max_pages = (uint32_t)(pages > 65536 ? 65536 : pages);
  }
  app->heap_pointer[0] = '\0';
  if (lq_json_get(doc, "heapPointer", &v) == 0 && lq_json_string(v, app->heap_pointer, sizeof app->heap_pointer) <= 0)
    app->heap_pointer[0] = '\0';
  app->ngrant_pins = app->ngrant_buses = 0;
  if (lq_json_get(doc, "resources", &v) == 0 && lq_json_kind(v) == '{') {
    if (lq_json_get(v, "pins", &list) == 0 && lq_json_kind(list) == '[') {
      pos = 0;
      while (app->ngrant_pins < LQ_APP_GRANTS && lq_json_next(list, &pos, NULL, &item) == 0)
        if (lq_json_string(item, app->grant_pins[app->ngrant_pins], 16) > 0) app->ngrant_pins++;
    }
    if (lq_json_get(v, "buses", &list) == 0 && lq_json_kind(list) == '[') {
      pos = 0;
      while (app->ngrant_buses < LQ_APP_GRANTS && lq_json_next(list, &pos, NULL, &item) == 0)
        if (lq_json_string(item, app->grant_buses[app->ngrant_buses], 16) > 0) app->ngrant_buses++;
    }
  }
  return 0;
}

static int granted(char list[][16], int n, const uint8_t *name, uint32_t len) {
  int i;
  for (i = 0; i < n; i++)
    if (strlen(list[i]) == len && !memcmp(list[i], name, len)) return 1;
  return 0;
}

/* The calling app: the instance's user pointer, or (while it is being instantiated and its
 * start section runs) the app the runtime is loading. */
static lq_app *app_of(lq_hal_call *call) {
  lq_app *app = call && call->instance ? (lq_app *)lq_instance_user(call->instance) : NULL;
  return app ? app : lq_current_app;
}

void lq_trace_gpio(const char *pin, int value) {
  char line[64];
  snprintf(line, sizeof line, "gpio %llu %s %d", (unsigned long long)lq_event_time_ms(), pin, value);
  lq_port_trace(line);
}

static int port_err(int rc) {
  switch (rc) {
    case LQ_PORT_OK: return 0;
    case LQ_PORT_ENACK: return LQ_HAL_ENACK;
    case LQ_PORT_ENOTSUP: return LQ_HAL_ENOTSUP;
    case LQ_PORT_EINVAL: return LQ_HAL_EINVAL;
    default: return LQ_HAL_EIO;
  }
}

/* ---- gpio ---------------------------------------------------------------------------- */

static int valid_pin(lq_app *app, int32_t pin) {
  return app && pin >= 0 && pin < app->npins_open;
}

/* board index of a valid pin handle */
#define BP(app, h) ((app)->pin_of[h])

int32_t lq_hal_gpio_open(lq_hal_call *call, const uint8_t *name, uint32_t name_len) {
  lq_app *app = app_of(call);
  int idx;
  if (!app) return LQ_HAL_EINVAL;
  if (!granted(app->grant_pins, app->ngrant_pins, name, name_len)) {
    char m[LQ_MESSAGE_MAX];
    snprintf(m, sizeof m, "app '%s' may not use pin %.*s: not granted by its manifest", app->name,
             (int)(name_len > 32 ? 32 : name_len), (const char *)name);
    return lq_hal_trap(call, m);
  }
  idx = lq_board_pin_index((const char *)name, name_len);
  if (idx < 0) return LQ_HAL_ENOENT;
  return lq_app_pin_handle(app, idx);
}

int32_t lq_hal_gpio_mode(lq_hal_call *call, int32_t pin, int32_t mode) {
  lq_app *app = app_of(call);
  int rc;
  if (!valid_pin(app, pin) || mode < 0 || mode > 3) return LQ_HAL_EINVAL;
  rc = lq_port_gpio_configure(lq_the_board.pins[BP(app, pin)].port_pin, mode);
  if (rc == 0) pin_mode[BP(app, pin)] = (int8_t)mode;
  return port_err(rc);
}

/* Drives board pin `b`; traces the change. */
static int32_t drive(int b, int value) {
  int rc = lq_port_gpio_write(lq_the_board.pins[b].port_pin, value);
  if (rc != 0) return port_err(rc);
  if (pin_level[b] != value) lq_trace_gpio(lq_the_board.pins[b].name, value);
  pin_level[b] = (int8_t)value;
  return 0;
}

int32_t lq_hal_gpio_write(lq_hal_call *call, int32_t pin, int32_t value) {
  lq_app *app = app_of(call);
  if (!valid_pin(app, pin)) return LQ_HAL_EINVAL;
  return drive(BP(app, pin), value ? 1 : 0);
}

int32_t lq_hal_gpio_read(lq_hal_call *call, int32_t pin) {
  lq_app *app = app_of(call);
  int rc, b;
  if (!valid_pin(app, pin)) return LQ_HAL_EINVAL;
  b = BP(app, pin);
  if (pin_mode[b] == LQ_PORT_PIN_OUTPUT && pin_level[b] >= 0) return pin_level[b];
  rc = lq_port_gpio_read(lq_the_board.pins[b].port_pin);
  return rc < 0 ? port_err(rc) : rc;
}

int32_t lq_hal_gpio_toggle(lq_hal_call *call, int32_t pin) {
  lq_app *app = app_of(call);
  int32_t rc, next;
  if (!valid_pin(app, pin)) return LQ_HAL_EINVAL;
  next = pin_level[BP(app, pin)] == 1 ? 0 : 1;
  rc = drive(BP(app, pin), next);
  return rc < 0 ? rc : next;
}

int32_t lq_hal_gpio_watch(lq_hal_call *call, int32_t pin, int32_t edges, int32_t debounce_ms) {
  lq_app *app = app_of(call);
  lq_app_watch *w;
  int level;
  if (!valid_pin(app, pin) || edges < 1 || edges > 3 || debounce_ms < 0 || debounce_ms > 60000)
    return LQ_HAL_EINVAL;
  level = lq_port_gpio_read(lq_the_board.pins[BP(app, pin)].port_pin);
  if (level < 0) return port_err(level);
  w = &app->watches[pin];
  w->active = 1;
  w->edges = edges;
  w->debounce_ms = (uint32_t)debounce_ms;
  w->stable = w->candidate = level;
  w->since_ms = lq_now_ms();
  lq_port_gpio_notify(lq_the_board.pins[BP(app, pin)].port_pin, 1); /* ENOTSUP is fine: we poll */
  return 0;
}

int32_t lq_hal_gpio_unwatch(lq_hal_call *call, int32_t pin) {
  lq_app *app = app_of(call);
  if (!valid_pin(app, pin) || !app->watches[pin].active) return LQ_HAL_EINVAL;
  app->watches[pin].active = 0;
  lq_port_gpio_notify(lq_the_board.pins[BP(app, pin)].port_pin, 0);
  return 0;
}

int lq_app_pin_handle(lq_app *app, int board_index) {
  int h;
  for (h = 0; h < app->npins_open; h++)
    if (app->pin_of[h] == board_index) return h;
  if (app->npins_open == LQ_APP_GRANTS) return LQ_HAL_EBUSY;
  app->pin_of[app->npins_open] = (uint8_t)board_index;
  return app->npins_open++;
}

int lq_app_bus_handle(lq_app *app, int board_index) {
  int h;
  for (h = 0; h < app->nbuses_open; h++)
    if (app->bus_of[h] == board_index) return h;
  if (app->nbuses_open == LQ_APP_GRANTS) return LQ_HAL_EBUSY;
  app->bus_of[app->nbuses_open] = (uint8_t)board_index;
  return app->nbuses_open++;
}

int lq_hal_pin_state(int board_index, int *mode, int *level) {
  *mode = pin_mode[board_index];
  *level = pin_level[board_index];
  return 0;
}

int lq_hal_pin_restore(int board_index, int mode, int level) {
  if (mode >= 0 && lq_port_gpio_configure(lq_the_board.pins[board_index].port_pin, mode) == 0)
    pin_mode[board_index] = (int8_t)mode;
  if (level >= 0 && mode == LQ_PORT_PIN_OUTPUT) return drive(board_index, level);
  return 0;
}

/* ---- i2c ------------------------------------------------------------------------------ */

static int valid_bus(lq_app *app, int32_t bus) {
  return app && bus >= 0 && bus < app->nbuses_open;
}

int32_t lq_hal_i2c_open(lq_hal_call *call, const uint8_t *name, uint32_t name_len) {
  lq_app *app = app_of(call);
  int idx;
  if (!app) return LQ_HAL_EINVAL;
  if (!granted(app->grant_buses, app->ngrant_buses, name, name_len)) {
    char m[LQ_MESSAGE_MAX];
    snprintf(m, sizeof m, "app '%s' may not use bus %.*s: not granted by its manifest", app->name,
             (int)(name_len > 32 ? 32 : name_len), (const char *)name);
    return lq_hal_trap(call, m);
  }
  idx = lq_board_bus_index((const char *)name, name_len);
  if (idx < 0) return LQ_HAL_ENOENT;
  return lq_app_bus_handle(app, idx);
}

static int32_t transfer(lq_hal_call *call, int32_t bus, int32_t addr, const uint8_t *w,
                        uint32_t wl, uint8_t *r, uint32_t rl, int32_t ok) {
  int rc;
  if (!valid_bus(app_of(call), bus) || addr < 0 || addr > 0x7F) return LQ_HAL_EINVAL;
  rc = lq_port_i2c_transfer(lq_the_board.buses[app_of(call)->bus_of[bus]].port_bus, (uint8_t)addr,
                            w, wl, r, rl);
  return rc == 0 ? ok : port_err(rc);
}

int32_t lq_hal_i2c_write(lq_hal_call *call, int32_t bus, int32_t addr, const uint8_t *data,
                         uint32_t len) {
  return transfer(call, bus, addr, data, len, NULL, 0, (int32_t)len);
}

int32_t lq_hal_i2c_read(lq_hal_call *call, int32_t bus, int32_t addr, uint8_t *data, uint32_t len) {
  return transfer(call, bus, addr, NULL, 0, data, len, (int32_t)len);
}

int32_t lq_hal_i2c_write_read(lq_hal_call *call, int32_t bus, int32_t addr, const uint8_t *wdata,
                              uint32_t wlen, uint8_t *rdata, uint32_t rlen) {
  return transfer(call, bus, addr, wdata, wlen, rdata, rlen, (int32_t)rlen);
}

int32_t lq_hal_i2c_scan(lq_hal_call *call, int32_t bus, uint8_t *out, uint32_t cap) {
  int32_t found = 0;
  uint8_t addr;
  uint32_t port;
  if (!valid_bus(app_of(call), bus)) return LQ_HAL_EINVAL;
  port = lq_the_board.buses[app_of(call)->bus_of[bus]].port_bus;
  for (addr = 0x08; addr <= 0x77; addr++) {
    if (lq_port_i2c_transfer(port, addr, NULL, 0, NULL, 0) != 0) continue;
    if ((uint32_t)found < cap) out[found] = addr;
    found++;
  }
  return found;
}

/* ---- time ----------------------------------------------------------------------------- */

int64_t lq_hal_time_now_ms(lq_hal_call *call) {
  (void)call;
  return (int64_t)lq_now_ms();
}

int64_t lq_hal_time_now_us(lq_hal_call *call) {
  (void)call;
  return (int64_t)lq_port_time_us();
}

int32_t lq_hal_time_timer_start(lq_hal_call *call, int32_t ms, int32_t periodic) {
  lq_app *app = app_of(call);
  int i;
  if (!app || ms < 0 || (periodic && ms < 1)) return LQ_HAL_EINVAL;
  for (i = 0; i < LQ_APP_TIMERS; i++)
    if (!app->timers[i].active) {
      lq_app_timer *t = &app->timers[i];
      t->active = 1;
      t->periodic = periodic != 0;
      t->period_ms = (uint32_t)ms;
      /* measured from the event being handled, so periodic timers keep an exact grid */
      t->due_ms = lq_event_time_ms() + (uint32_t)ms;
      return i;
    }
  return LQ_HAL_EBUSY;
}

int32_t lq_hal_time_timer_cancel(lq_hal_call *call, int32_t timer) {
  lq_app *app = app_of(call);
  if (!app || timer < 0 || timer >= LQ_APP_TIMERS || !app->timers[timer].active) return LQ_HAL_EINVAL;
  app->timers[timer].active = 0;
  return 0;
}

/* ---- log ------------------------------------------------------------------------------ */

void lq_hal_log_write(lq_hal_call *call, int32_t level, const uint8_t *text, uint32_t len) {
  lq_app *app = app_of(call);
  if (level < 0) level = 0;
  if (level > 3) level = 3;
  lq_log_text(level, app ? app->name : NULL, (const char *)text, len);
}

/* ---- device --------------------------------------------------------------------------- */

int32_t lq_hal_device_info(lq_hal_call *call, uint8_t *out, uint32_t cap) {
  char *doc = lq_scratch;
  size_t n = lq_board_info_json(doc, LQ_SCRATCH_SIZE);
  (void)call;
  if (n >= LQ_SCRATCH_SIZE) return LQ_HAL_ENOSPC;
  if (n <= cap) memcpy(out, doc, n);
  return (int32_t)n;
}

int32_t lq_hal_device_has(lq_hal_call *call, const uint8_t *name, uint32_t name_len) {
  (void)call;
  return lq_board_has((const char *)name, name_len);
}

/* ---- msg ------------------------------------------------------------------------------ */

int32_t lq_hal_msg_publish(lq_hal_call *call, const uint8_t *topic, uint32_t topic_len,
                           const uint8_t *data, uint32_t data_len) {
  (void)call;
  if (topic_len == 0 || topic_len >= LQ_TOPIC_MAX || data_len > 256) return LQ_HAL_EINVAL;
  if (memchr(topic, '#', topic_len) || memchr(topic, '+', topic_len)) return LQ_HAL_EINVAL;
  return lq_msg_publish((const char *)topic, topic_len, data, data_len) == 0 ? 0 : LQ_HAL_EBUSY;
}

int32_t lq_hal_msg_subscribe(lq_hal_call *call, const uint8_t *topic, uint32_t topic_len) {
  lq_app *app = app_of(call);
  int i;
  const uint8_t *hash;
  if (!app || topic_len == 0 || topic_len >= LQ_TOPIC_MAX) return LQ_HAL_EINVAL;
  /* an exact topic, or "a/b/#" for every topic under a/b/; no other wildcard */
  hash = (const uint8_t *)memchr(topic, '#', topic_len);
  if (memchr(topic, '+', topic_len) ||
      (hash && (hash != topic + topic_len - 1 || topic_len < 3 || topic[topic_len - 2] != '/')))
    return LQ_HAL_EINVAL;
  for (i = 0; i < LQ_APP_SUBS; i++)
    if (!app->sub_active[i]) {
      memcpy(app->subs[i], topic, topic_len);
      app->subs[i][topic_len] = 0;
      app->sub_active[i] = 1;
      if (i >= app->nsubs) app->nsubs = i + 1;
      return i;
    }
  return LQ_HAL_EBUSY;
}

int32_t lq_hal_msg_unsubscribe(lq_hal_call *call, int32_t subscription) {
  lq_app *app = app_of(call);
  if (!app || subscription < 0 || subscription >= LQ_APP_SUBS || !app->sub_active[subscription])
    return LQ_HAL_EINVAL;
  app->sub_active[subscription] = 0;
  return 0;
}

int32_t lq_hal_msg_read(lq_hal_call *call, uint8_t *out, uint32_t cap) {
  const char *topic;
  const uint8_t *data;
  uint32_t len;
  (void)call;
  if (lq_msg_current(&topic, &data, &len) != 0) return LQ_HAL_EINVAL;
  if (len > cap) return LQ_HAL_ENOSPC;
  memcpy(out, data, len);
  return (int32_t)len;
}

int32_t lq_hal_msg_topic(lq_hal_call *call, uint8_t *out, uint32_t cap) {
  const char *topic;
  const uint8_t *data;
  uint32_t len, n;
  (void)call;
  if (lq_msg_current(&topic, &data, &len) != 0) return LQ_HAL_EINVAL;
  n = (uint32_t)strlen(topic);
  if (n > cap) return LQ_HAL_ENOSPC;
  memcpy(out, topic, n);
  return (int32_t)n;
}

/* ---- random --------------------------------------------------------------------------- */

int32_t lq_hal_random_u32(lq_hal_call *call) {
  (void)call;
  return (int32_t)lq_port_random();
}

void lq_hal_random_fill(lq_hal_call *call, uint8_t *out, uint32_t len) {
  uint32_t i;
  (void)call;
  for (i = 0; i < len; i++) out[i] = (uint8_t)(lq_port_random() >> 24);
}
