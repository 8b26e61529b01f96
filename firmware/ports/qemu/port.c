/*
 * port.c — liquid_port.h for QEMU's mps2-an386: the runtime's view of this board.
 *
 *   transport  UART0 (CMSDK, interrupt-driven receive ring, non-blocking send), a TCP socket
 *              on the host side
 *   time       SysTick at 1 kHz plus the sub-millisecond count
 *   idle       WFI until the next tick, a received byte, or the deadline
 *   flash      store_flash.c: NOR emulation in SSRAM1, optionally mirrored to a host file
 *   gpio       LED0-LED1 on the FPGAIO register, LED2-LED9 on the SCC's CFG1; BUTTON0-1
 *              are virtual buttons set from the host over the console UART
 *              (console_input.h: QEMU 7.2 models no drivable input on this board)
 *   i2c        bus 0 = the SBCon bit-banged controller with QEMU's TMP105
 *   watchdog   the CMSDK watchdog: 2 s without a kick reports on the console (NMI), the
 *              next 2 s reset the board (runaway apps are stopped earlier by fuel)
 *   trace      UART1, the debug console (the runtime's event lines: logs, app states, and
 *              "gpio <ms> <pin> <value>" for every pin write, with the event's device time)
 */
#include <string.h>

#include "board_init.h"
#include "cmsdk_uart.h"
#include "console_input.h"
#include "cortex_m.h"
#include "fpgaio_leds.h"
#include "liquid_port.h"
#include "mps2_an386.h"
#include "sbcon_i2c.h"
#include "store_flash.h"
#include "systick_time.h"
#include "watchdog.h"

/* Generated at build time from board.json (see CMakeLists.txt). */
extern const char lq_qemu_board_json[];

static lq_boot_args boot_args;
static volatile int pin_event;
static volatile uint8_t notify_on[LQ_VBUTTON_COUNT];

/* UART1 interrupt: a virtual button changed level. */
static void vbutton_changed(uint32_t port_pin) {
  if (notify_on[port_pin - LQ_VBUTTON_FIRST_PIN]) lq_runtime_pin_changed(port_pin);
  pin_event = 1;
}

void lq_qemu_port_init(void) {
  lq_board_init(&boot_args);
  lq_console_input_init(vbutton_changed);
  (void)lq_store_flash_init(boot_args.store);
  lq_watchdog_start();
}

const char *lq_port_board_json(void) { return lq_qemu_board_json; }
const char *lq_port_device_id(void) { return boot_args.id; }
const char *lq_port_arch(void) { return "armv7e-m"; }

int lq_port_transport_read(uint8_t *buf, size_t cap) { return (int)lq_uart0_read(buf, cap); }

int lq_port_transport_write(const uint8_t *buf, size_t len) {
  /* Never blocks: a host that stops reading must not stall the apps (or starve the watchdog);
   * the runtime keeps the rest and retries. */
  return (int)lq_uart0_try_write(buf, len);
}

uint64_t lq_port_time_us(void) { return lq_time_us(); }

void lq_port_idle(uint64_t until_us) {
  /* Interrupts are masked while deciding to sleep so that a byte or tick arriving between
   * the check and WFI still wakes us (WFI wakes on a pending interrupt even when masked). */
  while (lq_time_us() < until_us) {
    uint32_t saved = lq_irq_save();
    int work = lq_uart0_pending() > 0 || pin_event;
    if (!work) lq_wfi();
    lq_irq_restore(saved);
    if (work) break;
  }
  pin_event = 0;
}

static lq_flash_geometry geometry;

const lq_flash_geometry *lq_port_flash_geometry(void) {
  geometry.size = lq_store_flash_size();
  geometry.page_size = LQ_STORE_PAGE_SIZE;
  geometry.block_size = LQ_STORE_BLOCK_SIZE;
  return &geometry;
}

int lq_port_flash_read(uint32_t addr, void *buf, uint32_t len) { return lq_store_flash_read(addr, buf, len); }
int lq_port_flash_program(uint32_t addr, const void *buf, uint32_t len) {
  return lq_store_flash_program(addr, buf, len);
}
int lq_port_flash_erase(uint32_t block_addr) { return lq_store_flash_erase(block_addr); }

static int is_vbutton(uint32_t pin) {
  return pin >= LQ_VBUTTON_FIRST_PIN && pin < LQ_VBUTTON_FIRST_PIN + LQ_VBUTTON_COUNT;
}

int lq_port_gpio_configure(uint32_t pin, int mode) {
  if (is_vbutton(pin)) {
    /* Wired to ground with a pull-up on the "board": input modes only, no pull-down. */
    return mode == LQ_PORT_PIN_INPUT || mode == LQ_PORT_PIN_INPUT_PULLUP ? LQ_PORT_OK : LQ_PORT_ENOTSUP;
  }
  if (pin >= LQ_LED_COUNT) return LQ_PORT_EINVAL;
  return mode == LQ_PORT_PIN_OUTPUT ? LQ_PORT_OK : LQ_PORT_ENOTSUP;
}

int lq_port_gpio_write(uint32_t pin, int value) {
  if (is_vbutton(pin)) return LQ_PORT_ENOTSUP;
  if (pin >= LQ_LED_COUNT) return LQ_PORT_EINVAL;
  lq_led_write(pin, value != 0);
  return LQ_PORT_OK;
}

int lq_port_gpio_read(uint32_t pin) {
  if (is_vbutton(pin)) return lq_vbutton_level(pin - LQ_VBUTTON_FIRST_PIN);
  if (pin >= LQ_LED_COUNT) return LQ_PORT_EINVAL;
  return lq_led_read(pin);
}

int lq_port_gpio_notify(uint32_t pin, int enable) {
  if (is_vbutton(pin)) {
    notify_on[pin - LQ_VBUTTON_FIRST_PIN] = (uint8_t)(enable != 0);
    return LQ_PORT_OK;
  }
  return pin >= LQ_LED_COUNT ? LQ_PORT_EINVAL : LQ_PORT_ENOTSUP;
}

int lq_port_i2c_transfer(uint32_t bus, uint8_t addr, const uint8_t *wdata, size_t wlen, uint8_t *rdata,
                         size_t rlen) {
  if (bus != 0 || addr > 0x7F) return LQ_PORT_EINVAL;
  return lq_i2c_transfer(MPS2_SBCON_I2C_BASE, addr, wdata, wlen, rdata, rlen);
}

void lq_port_watchdog_kick(void) { lq_watchdog_kick(); }

void lq_port_reset(void) {
  __asm volatile("dsb" ::: "memory");
  LQ_REG32(SCB_AIRCR) = SCB_AIRCR_SYSRESETREQ;
  for (;;) lq_wfi();
}

uint32_t lq_port_random(void) {
  /* No RNG on this board: xorshift32 stirred with the free-running SysTick count, which
   * depends on when host bytes arrived. Not for cryptography. */
  static uint32_t state = 0x6C697164u;
  state ^= LQ_REG32(SYST_CVR) + (uint32_t)lq_time_us();
  state ^= state << 13;
  state ^= state >> 17;
  state ^= state << 5;
  return state;
}

void lq_port_trace(const char *line) {
  lq_console_write(line);
  lq_console_write("\n");
}
