/*
 * clock.c — starts the 64 MHz crystal oscillator (HFXO: UART baud rates and TWI timing are
 * derived from HFCLK, and the internal RC is only accurate to a few percent) and the
 * 32.768 kHz low-frequency clock for RTC1. Boards without the 32 kHz crystal fall back to
 * the internal RC oscillator after a bounded wait instead of hanging at boot.
 */
#include "nrf52840.h"
#include "nrf_port.h"

#define LFXO_WAIT_SPINS 2000000u /* well over the crystal's typical 250 ms start-up */

void lq_clocks_start(void) {
  NRF_REG(CLOCK_EVENTS_HFCLKSTARTED) = 0;
  NRF_REG(CLOCK_TASKS_HFCLKSTART) = 1;
  while (NRF_REG(CLOCK_EVENTS_HFCLKSTARTED) == 0) {
  }

  NRF_REG(CLOCK_EVENTS_LFCLKSTARTED) = 0;
  NRF_REG(CLOCK_LFCLKSRC) = CLOCK_LFCLKSRC_XTAL;
  NRF_REG(CLOCK_TASKS_LFCLKSTART) = 1;
  for (uint32_t i = 0; i < LFXO_WAIT_SPINS; i++) {
    if (NRF_REG(CLOCK_EVENTS_LFCLKSTARTED)) return;
  }
  NRF_REG(CLOCK_TASKS_LFCLKSTOP) = 1;
  NRF_REG(CLOCK_EVENTS_LFCLKSTARTED) = 0;
  NRF_REG(CLOCK_LFCLKSRC) = CLOCK_LFCLKSRC_RC;
  NRF_REG(CLOCK_TASKS_LFCLKSTART) = 1;
  while (NRF_REG(CLOCK_EVENTS_LFCLKSTARTED) == 0) {
  }
}
