/*
 * startup.c — the vector table of the Liquid firmware on mps2-an386. The core fetches the
 * initial stack pointer and the reset handler (../cortex-m/reset.c) from it at 0x0.
 */
#include <stdint.h>

#include "cortex_m.h"

extern uint32_t __stack_top;

void lq_systick_handler(void);
void lq_uart0_rx_handler(void);
void lq_uart1_rx_handler(void);

/* 16 core exceptions then the 32 external interrupts QEMU's mps2 NVIC implements. Every
 * slot is filled: an empty one would send the core to address 0, the stack pointer value. */
#define U lq_unexpected_interrupt
__attribute__((section(".vectors"), used)) static void (*const vectors[16 + 32])(void) = {
    /* DebugMonitor: a semihosting BKPT without a debugger attached */
    LQ_CORTEX_M_CORE_VECTORS(&__stack_top, lq_fault_entry, lq_systick_handler),
    lq_uart0_rx_handler, /* IRQ 0: UART0 RX */
    U,                   /* IRQ 1: UART0 TX */
    lq_uart1_rx_handler, /* IRQ 2: UART1 RX (console input, virtual buttons) */
    U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U,
};
#undef U
