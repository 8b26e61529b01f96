/*
 * main.c — the Liquid firmware on QEMU mps2-an386: bring the board up, then hand over to
 * the runtime for good.
 */
#include "liquid_port.h"

void lq_qemu_port_init(void);

int main(void) {
  lq_qemu_port_init();
  lq_port_trace("liquid: mps2-an386 port up");
  if (lq_runtime_init() != 0) lq_port_trace("liquid: runtime init failed; serving the protocol anyway");
  lq_runtime_run();
  return 0;
}
