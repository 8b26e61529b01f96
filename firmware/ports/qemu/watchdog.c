/*
 * watchdog.c — see watchdog.h. Every register write needs the lock opened first; the lock is
 * closed again so that a stray write cannot disarm the dog. The NMI itself is handled in
 * fault.c (lq_watchdog_bark), which reports and then lets the reset happen.
 */
#include "watchdog.h"

#include "cortex_m.h"
#include "mps2_an386.h"

static int started;

void lq_watchdog_start(void) {
  LQ_REG32(WDOG_LOCK) = WDOG_UNLOCK_KEY;
  LQ_REG32(WDOG_LOAD) = MPS2_SYSCLK_HZ / 1000u * LQ_WATCHDOG_BARK_MS;
  LQ_REG32(WDOG_CONTROL) = WDOG_CONTROL_INTEN | WDOG_CONTROL_RESEN;
  LQ_REG32(WDOG_LOCK) = 0;
  started = 1;
}

void lq_watchdog_kick(void) {
  if (!started) return;
  LQ_REG32(WDOG_LOCK) = WDOG_UNLOCK_KEY;
  LQ_REG32(WDOG_INTCLR) = 1; /* clears the interrupt and reloads the counter */
  LQ_REG32(WDOG_LOCK) = 0;
}
