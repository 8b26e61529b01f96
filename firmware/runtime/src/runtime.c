/* Boot and the main loop (the entry points of liquid_port.h). */
#include <stdio.h>
#include <string.h>

#include "liquid_port.h"
#include "lq_app.h"
#include "lq_runtime.h"
#include "lq_store.h"

static volatile int pin_event; /* set from interrupt context by lq_runtime_pin_changed */
static uint64_t last_kick_us;

uint64_t lq_now_ms(void) { return lq_port_time_us() / 1000u; }

void lq_runtime_pin_changed(uint32_t pin) {
  (void)pin;
  pin_event = 1;
}

/*
 * Starts the autostart apps, guarded against boot loops: a module whose wasm start function
 * never returns hangs inside instantiation (the engine runs it without fuel metering), and a
 * watchdog reset would bring the device straight back into it. The store carries a flag while
 * autostart runs; a boot that finds it still set skips autostart once and says so.
 */
static void autostart(void) {
  int i, any = 0;
  for (i = 0; i < lq_store_count(); i++) any |= (lq_store_at(i)->flags & LQ_STORE_AUTOSTART) != 0;
  if (lq_store_flags() & LQ_STORE_FLAG_STARTING) {
    lq_log(LQ_LOG_ERROR, NULL,
           "the previous boot did not finish starting its apps: autostart skipped this time "
           "(START them by hand, or REMOVE the culprit)");
    lq_store_set_flags(lq_store_flags() & ~LQ_STORE_FLAG_STARTING);
    return;
  }
  if (!any) return;
  lq_store_set_flags(lq_store_flags() | LQ_STORE_FLAG_STARTING);
  lq_apps_autostart();
  lq_store_set_flags(lq_store_flags() & ~LQ_STORE_FLAG_STARTING);
}

int lq_runtime_init(void) {
  int rc;
  lq_log_reset();
  lq_protocol_init();
  lq_hal_reset_state();
  if (lq_board_load() != 0) return -1;
  lq_log(LQ_LOG_INFO, NULL, "liquid %s on board %s (%s), device %s", LQ_FIRMWARE_VERSION,
         lq_the_board.name, lq_port_arch(), lq_port_device_id());
  rc = lq_store_mount();
  if (rc != 0) {
    /* An unreadable store must not brick the device: start empty, say so loudly. */
    lq_log(LQ_LOG_ERROR, NULL, "store: %s; formatting", lq_store_error());
    if (lq_store_format() != 0) lq_log(LQ_LOG_ERROR, NULL, "store unusable: %s", lq_store_error());
  }
  lq_log(LQ_LOG_INFO, NULL, "store: %d apps, %lu of %lu bytes free", lq_store_count(),
         (unsigned long)lq_store_free(), (unsigned long)lq_store_total());
  lq_board_scan();
  lq_apps_init();
  autostart();
  lq_port_trace("ready");
  return 0;
}

/* Reboots: on hardware lq_port_reset does not return; elsewhere the runtime boots again. */
static void reboot(int factory) {
  lq_apps_unload_all();
  if (factory) lq_store_format();
  lq_port_reset();
  lq_runtime_init();
}

uint64_t lq_runtime_poll(void) {
  uint64_t now = lq_port_time_us(), next;
  if (now - last_kick_us >= LQ_WATCHDOG_KICK_MS * 1000u) {
    lq_port_watchdog_kick();
    last_kick_us = now;
  }
  pin_event = 0;
  lq_protocol_poll(now);
  if (lq_reset_requested && !lq_protocol_tx_pending()) {
    int factory = lq_reset_requested == 2;
    lq_reset_requested = 0;
    reboot(factory);
    return lq_port_time_us();
  }
  next = lq_apps_poll(lq_port_time_us());
  if (lq_reset_requested) next = now + 1000;
  if (next > now + LQ_WATCHDOG_KICK_MS * 1000u) next = now + LQ_WATCHDOG_KICK_MS * 1000u;
  return next;
}

void lq_runtime_run(void) {
  for (;;) {
    uint64_t next = lq_runtime_poll();
    if (!pin_event) lq_port_idle(next);
  }
}
