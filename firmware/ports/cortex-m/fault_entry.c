/*
 * fault_entry.c — the part of fault handling every Cortex-M port shares: the exception entry
 * and the hex formatting of the report. What is printed, where, and how the board stops
 * afterwards is the port's (its fault.c, lq_fault_report and lq_fatal).
 */
#include <stdint.h>

#include "cortex_m.h"

/* Faults run on their own small stack: after a stack overflow into the MPU guard the main
 * stack pointer is unusable, and touching it again would lock the core up. The stacked frame
 * pointer is taken first; a report that returns (a semihosting BKPT on QEMU) goes back
 * through the normal path with the old stack pointer restored. */
static uint32_t fault_stack[256] __attribute__((aligned(8)));
uint32_t *const lq_fault_stack_top = fault_stack + 256;

__attribute__((naked)) void lq_fault_entry(void) {
  __asm volatile(
      "tst lr, #4\n"
      "ite eq\n"
      "mrseq r0, msp\n"
      "mrsne r0, psp\n"
      "mov r1, lr\n"
      "mov r2, sp\n"
      "ldr r3, =lq_fault_stack_top\n"
      "ldr r3, [r3]\n"
      "mov sp, r3\n"
      "push {r2, lr}\n"
      "bl lq_fault_report\n"
      "pop {r2, lr}\n"
      "mov sp, r2\n"
      "bx lr\n");
}

void lq_format_hex32(uint32_t value, char text[11]) {
  text[0] = '0';
  text[1] = 'x';
  for (int i = 0; i < 8; i++) text[2 + i] = "0123456789abcdef"[(value >> (28 - 4 * i)) & 0xF];
  text[10] = '\0';
}
