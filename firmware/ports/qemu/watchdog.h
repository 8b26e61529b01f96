/*
 * watchdog.h — the CMSDK watchdog: a runtime that stops kicking for WATCHDOG_BARK_MS gets a
 * console message (NMI), and the board resets one period later.
 */
#ifndef LQ_WATCHDOG_H
#define LQ_WATCHDOG_H

#define LQ_WATCHDOG_BARK_MS 2000u /* generous: QEMU's clock keeps running while a busy host delays the vCPU */

void lq_watchdog_start(void);
void lq_watchdog_kick(void);

#endif /* LQ_WATCHDOG_H */
