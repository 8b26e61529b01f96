/*
 * startup.c — the vector table of the Liquid firmware on the nRF52840. The reset handler is
 * the shared one (../cortex-m/reset.c, which points VTOR here: the table is not at 0x0 in the
 * UF2 layout); clocks are started by main through clock.c.
 */
#include <stdint.h>

#include "cortex_m.h"
#include "nrf52840.h"

extern uint32_t __stack_top;

void lq_uarte0_irq(void);
void lq_gpiote_irq(void);
void lq_rtc1_irq(void);

/* 16 core exceptions and the nRF52840's 48 peripheral interrupts, every slot filled. */
#define U lq_unexpected_interrupt
__attribute__((section(".vectors"), used)) static void (*const vectors[16 + NRF_IRQ_COUNT])(void) = {
    /* SysTick unused: time comes from RTC1 */
    LQ_CORTEX_M_CORE_VECTORS(&__stack_top, U, U),
    /* 0 POWER_CLOCK */ U, /* 1 RADIO */ U, /* 2 UARTE0 */ lq_uarte0_irq,
    /* 3 TWIM0 (polled) */ U, /* 4 */ U, /* 5 NFCT */ U, /* 6 GPIOTE */ lq_gpiote_irq,
    /* 7..16 */ U, U, U, U, U, U, U, U, U, U,
    /* 17 RTC1 */ lq_rtc1_irq,
    /* 18..47 */ U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U,
};
#undef U
