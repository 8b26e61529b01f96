/*
 * cortex_m.h — small Cortex-M helpers shared by the QEMU port's drivers.
 */
#ifndef LQ_CORTEX_M_H
#define LQ_CORTEX_M_H

#include <stdint.h>

static inline uint32_t lq_irq_save(void) {
  uint32_t primask;
  __asm volatile("mrs %0, primask\n cpsid i" : "=r"(primask)::"memory");
  return primask;
}

static inline void lq_irq_restore(uint32_t primask) {
  __asm volatile("msr primask, %0" ::"r"(primask) : "memory");
}

static inline void lq_wfi(void) { __asm volatile("dsb\n wfi" ::: "memory"); }

/* Prints the message on both UARTs and stops the firmware (see fault.c). */
__attribute__((noreturn)) void lq_fatal(const char *message);

#endif /* LQ_CORTEX_M_H */
