/*
 * selftest.c — a small interactive image that exercises the QEMU port's drivers without the
 * runtime (built as liquid-qemu-selftest). It blinks LED0, prints a banner, then answers
 * line commands on UART0, the protocol UART:
 *   temp          -> "temp <milli-degrees C>" read from the TMP105 at 0x48 over I2C
 *   scan          -> "scan" followed by every 7-bit address that ACKs
 *   led N V       -> sets LED N to V, "ok"
 *   time          -> "time <microseconds since boot>"
 *   flash         -> "flash ok" after checking the store flash emulation's rules
 *   fault         -> executes an undefined instruction (tests the fault handler)
 *   hang          -> starts the watchdog and stops kicking it (tests the watchdog reset)
 *   overflow      -> recurses until the stack hits its MPU guard (tests the guard)
 *   exit N        -> ends QEMU with status N (semihosting)
 */
#include <stdint.h>
#include <string.h>

#include "board_init.h"
#include "cmsdk_uart.h"
#include "cortex_m.h"
#include "fpgaio_leds.h"
#include "liquid_port.h"
#include "mps2_an386.h"
#include "sbcon_i2c.h"
#include "semihosting.h"
#include "store_flash.h"
#include "systick_time.h"
#include "watchdog.h"

#define TMP105_ADDR 0x48u

static void reply(const char *text) { lq_uart0_write((const uint8_t *)text, strlen(text)); }

static void reply_int(int32_t value) {
  char text[12];
  int i = 11;
  uint32_t magnitude = value < 0 ? (uint32_t)0 - (uint32_t)value : (uint32_t)value;
  text[i] = '\0';
  do {
    text[--i] = (char)('0' + magnitude % 10);
    magnitude /= 10;
  } while (magnitude);
  if (value < 0) text[--i] = '-';
  reply(&text[i]);
}

static void reply_hex8(uint8_t value) {
  char text[5] = {'0', 'x', "0123456789abcdef"[value >> 4], "0123456789abcdef"[value & 15], 0};
  reply(text);
}

static int32_t parse_int(const char **p) {
  int32_t sign = 1, value = 0;
  while (**p == ' ') (*p)++;
  if (**p == '-') {
    sign = -1;
    (*p)++;
  }
  while (**p >= '0' && **p <= '9') value = value * 10 + (*(*p)++ - '0');
  return sign * value;
}

static void cmd_temp(void) {
  uint8_t reg = 0, raw[2];
  int err = lq_i2c_transfer(MPS2_SBCON_I2C_BASE, TMP105_ADDR, &reg, 1, raw, 2);
  if (err) {
    reply("temp error ");
    reply_int(err);
    reply("\n");
    return;
  }
  /* 12-bit two's complement, 1/16 degree per step, left-aligned in 16 bits. Computed in
   * float on purpose: it proves the FPU is enabled. */
  int16_t word = (int16_t)((raw[0] << 8) | raw[1]);
  float celsius = (float)(word >> 4) / 16.0f;
  reply("temp ");
  reply_int((int32_t)(celsius * 1000.0f));
  reply("\n");
}

static void cmd_scan(void) {
  reply("scan");
  for (uint8_t addr = 0x08; addr <= 0x77; addr++) {
    if (lq_i2c_transfer(MPS2_SBCON_I2C_BASE, addr, NULL, 0, NULL, 0) == 0) {
      reply(" ");
      reply_hex8(addr);
    }
  }
  reply("\n");
}

