/*
 * reset.c — the reset handler shared by the Cortex-M ports (each port keeps its own vector
 * table in startup.c, since the interrupt lines differ).
 *
 * It enables the FPU before any C code may touch a VFP register, points VTOR at the vector
 * table (not at 0x0 in every layout: the nRF52840's UF2 image is linked higher), copies .data
 * from its load address, zeroes .bss, paints the stack and arms its MPU guard
 * (stack_guard.h), runs constructors and enters main().
 */
#include <stdint.h>

#include "cortex_m.h"
#include "stack_guard.h"

/* From the port's linker script. */
extern uint32_t __vectors_start;
extern uint32_t __data_start, __data_end, __data_load, __bss_start, __bss_end;
extern void (*__init_array_start[])(void);
extern void (*__init_array_end[])(void);

int main(void);

void lq_unexpected_interrupt(void) { lq_fatal("unexpected interrupt"); }

void lq_reset_handler(void) {
  /* CP10/CP11 full access: the engine's f32/f64 code uses the FPU. */
  LQ_REG32(SCB_CPACR) |= (0xFu << 20);
  __asm volatile("dsb\n isb" ::: "memory");
  LQ_REG32(SCB_VTOR) = (uint32_t)(uintptr_t)&__vectors_start;

  uint32_t *src = &__data_load;
  for (uint32_t *dst = &__data_start; dst < &__data_end;) *dst++ = *src++;
  for (uint32_t *dst = &__bss_start; dst < &__bss_end;) *dst++ = 0;
  lq_stack_paint();
  lq_stack_guard_enable();

  for (void (**fn)(void) = __init_array_start; fn < __init_array_end; fn++) (*fn)();

  (void)main();
  lq_fatal("main returned");
}
