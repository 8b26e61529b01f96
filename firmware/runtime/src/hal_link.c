/*
 * Links app imports to the HAL implementation: one engine host function per HAL function.
 * Every wrapper unmarshals the wasm arguments, bounds-checks each (ptr, len) pair against the
 * calling instance's memory, and calls lq_hal_MODULE_NAME (hal_impl.c).
 *
 * This table mirrors hal/hal.json; test/firmware checks that it names exactly the functions
 * of the spec, with the same types, so the two cannot drift apart silently.
 */
#include <stdio.h>
#include <string.h>

#include "lq_app.h"
#include "lq_hal_impl.h"
#include "lq_hal_link.h"

typedef struct hal_fn {
  const char *module, *name, *params, *results;
  uint8_t ptr_args; /* bit k: argument k is a pointer whose length is argument k+1 */
  uint8_t id;
} hal_fn;

enum {
  F_GPIO_OPEN, F_GPIO_MODE, F_GPIO_WRITE, F_GPIO_READ, F_GPIO_TOGGLE, F_GPIO_WATCH,
  F_GPIO_UNWATCH, F_I2C_OPEN, F_I2C_WRITE, F_I2C_READ, F_I2C_WRITE_READ, F_I2C_SCAN,
  F_TIME_NOW_MS, F_TIME_NOW_US, F_TIME_TIMER_START, F_TIME_TIMER_CANCEL, F_LOG_WRITE,
  F_DEVICE_INFO, F_DEVICE_HAS, F_MSG_PUBLISH, F_MSG_SUBSCRIBE, F_MSG_UNSUBSCRIBE, F_MSG_READ,
  F_MSG_TOPIC, F_RANDOM_U32, F_RANDOM_FILL, F_COUNT
};

static const hal_fn TABLE[F_COUNT] = {
    {"gpio", "open", "ii", "i", 1, F_GPIO_OPEN},
    {"gpio", "mode", "ii", "i", 0, F_GPIO_MODE},
    {"gpio", "write", "ii", "i", 0, F_GPIO_WRITE},
    {"gpio", "read", "i", "i", 0, F_GPIO_READ},
    {"gpio", "toggle", "i", "i", 0, F_GPIO_TOGGLE},
    {"gpio", "watch", "iii", "i", 0, F_GPIO_WATCH},
    {"gpio", "unwatch", "i", "i", 0, F_GPIO_UNWATCH},
    {"i2c", "open", "ii", "i", 1, F_I2C_OPEN},
    {"i2c", "write", "iiii", "i", 4, F_I2C_WRITE},
    {"i2c", "read", "iiii", "i", 4, F_I2C_READ},
    {"i2c", "write_read", "iiiiii", "i", 4 | 16, F_I2C_WRITE_READ},
    {"i2c", "scan", "iii", "i", 2, F_I2C_SCAN},
    {"time", "now_ms", "", "I", 0, F_TIME_NOW_MS},
    {"time", "now_us", "", "I", 0, F_TIME_NOW_US},
    {"time", "timer_start", "ii", "i", 0, F_TIME_TIMER_START},
    {"time", "timer_cancel", "i", "i", 0, F_TIME_TIMER_CANCEL},
    {"log", "write", "iii", "", 2, F_LOG_WRITE},
    {"device", "info", "ii", "i", 1, F_DEVICE_INFO},
    {"device", "has", "ii", "i", 1, F_DEVICE_HAS},
    {"msg", "publish", "iiii", "i", 1 | 4, F_MSG_PUBLISH},
    {"msg", "subscribe", "ii", "i", 1, F_MSG_SUBSCRIBE},
    {"msg", "unsubscribe", "i", "i", 0, F_MSG_UNSUBSCRIBE},
    {"msg", "read", "ii", "i", 1, F_MSG_READ},
    {"msg", "topic", "ii", "i", 1, F_MSG_TOPIC},
    {"random", "u32", "", "i", 0, F_RANDOM_U32},
    {"random", "fill", "ii", "", 1, F_RANDOM_FILL},
};

static lq_func *funcs[F_COUNT];

int32_t lq_hal_trap(lq_hal_call *call, const char *message) {
  snprintf(call->trap_message, sizeof call->trap_message, "%s", message);
  call->trap = call->trap_message;
  return 0;
}