static const char *check_flash(void) {
  static uint8_t buf[16];
  const uint32_t block = lq_store_flash_size() - LQ_STORE_BLOCK_SIZE;
  const uint8_t pattern[4] = {0x12, 0x34, 0x56, 0x78};
  if (lq_store_flash_erase(block) != 0) return "erase failed";
  if (lq_store_flash_read(block, buf, 16) != 0) return "read failed";
  for (int i = 0; i < 16; i++)
    if (buf[i] != 0xFF) return "erased byte is not 0xFF";
  if (lq_store_flash_program(block + 4, pattern, 4) != 0) return "program failed";
  const uint8_t ones[1] = {0xFF};
  if (lq_store_flash_program(block + 4, ones, 1) != LQ_PORT_EIO) return "setting a 0 bit was accepted";
  if (lq_store_flash_program(block + LQ_STORE_PAGE_SIZE - 2, pattern, 4) != LQ_PORT_EINVAL)
    return "a program across a page was accepted";
  if (lq_store_flash_erase(block + 1) != LQ_PORT_EINVAL) return "unaligned erase was accepted";
  if (lq_store_flash_read(lq_store_flash_size() - 2, buf, 4) != LQ_PORT_EINVAL) return "read past the end was accepted";
  if (lq_store_flash_read(block + 4, buf, 4) != 0 || memcmp(buf, pattern, 4) != 0) return "read back differs";
  if (lq_store_flash_erase(block) != 0) return "second erase failed";
  return NULL;
}

/* Each level keeps 64 bytes live, so the compiler cannot turn the recursion into a loop; the
 * limit is volatile so it cannot prove the recursion endless either. */
static volatile uint32_t recursion_limit = 0xFFFFFFFFu;
static uint32_t recurse(uint32_t depth) {
  volatile uint8_t frame[64];
  if (depth >= recursion_limit) return 0;
  frame[depth % 64] = (uint8_t)depth;
  return recurse(depth + 1) + frame[depth % 64];
}

static void handle(const char *line) {
  const char *p = line;
  if (strcmp(line, "temp") == 0) cmd_temp();
  else if (strcmp(line, "scan") == 0) cmd_scan();
  else if (strncmp(line, "led ", 4) == 0) {
    p += 4;
    int32_t led = parse_int(&p);
    int32_t value = parse_int(&p);
    if (led < 0 || (uint32_t)led >= LQ_LED_COUNT) reply("error no such led\n");
    else {
      lq_led_write((uint32_t)led, value != 0);
      reply("ok\n");
    }
  } else if (strcmp(line, "time") == 0) {
    reply("time ");
    reply_int((int32_t)lq_time_us());
    reply("\n");
  } else if (strcmp(line, "flash") == 0) {
    const char *problem = check_flash();
    reply(problem ? "flash fail " : "flash ok");
    if (problem) reply(problem);
    reply("\n");
  } else if (strcmp(line, "hang") == 0) {
    lq_watchdog_start();
    reply("hanging\n");
    (void)lq_irq_save();
    for (;;) {
    }
  } else if (strcmp(line, "overflow") == 0) {
    reply("recursing\n");
    (void)recurse(0);
  } else if (strcmp(line, "fault") == 0) {
    __asm volatile("udf #0");
  } else if (strncmp(line, "exit ", 5) == 0) {
    p += 5;
    lq_semihosting_exit(parse_int(&p));
    reply("error no semihosting\n");
  } else {
    reply("error unknown command: ");
    reply(line);
    reply("\n");
  }
}

int main(void) {
  lq_boot_args args;
  lq_board_init(&args);
  lq_led_write(0, 1); /* first sign of life, as early as possible */
  int backed = lq_store_flash_init(args.store);
  lq_console_write("liquid qemu selftest: console up\n");
  reply("liquid qemu selftest\n");
  reply(lq_semihosting_available() ? "semihosting on\n" : "semihosting off\n");
  reply(backed ? "store file\n" : "store ram\n");
  for (int i = 0; i < 3; i++) {
    lq_time_sleep_ms(50);
    lq_led_write(0, 0);
    lq_time_sleep_ms(50);
    lq_led_write(0, 1);
  }
  lq_led_write(0, 0);
  reply("ready\n");

  char line[64];
  size_t len = 0;
  for (;;) {
    uint8_t byte;
    uint32_t saved = lq_irq_save();
    if (lq_uart0_pending() == 0) lq_wfi();
    lq_irq_restore(saved);
    while (lq_uart0_read(&byte, 1) == 1) {
      if (byte == '\r') continue;
      if (byte == '\n') {
        line[len] = '\0';
        if (len) handle(line);
        len = 0;
      } else if (len + 1 < sizeof line) {
        line[len++] = (char)byte;
      }
    }
  }
}
