/*
 * fault.c — the QEMU port's fault report (entered through ../cortex-m/fault_entry.c), and
 * lq_fatal().
 *
 * One special case first: a semihosting BKPT 0xAB executed while no debugger listens (QEMU
 * without -semihosting-config) raises a debug event. We step over the BKPT and return -1 in
 * r0, so semihosting.c can probe for the debugger and the port runs with or without it.
 *
 * NMI comes from the watchdog (watchdog.c): it is reported and the reset is left to the
 * watchdog's second expiry, as on hardware.
 *
 * Any other fault prints the exception, the stacked registers and the fault status
 * registers on the debug console (UART1) and on the protocol UART (hosts ignore non-frame
 * bytes), then ends QEMU with status 70 when semihosting is there, else resets the board as
 * a watchdog would.
 */
#include <stdint.h>

#include "cmsdk_uart.h"
#include "cortex_m.h"
#include "mps2_an386.h"
#include "semihosting.h"
#include "stack_guard.h"

extern uint32_t __stack_bottom[];

#define FAULT_EXIT_STATUS 70
#define BKPT_SEMIHOSTING 0xBEABu
#define DFSR_BKPT 0x2u

static void both(const char *text) {
  lq_console_write(text);
  for (const char *p = text; *p; p++) lq_uart0_write((const uint8_t *)p, 1);
}

static void both_hex(const char *name, uint32_t value) {
  char text[11];
  lq_format_hex32(value, text);
  both(name);
  both(text);
}

static __attribute__((noreturn)) void stop(void) {
  lq_semihosting_exit(FAULT_EXIT_STATUS);
  LQ_REG32(SCB_AIRCR) = SCB_AIRCR_SYSRESETREQ;
  for (;;) lq_wfi();
}

void lq_fault_report(uint32_t *frame, uint32_t exc_return) {
  uint32_t ipsr;
  __asm volatile("mrs %0, ipsr" : "=r"(ipsr));
  uint32_t exception = ipsr & 0x1FF;
  uint32_t pc = frame[6];
  uint32_t hfsr = LQ_REG32(SCB_HFSR);

  /* QEMU escalates the unanswered BKPT to HardFault without always setting DEBUGEVT, so
   * the instruction itself is what identifies the case. */
  int debug_event = exception == 12 || exception == 3;
  if (debug_event && (pc & 1u) == 0 && *(const volatile uint16_t *)(uintptr_t)pc == BKPT_SEMIHOSTING) {
    LQ_REG32(SCB_HFSR) = SCB_HFSR_DEBUGEVT; /* write-one-to-clear */
    LQ_REG32(SCB_DFSR) = DFSR_BKPT;
    frame[0] = 0xFFFFFFFFu; /* r0: the call failed */
    frame[6] = pc + 2;
    lq_semihosting_bkpt_skipped = 1;
    return;
  }

  if (exception == 2) { /* NMI: only the watchdog raises it on this board */
    both("\n*** WATCHDOG: the firmware stopped kicking the watchdog; the board resets\n");
    both_hex("  pc=", pc);
    both("\n");
    for (;;) lq_wfi(); /* the watchdog's second expiry resets the system */
  }

  static const char *const names[] = {"?", "?", "NMI", "HardFault", "MemManage", "BusFault", "UsageFault"};
  both("\n*** FAULT: ");
  both(exception < 7 ? names[exception] : "DebugMonitor");
  both_hex("\n  pc=", pc);
  both_hex(" lr=", frame[5]);
  both_hex(" sp=", (uint32_t)(uintptr_t)frame);
  both_hex(" xpsr=", frame[7]);
  both_hex("\n  r0=", frame[0]);
  both_hex(" r1=", frame[1]);
  both_hex(" r2=", frame[2]);
  both_hex(" r3=", frame[3]);
  both_hex(" r12=", frame[4]);
  both_hex("\n  cfsr=", LQ_REG32(SCB_CFSR));
  both_hex(" hfsr=", hfsr);
  both_hex(" mmfar=", LQ_REG32(SCB_MMFAR));
  both_hex(" bfar=", LQ_REG32(SCB_BFAR));
  both_hex(" exc_return=", exc_return);
  if (LQ_REG32(SCB_CFSR) & 0xFFu) { /* a MemManage cause: say whether it was the stack guard */
    uint32_t mmfar = LQ_REG32(SCB_MMFAR);
    if (mmfar - (uint32_t)(uintptr_t)__stack_bottom < LQ_STACK_GUARD_SIZE || (LQ_REG32(SCB_CFSR) & 0x10u))
      both("\n  stack overflow: the 8 KiB stack ran into its guard");
  }
  both("\n");
  stop();
}

void lq_fatal(const char *message) {
  (void)lq_irq_save();
  both("\n*** FATAL: ");
  both(message);
  both("\n");
  stop();
}
