/*
 * main.c — the Liquid firmware on the nRF52840: clocks and peripherals, then the runtime.
 */
#include "liquid_port.h"

void lq_nrf_port_init(void);

int main(void) {
  lq_nrf_port_init();
  (void)lq_runtime_init(); /* on failure the protocol still runs, so the host can see why */
  lq_runtime_run();
  return 0;
}
