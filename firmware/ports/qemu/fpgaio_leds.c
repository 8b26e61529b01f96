/*
 * fpgaio_leds.c — see fpgaio_leds.h. One bit per LED in the FPGAIO LED0 register; QEMU
 * traces every write to it (trace event mps2_fpgaio_write), which is how tests see LEDs.
 */
#include "fpgaio_leds.h"

#include "cortex_m.h"
#include "mps2_an386.h"

static uint32_t shadow;

void lq_leds_init(void) {
  shadow = 0;
  LQ_REG32(MPS2_FPGAIO_LED) = shadow;
}

void lq_led_write(uint32_t led, int on) {
  if (led >= LQ_LED_COUNT) return;
  uint32_t next = on ? (shadow | (1u << led)) : (shadow & ~(1u << led));
  if (next == shadow) return; /* no write, no trace line: only real edges are observable */
  shadow = next;
  LQ_REG32(MPS2_FPGAIO_LED) = shadow;
}

int lq_led_read(uint32_t led) { return led < LQ_LED_COUNT ? (int)((shadow >> led) & 1u) : 0; }
