/*
 * fpgaio_leds.h — the board's user LEDs as output pins:
 *   LED0, LED1   the FPGA IO LED register (0x40028000), bits 0-1
 *   LED2..LED9   the eight MCC user LEDs behind the serial configuration controller's CFG1
 *                register (0x4002F004), bits 0-7
 */
#ifndef LQ_FPGAIO_LEDS_H
#define LQ_FPGAIO_LEDS_H

#include <stdint.h>

#define LQ_LED_COUNT 10u

void lq_leds_init(void);
void lq_led_write(uint32_t led, int on);
int lq_led_read(uint32_t led);

#endif /* LQ_FPGAIO_LEDS_H */
