/*
 * flash_sim.h — NOR flash simulation for the posix port: erase blocks, program pages, bits only
 * cleared by erase (programming a 0 bit back to 1 is an error), optional backing file, and
 * power-cut injection for the store's power-fail test.
 */
#ifndef LQ_FLASH_SIM_H
#define LQ_FLASH_SIM_H
#include <stdint.h>

/* Sets up a flash of `size` bytes. `path` (may be NULL) is a file that holds the image across
 * runs: loaded if present (its size must match), created erased otherwise. Returns 0 or -1. */
int lq_flash_sim_open(const char *path, uint32_t size, uint32_t page_size, uint32_t block_size);
void lq_flash_sim_close(void);
/* After `ops` more successful program/erase operations the next one is torn (a prefix of it is
 * applied) and it and every later one fail with LQ_PORT_EPOWER. -1 disables. */
void lq_flash_sim_cut_after(long ops);
/* With a code other than 0, the process exits with it right after the torn operation, as a
 * device loses power (used by liquid-device --power-cut-after). */
void lq_flash_sim_exit_on_cut(int code);
/* Power back on: operations work again (the torn state stays, as on real flash). */
void lq_flash_sim_power_on(void);
/* Program/erase operations done since open. */
long lq_flash_sim_ops(void);
#endif
