/*
 * startup.c — vector table and reset handler of the Liquid firmware on the nRF52840.
 *
 * The reset handler enables the FPU (the engine's float ops use it), points VTOR at our own
 * table (it is not at 0x0 in the UF2 layout), copies .data, zeroes .bss, paints the stack and
 * arms its MPU guard (stack_guard.h), runs constructors and calls main(). Clocks are started by main through clock.c.
 */
#include <stdint.h>

#include "nrf52840.h"
#include "nrf_port.h"
#include "stack_guard.h"

extern uint32_t __stack_top, __vectors_start;
extern uint32_t __data_start, __data_end, __data_load, __bss_start, __bss_end;
extern void (*__init_array_start[])(void);
extern void (*__init_array_end[])(void);

int main(void);
void lq_reset_handler(void);
void lq_fault_entry(void);
void lq_uarte0_irq(void);
void lq_gpiote_irq(void);
void lq_rtc1_irq(void);

static void unexpected_interrupt(void) { lq_fatal("unexpected interrupt"); }

/* 16 core exceptions and the nRF52840's 48 peripheral interrupts, every slot filled. */
#define U unexpected_interrupt
__attribute__((section(".vectors"), used)) static void (*const vectors[16 + NRF_IRQ_COUNT])(void) = {
    (void (*)(void))(uintptr_t)&__stack_top,
    lq_reset_handler,
    lq_fault_entry, /* NMI */
    lq_fault_entry, /* HardFault */
    lq_fault_entry, /* MemManage */
    lq_fault_entry, /* BusFault */
    lq_fault_entry, /* UsageFault */
    U, U, U, U,
    U, /* SVCall */
    U, /* DebugMonitor */
    U,
    U, /* PendSV */
    U, /* SysTick: unused, time comes from RTC1 */
    /* 0 POWER_CLOCK */ U, /* 1 RADIO */ U, /* 2 UARTE0 */ lq_uarte0_irq,
    /* 3 TWIM0 (polled) */ U, /* 4 */ U, /* 5 NFCT */ U, /* 6 GPIOTE */ lq_gpiote_irq,
    /* 7..16 */ U, U, U, U, U, U, U, U, U, U,
    /* 17 RTC1 */ lq_rtc1_irq,
    /* 18..47 */ U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U,
};
#undef U

void lq_reset_handler(void) {
  NRF_REG(SCB_CPACR) |= (0xFu << 20);
  __asm volatile("dsb\n isb" ::: "memory");
  NRF_REG(SCB_VTOR) = (uint32_t)(uintptr_t)&__vectors_start;

  uint32_t *src = &__data_load;
  for (uint32_t *dst = &__data_start; dst < &__data_end;) *dst++ = *src++;
  for (uint32_t *dst = &__bss_start; dst < &__bss_end;) *dst++ = 0;
  lq_stack_paint();
  lq_stack_guard_enable();
  for (void (**fn)(void) = __init_array_start; fn < __init_array_end; fn++) (*fn)();

  (void)main();
  lq_fatal("main returned");
}
