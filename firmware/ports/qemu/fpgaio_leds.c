/*
 * fpgaio_leds.c — see fpgaio_leds.h. QEMU traces writes to both registers (trace events
 * mps2_fpgaio_write and mps2_scc_write), which is how tests watch the LEDs; only real edges
 * are written, so every traced write is an edge.
 */
#include "fpgaio_leds.h"

#include "cortex_m.h"
#include "mps2_an386.h"

static uint32_t fpgaio_shadow; /* LED0-LED1 */
static uint32_t scc_shadow;    /* LED2-LED9 */

void lq_leds_init(void) {
  fpgaio_shadow = 0;
  scc_shadow = 0;
  LQ_REG32(MPS2_FPGAIO_LED) = 0;
  LQ_REG32(MPS2_SCC_CFG1) = 0;
}

static void update(uint32_t *shadow, uint32_t reg, uint32_t bit, int on) {
  uint32_t next = on ? (*shadow | bit) : (*shadow & ~bit);
  if (next == *shadow) return;
  *shadow = next;
  LQ_REG32(reg) = next;
}

void lq_led_write(uint32_t led, int on) {
  if (led < MPS2_FPGAIO_LED_COUNT) update(&fpgaio_shadow, MPS2_FPGAIO_LED, 1u << led, on);
  else if (led < LQ_LED_COUNT) update(&scc_shadow, MPS2_SCC_CFG1, 1u << (led - MPS2_FPGAIO_LED_COUNT), on);
}

int lq_led_read(uint32_t led) {
  if (led < MPS2_FPGAIO_LED_COUNT) return (int)((fpgaio_shadow >> led) & 1u);
  if (led < LQ_LED_COUNT) return (int)((scc_shadow >> (led - MPS2_FPGAIO_LED_COUNT)) & 1u);
  return 0;
}
