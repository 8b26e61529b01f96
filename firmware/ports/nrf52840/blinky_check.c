/*
 * blinky_check.c — a bring-up image for a new nRF52840 board (built as
 * liquid-nrf52840-check): no runtime, just the port's drivers. It lights LED1..LED4 in turn
 * (the DK's LEDs are active low: 0 lights them),
 * then every 500 ms toggles LED1, scans the I2C bus and writes one line on the UART:
 *   "liquid nrf52840 check t=<ms> i2c=<addresses that ACK> button0=<0|1>"
 * What it proves on hardware: clocks, RTC time, GPIO polarity, UARTE TX, TWIM.
 */
#include <string.h>

#include "liquid_port.h"
#include "nrf_port.h"

#define LED_FIRST 13u
#define BUTTON0 11u

void lq_nrf_port_init(void);
void lq_runtime_pin_changed(uint32_t pin) { (void)pin; }

static void say(const char *text) { lq_uarte_write_all((const uint8_t *)text, strlen(text)); }

static void say_num(uint32_t v, int base) {
  char text[11];
  int i = 10;
  text[i] = 0;
  do {
    text[--i] = "0123456789abcdef"[v % (uint32_t)base];
    v /= (uint32_t)base;
  } while (v);
  say(&text[i]);
}

static void sleep_ms(uint32_t ms) {
  uint64_t until = lq_time_us() + ms * 1000ull;
  while (lq_time_us() < until) {
    lq_time_wake_at(until);
    lq_wfi();
    lq_watchdog_kick();
  }
}

int main(void) {
  lq_nrf_port_init();
  for (uint32_t led = 0; led < 4; led++) {
    (void)lq_gpio_write(LED_FIRST + led, 1); /* off before becoming an output */
    (void)lq_gpio_configure(LED_FIRST + led, LQ_PORT_PIN_OUTPUT);
  }
  (void)lq_gpio_configure(BUTTON0, LQ_PORT_PIN_INPUT_PULLUP);
  for (uint32_t led = 0; led < 4; led++) {
    (void)lq_gpio_write(LED_FIRST + led, 0);
    sleep_ms(150);
    (void)lq_gpio_write(LED_FIRST + led, 1);
  }
  for (int on = 1;; on = !on) {
    (void)lq_gpio_write(LED_FIRST, on);
    say("liquid nrf52840 check t=");
    say_num((uint32_t)(lq_time_us() / 1000u), 10);
    say(" i2c=");
    for (uint8_t addr = 0x08; addr <= 0x77; addr++) {
      if (lq_twim_transfer(addr, NULL, 0, NULL, 0) == LQ_PORT_OK) {
        say("0x");
        say_num(addr, 16);
        say(",");
      }
    }
    say(" button0=");
    say_num((uint32_t)lq_gpio_read(BUTTON0), 10);
    say("\r\n");
    sleep_ms(500);
  }
}
