/*
 * system.c — watchdog, hardware RNG and the device id on the nRF52840.
 */
#include "nrf52840.h"
#include "nrf_port.h"

#define WDT_TIMEOUT_S 2u /* the runtime kicks every 250 ms at most */

void lq_watchdog_start(void) {
  NRF_REG(WDT_CONFIG) = WDT_CONFIG_RUN_IN_SLEEP; /* keeps counting during WFI, pauses in debug halt */
  NRF_REG(WDT_CRV) = WDT_TIMEOUT_S * 32768u - 1u;
  NRF_REG(WDT_RREN) = 1u; /* reload register 0 only */
  NRF_REG(WDT_TASKS_START) = 1;
}

void lq_watchdog_kick(void) { NRF_REG(WDT_RR0) = WDT_RELOAD_VALUE; }

uint32_t lq_rng_u32(void) {
  uint32_t value = 0;
  NRF_REG(RNG_CONFIG) = 1u; /* bias correction */
  NRF_REG(RNG_TASKS_START) = 1;
  for (int i = 0; i < 4; i++) {
    NRF_REG(RNG_EVENTS_VALRDY) = 0;
    while (NRF_REG(RNG_EVENTS_VALRDY) == 0) {
    }
    value = (value << 8) | (NRF_REG(RNG_VALUE) & 0xFFu);
  }
  NRF_REG(RNG_TASKS_STOP) = 1;
  return value;
}

const char *lq_device_id(void) {
  /* "nrf52840-" and the low 32 bits of the factory-programmed 64-bit device id, in hex. */
  static char id[] = "nrf52840-xxxxxxxx";
  uint32_t v = NRF_REG(FICR_DEVICEID0);
  for (int i = 0; i < 8; i++) id[9 + i] = "0123456789abcdef"[(v >> (28 - 4 * i)) & 0xF];
  return id;
}
