/*
 * fault.c — the fault report (entered through ../cortex-m/fault_entry.c) and lq_fatal() on
 * the nRF52840: print what happened on the protocol UART (hosts skip bytes that are not
 * frames), then reset the chip.
 */
#include <stdint.h>
#include <string.h>

#include "cortex_m.h"
#include "nrf52840.h"
#include "nrf_port.h"

static void print(const char *text) { lq_uarte_write_all((const uint8_t *)text, strlen(text)); }

static void print_hex(const char *name, uint32_t value) {
  char text[11];
  lq_format_hex32(value, text);
  print(name);
  print(text);
}

static __attribute__((noreturn)) void reset(void) {
  NRF_REG(SCB_AIRCR) = SCB_AIRCR_SYSRESETREQ;
  for (;;) {
  }
}

void lq_fault_report(uint32_t *frame, uint32_t exc_return) {
  uint32_t ipsr;
  __asm volatile("mrs %0, ipsr" : "=r"(ipsr));
  print("\r\n*** FAULT: exception ");
  char n[3] = {(char)('0' + (ipsr & 0x1FF) / 10 % 10), (char)('0' + (ipsr & 0x1FF) % 10), 0};
  print(n);
  print_hex(" pc=", frame[6]);
  print_hex(" lr=", frame[5]);
  print_hex(" cfsr=", NRF_REG(SCB_CFSR));
  print_hex(" hfsr=", NRF_REG(SCB_HFSR));
  print_hex(" bfar=", NRF_REG(SCB_BFAR));
  print_hex(" exc_return=", exc_return);
  print("\r\n");
  reset();
}

void lq_fatal(const char *message) {
  (void)lq_irq_save();
  print("\r\n*** FATAL: ");
  print(message);
  print("\r\n");
  reset();
}