static lq_status wrapper(lq_instance *caller, void *user, const lq_value *args, lq_value *results) {
  const hal_fn *f = (const hal_fn *)user;
  lq_hal_call call;
  uint8_t *mem = NULL, *p[6] = {0};
  uint32_t size = 0, a[6] = {0};
  size_t k, n = strlen(f->params);
  int32_t r = 0;
  int64_t r64 = 0;
  call.instance = caller;
  call.trap = NULL;
  if (!caller) return LQ_TRAP;
  for (k = 0; k < n; k++) a[k] = args[k].of.i32;
  if (f->ptr_args) {
    lq_memory *m = lq_instance_memory(caller);
    if (m) {
      mem = lq_memory_data(m);
      size = lq_memory_size(m);
    }
    for (k = 0; k + 1 < n; k++) {
      if (!(f->ptr_args & (1u << k))) continue;
      if ((uint64_t)a[k] + a[k + 1] > size) {
        char msg[LQ_MESSAGE_MAX];
        snprintf(msg, sizeof msg,
                 "out-of-bounds pointer passed to %s.%s (ptr=%lu len=%lu, memory is %lu bytes)",
                 f->module, f->name, (unsigned long)a[k], (unsigned long)a[k + 1],
                 (unsigned long)size);
        return lq_host_trap(caller, msg);
      }
      p[k] = mem ? mem + a[k] : NULL;
    }
  }
#define I(k) ((int32_t)a[k])
  switch (f->id) {
    case F_GPIO_OPEN: r = lq_hal_gpio_open(&call, p[0], a[1]); break;
    case F_GPIO_MODE: r = lq_hal_gpio_mode(&call, I(0), I(1)); break;
    case F_GPIO_WRITE: r = lq_hal_gpio_write(&call, I(0), I(1)); break;
    case F_GPIO_READ: r = lq_hal_gpio_read(&call, I(0)); break;
    case F_GPIO_TOGGLE: r = lq_hal_gpio_toggle(&call, I(0)); break;
    case F_GPIO_WATCH: r = lq_hal_gpio_watch(&call, I(0), I(1), I(2)); break;
    case F_GPIO_UNWATCH: r = lq_hal_gpio_unwatch(&call, I(0)); break;
    case F_I2C_OPEN: r = lq_hal_i2c_open(&call, p[0], a[1]); break;
    case F_I2C_WRITE: r = lq_hal_i2c_write(&call, I(0), I(1), p[2], a[3]); break;
    case F_I2C_READ: r = lq_hal_i2c_read(&call, I(0), I(1), p[2], a[3]); break;
    case F_I2C_WRITE_READ: r = lq_hal_i2c_write_read(&call, I(0), I(1), p[2], a[3], p[4], a[5]); break;
    case F_I2C_SCAN: r = lq_hal_i2c_scan(&call, I(0), p[1], a[2]); break;
    case F_TIME_NOW_MS: r64 = lq_hal_time_now_ms(&call); break;
    case F_TIME_NOW_US: r64 = lq_hal_time_now_us(&call); break;
    case F_TIME_TIMER_START: r = lq_hal_time_timer_start(&call, I(0), I(1)); break;
    case F_TIME_TIMER_CANCEL: r = lq_hal_time_timer_cancel(&call, I(0)); break;
    case F_LOG_WRITE: lq_hal_log_write(&call, I(0), p[1], a[2]); break;
    case F_DEVICE_INFO: r = lq_hal_device_info(&call, p[0], a[1]); break;
    case F_DEVICE_HAS: r = lq_hal_device_has(&call, p[0], a[1]); break;
    case F_MSG_PUBLISH: r = lq_hal_msg_publish(&call, p[0], a[1], p[2], a[3]); break;
    case F_MSG_SUBSCRIBE: r = lq_hal_msg_subscribe(&call, p[0], a[1]); break;
    case F_MSG_UNSUBSCRIBE: r = lq_hal_msg_unsubscribe(&call, I(0)); break;
    case F_MSG_READ: r = lq_hal_msg_read(&call, p[0], a[1]); break;
    case F_MSG_TOPIC: r = lq_hal_msg_topic(&call, p[0], a[1]); break;
    case F_RANDOM_U32: r = lq_hal_random_u32(&call); break;
    default: lq_hal_random_fill(&call, p[0], a[1]); break;
  }
#undef I
  if (call.trap) return lq_host_trap(caller, call.trap);
  if (f->results[0] == 'i') results[0] = lq_i32(r);
  else if (f->results[0] == 'I') results[0] = lq_i64(r64);
  return LQ_OK;
}

static const hal_fn *lookup(const lq_import_info *im) {
  int i;
  for (i = 0; i < F_COUNT; i++)
    if (strlen(TABLE[i].module) == im->module_len && !memcmp(TABLE[i].module, im->module, im->module_len) &&
        strlen(TABLE[i].name) == im->name_len && !memcmp(TABLE[i].name, im->name, im->name_len))
      return &TABLE[i];
  return NULL;
}

int lq_hal_link_init(lq_engine *engine) {
  int i;
  for (i = 0; i < F_COUNT; i++) {
    lq_error err;
    if (lq_func_new_host(engine, TABLE[i].params, TABLE[i].results, wrapper, (void *)&TABLE[i],
                         &funcs[i], &err) != LQ_OK)
      return -1;
  }
  return 0;
}

void lq_hal_link_free(void) {
  int i;
  for (i = 0; i < F_COUNT; i++) {
    if (funcs[i]) lq_func_free(funcs[i]);
    funcs[i] = NULL;
  }
}

int lq_hal_link_check(const lq_import_info *im, char *msg, size_t cap) {
  const hal_fn *f = lookup(im);
  if (!f) {
    snprintf(msg, cap, "unknown import %.*s.%.*s: not a function of the HAL", (int)im->module_len,
             im->module, (int)im->name_len, im->name);
    return -1;
  }
  if (im->type.kind != LQ_EXTERN_FUNC || strcmp(im->type.params, f->params) != 0 ||
      strcmp(im->type.results, f->results) != 0) {
    snprintf(msg, cap, "import %s.%s has the wrong type (the HAL has (%s) -> (%s))", f->module,
             f->name, f->params, f->results);
    return -1;
  }
  return 0;
}

lq_status lq_hal_link_resolve(const lq_import_info *im, lq_extern *out) {
  const hal_fn *f = lookup(im);
  if (!f) return LQ_ERROR;
  out->kind = LQ_EXTERN_FUNC;
  out->of.func = funcs[f->id];
  return LQ_OK;
}
