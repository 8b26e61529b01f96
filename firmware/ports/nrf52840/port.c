/*
 * port.c — liquid_port.h for the nRF52840 (nRF52840-DK wiring).
 *
 *   transport  UARTE0 at 115200 with RTS/CTS, to the DK's J-Link virtual COM port
 *   time/idle  RTC1 at 32.768 kHz; idle sleeps in WFI until RTC compare, a byte or a pin edge
 *   flash      the last 256 KiB of internal flash through the NVMC (nvmc_flash.c)
 *   gpio       P0/P1 pins, GPIOTE edge notification, DK LEDs/buttons active-low hidden
 *   i2c        bus 0 = TWIM0 on P0.26 (SDA) / P0.27 (SCL)
 *   watchdog   WDT, 2 s timeout
 *   random     the RNG peripheral
 *   trace      dropped: the only UART carries the protocol (runtime logs reach the host as
 *              LOG events anyway)
 */
#include "liquid_port.h"
#include "nrf52840.h"
#include "nrf_port.h"

extern const char lq_nrf52840_board_json[];

void lq_nrf_port_init(void) {
  lq_clocks_start();
  lq_time_init();
  lq_uarte_init();
  lq_twim_init();
  lq_watchdog_start();
  __asm volatile("cpsie i" ::: "memory");
}

const char *lq_port_board_json(void) { return lq_nrf52840_board_json; }
const char *lq_port_device_id(void) { return lq_device_id(); }
const char *lq_port_arch(void) { return "armv7e-m"; }

int lq_port_transport_read(uint8_t *buf, size_t cap) { return (int)lq_uarte_read(buf, cap); }
int lq_port_transport_write(const uint8_t *buf, size_t len) { return (int)lq_uarte_write(buf, len); }

uint64_t lq_port_time_us(void) { return lq_time_us(); }

void lq_port_idle(uint64_t until_us) {
  /* Decide with interrupts masked so an event between the check and WFI still wakes us. */
  while (lq_time_us() < until_us) {
    lq_time_wake_at(until_us);
    uint32_t saved = lq_irq_save();
    int work = lq_uarte_pending() > 0 || lq_gpio_event;
    if (!work) lq_wfi();
    lq_irq_restore(saved);
    if (work) break;
  }
  lq_gpio_event = 0;
}

static lq_flash_geometry geometry;

const lq_flash_geometry *lq_port_flash_geometry(void) {
  geometry.size = lq_nvmc_store_size();
  geometry.page_size = LQ_NRF_STORE_PAGE_SIZE;
  geometry.block_size = NVMC_PAGE_SIZE;
  return &geometry;
}

int lq_port_flash_read(uint32_t addr, void *buf, uint32_t len) { return lq_nvmc_read(addr, buf, len); }
int lq_port_flash_program(uint32_t addr, const void *buf, uint32_t len) { return lq_nvmc_program(addr, buf, len); }
int lq_port_flash_erase(uint32_t block_addr) { return lq_nvmc_erase(block_addr); }

int lq_port_gpio_configure(uint32_t pin, int mode) { return lq_gpio_configure(pin, mode); }
int lq_port_gpio_write(uint32_t pin, int value) { return lq_gpio_write(pin, value); }
int lq_port_gpio_read(uint32_t pin) { return lq_gpio_read(pin); }
int lq_port_gpio_notify(uint32_t pin, int enable) { return lq_gpio_notify(pin, enable); }

int lq_port_i2c_transfer(uint32_t bus, uint8_t addr, const uint8_t *wdata, size_t wlen, uint8_t *rdata,
                         size_t rlen) {
  if (bus != 0 || addr > 0x7F) return LQ_PORT_EINVAL;
  return lq_twim_transfer(addr, wdata, wlen, rdata, rlen);
}

void lq_port_watchdog_kick(void) { lq_watchdog_kick(); }

void lq_port_reset(void) {
  NRF_REG(SCB_AIRCR) = SCB_AIRCR_SYSRESETREQ;
  for (;;) {
  }
}

uint32_t lq_port_random(void) { return lq_rng_u32(); }

void lq_port_trace(const char *line) { (void)line; }
