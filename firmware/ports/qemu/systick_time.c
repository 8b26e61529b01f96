/*
 * systick_time.c — see systick_time.h.
 *
 * Time comes from the FPGA IO block's free-running COUNTER (25 MHz, 32 bits), extended to
 * 64 bits here. SysTick only provides the 1 kHz wake-ups of the idle loop. Why not count
 * SysTick interrupts: QEMU re-arms its SysTick model from the moment each tick is handled,
 * so the tick period stretches by the handling latency and such a clock measurably runs
 * slow (about 9 % idle, far more under load), while COUNTER is computed from QEMU's virtual
 * clock and stays exact. On the real AN386 FPGA the register counts the same way.
 */
#include "systick_time.h"

#include "cortex_m.h"
#include "mps2_an386.h"

#define TICKS_PER_US (MPS2_SYSCLK_HZ / 1000000u)
#define SYSTICK_RELOAD (MPS2_SYSCLK_HZ / 1000u - 1u)

static uint32_t last_count;
static uint64_t total_ticks;

/* Must run at least once per 2^32 ticks (171 s); the 1 kHz SysTick guarantees that. */
static uint64_t ticks(void) {
  uint32_t saved = lq_irq_save();
  uint32_t count = LQ_REG32(MPS2_FPGAIO_COUNTER);
  total_ticks += (uint32_t)(count - last_count);
  last_count = count;
  uint64_t now = total_ticks;
  lq_irq_restore(saved);
  return now;
}

void lq_systick_handler(void) { (void)ticks(); }

void lq_time_init(void) {
  last_count = LQ_REG32(MPS2_FPGAIO_COUNTER);
  total_ticks = 0;
  LQ_REG32(SYST_CSR) = 0;
  LQ_REG32(SYST_RVR) = SYSTICK_RELOAD;
  LQ_REG32(SYST_CVR) = 0;
  LQ_REG32(SYST_CSR) = SYST_CSR_CLKSOURCE | SYST_CSR_TICKINT | SYST_CSR_ENABLE;
}

uint64_t lq_time_us(void) { return ticks() / TICKS_PER_US; }

void lq_time_sleep_ms(uint32_t ms) {
  uint64_t until = lq_time_us() + (uint64_t)ms * 1000u;
  while (lq_time_us() < until) lq_wfi();
}
