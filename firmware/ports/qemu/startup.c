/*
 * startup.c — reset handler and vector table of the Liquid firmware on mps2-an386.
 *
 * The core fetches the initial stack pointer and the reset handler from the table at 0x0.
 * The reset handler enables the FPU before any C code may touch a VFP register, copies
 * .data from its load address, zeroes .bss, paints the stack and arms its MPU guard
 * (stack_guard.h), runs constructors and enters main().
 */
#include <stdint.h>

#include "cortex_m.h"
#include "mps2_an386.h"
#include "stack_guard.h"

extern uint32_t __stack_top;
extern uint32_t __data_start, __data_end, __data_load, __bss_start, __bss_end;
extern void (*__init_array_start[])(void);
extern void (*__init_array_end[])(void);

int main(void);
void lq_reset_handler(void);
void lq_fault_entry(void);
void lq_systick_handler(void);
void lq_uart0_rx_handler(void);
void lq_uart1_rx_handler(void);

static void unexpected_interrupt(void) {
  lq_fatal("unexpected interrupt");
}

/* 16 core exceptions then the 32 external interrupts QEMU's mps2 NVIC implements. Every
 * slot is filled: an empty one would send the core to address 0, the stack pointer value. */
#define U unexpected_interrupt
__attribute__((section(".vectors"), used)) static void (*const vectors[16 + 32])(void) = {
    (void (*)(void))(uintptr_t)&__stack_top,
    lq_reset_handler,
    lq_fault_entry, /* NMI */
    lq_fault_entry, /* HardFault */
    lq_fault_entry, /* MemManage */
    lq_fault_entry, /* BusFault */
    lq_fault_entry, /* UsageFault */
    U, U, U, U,
    U,              /* SVCall */
    lq_fault_entry, /* DebugMonitor: a semihosting BKPT without a debugger attached */
    U,
    U,              /* PendSV */
    lq_systick_handler,
    lq_uart0_rx_handler, /* IRQ 0: UART0 RX */
    U,                   /* IRQ 1: UART0 TX */
    lq_uart1_rx_handler, /* IRQ 2: UART1 RX (console input, virtual buttons) */
    U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U,
};
#undef U

void lq_reset_handler(void) {
  /* CP10/CP11 full access: the engine's f32/f64 code uses the FPU. */
  LQ_REG32(SCB_CPACR) |= (0xFu << 20);
  __asm volatile("dsb\n isb" ::: "memory");
  LQ_REG32(SCB_VTOR) = 0;

  uint32_t *src = &__data_load;
  for (uint32_t *dst = &__data_start; dst < &__data_end;) *dst++ = *src++;
  for (uint32_t *dst = &__bss_start; dst < &__bss_end;) *dst++ = 0;
  lq_stack_paint();
  lq_stack_guard_enable();

  for (void (**fn)(void) = __init_array_start; fn < __init_array_end; fn++) (*fn)();

  (void)main();
  lq_fatal("main returned");
}
