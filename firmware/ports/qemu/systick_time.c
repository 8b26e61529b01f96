/*
 * systick_time.c — see systick_time.h. SysTick runs from the 25 MHz processor clock.
 */
#include "systick_time.h"

#include "cortex_m.h"
#include "mps2_an386.h"

#define TICKS_PER_US (MPS2_SYSCLK_HZ / 1000000u)
#define ICSR_PENDSTSET (1u << 26)
#define RELOAD (MPS2_SYSCLK_HZ / 1000u - 1u)

static volatile uint64_t elapsed_ms;

void lq_systick_handler(void) { elapsed_ms = elapsed_ms + 1; }

void lq_time_init(void) {
  elapsed_ms = 0;
  LQ_REG32(SYST_CSR) = 0;
  LQ_REG32(SYST_RVR) = RELOAD;
  LQ_REG32(SYST_CVR) = 0;
  LQ_REG32(SYST_CSR) = SYST_CSR_CLKSOURCE | SYST_CSR_TICKINT | SYST_CSR_ENABLE;
}

uint64_t lq_time_us(void) {
  /* The millisecond count and the down-counter cannot be read atomically. With interrupts
   * masked the counter may wrap while the tick is still pending: then the count is re-read
   * (certainly after the wrap) and the pending millisecond added by hand. */
  uint32_t saved = lq_irq_save();
  uint64_t ms = elapsed_ms;
  uint32_t count = LQ_REG32(SYST_CVR);
  if (LQ_REG32(SCB_ICSR) & ICSR_PENDSTSET) {
    count = LQ_REG32(SYST_CVR);
    ms += 1;
  }
  lq_irq_restore(saved);
  return ms * 1000u + (RELOAD - count) / TICKS_PER_US;
}

void lq_time_sleep_ms(uint32_t ms) {
  uint64_t until = lq_time_us() + (uint64_t)ms * 1000u;
  while (lq_time_us() < until) lq_wfi();
}
