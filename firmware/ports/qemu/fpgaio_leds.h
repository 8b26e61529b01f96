/*
 * fpgaio_leds.h — the MPS2 FPGA IO user LEDs (LED0, LED1) as output pins.
 */
#ifndef LQ_FPGAIO_LEDS_H
#define LQ_FPGAIO_LEDS_H

#include <stdint.h>

#define LQ_LED_COUNT 2u

void lq_leds_init(void);
void lq_led_write(uint32_t led, int on);
int lq_led_read(uint32_t led);

#endif /* LQ_FPGAIO_LEDS_H */
