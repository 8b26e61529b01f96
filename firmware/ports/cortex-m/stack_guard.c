/*
 * stack_guard.c — see stack_guard.h.
 */
#include "stack_guard.h"

#include "cortex_m.h"

#define PAINT 0x57AC57ACu
#define RASR_ENABLE 0x1u
#define RASR_SIZE_256 (7u << 1) /* region size 2^(7+1) */
#define RASR_XN (1u << 28)      /* AP = 0: no access at all, and never executable */
#define RBAR_VALID (1u << 4)
#define CTRL_ENABLE 0x1u
#define CTRL_PRIVDEFENA 0x4u /* the default map for everything no region covers */

extern uint32_t __stack_bottom[], __stack_top[];

void lq_stack_paint(void) {
  uint32_t sp;
  __asm volatile("mov %0, sp" : "=r"(sp));
  for (uint32_t *p = __stack_bottom; (uintptr_t)p < sp - 64u; p++) *p = PAINT;
}

void lq_stack_guard_enable(void) {
  LQ_REG32(MPU_RNR) = 0;
  LQ_REG32(MPU_RBAR) = (uint32_t)(uintptr_t)__stack_bottom | RBAR_VALID | 0u;
  LQ_REG32(MPU_RASR) = RASR_XN | RASR_SIZE_256 | RASR_ENABLE;
  LQ_REG32(SCB_SHCSR) |= SCB_SHCSR_FAULTS_ENA;
  LQ_REG32(MPU_CTRL) = CTRL_ENABLE | CTRL_PRIVDEFENA;
  __asm volatile("dsb\n isb" ::: "memory");
}

uint32_t lq_stack_size(void) { return (uint32_t)((uintptr_t)__stack_top - (uintptr_t)__stack_bottom); }

uint32_t lq_stack_used(void) {
  const uint32_t *p = __stack_bottom + LQ_STACK_GUARD_SIZE / 4u;
  while (p < __stack_top && *p == PAINT) p++;
  return (uint32_t)((uintptr_t)__stack_top - (uintptr_t)p);
}
