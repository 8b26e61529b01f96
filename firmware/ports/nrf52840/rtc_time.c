/*
 * rtc_time.c — monotonic time from RTC1 on the 32.768 kHz clock, which keeps running while
 * the CPU sleeps (SysTick would stop with HFCLK). The 24-bit counter wraps every 512 s; the
 * overflow interrupt extends it to 64 bits. Resolution is one tick, 30.5 us.
 */
#include "nrf52840.h"
#include "nrf_port.h"

#define COUNTER_MASK 0x00FFFFFFu
#define MIN_COMPARE_DISTANCE 2u /* CC closer than this to COUNTER may not fire (PS, RTC) */

static volatile uint32_t overflows;

void lq_rtc1_irq(void) {
  if (NRF_REG(RTC_EVENTS_OVRFLW)) {
    NRF_REG(RTC_EVENTS_OVRFLW) = 0;
    overflows = overflows + 1;
  }
  if (NRF_REG(RTC_EVENTS_COMPARE0)) {
    /* Only here to wake the idle loop's WFI. */
    NRF_REG(RTC_EVENTS_COMPARE0) = 0;
    NRF_REG(RTC_INTENCLR) = RTC_INT_COMPARE0;
  }
}

void lq_time_init(void) {
  overflows = 0;
  NRF_REG(RTC_PRESCALER) = 0;
  NRF_REG(RTC_TASKS_CLEAR) = 1;
  NRF_REG(RTC_EVENTS_OVRFLW) = 0;
  NRF_REG(RTC_INTENSET) = RTC_INT_OVRFLW;
  lq_nvic_enable(IRQ_RTC1);
  NRF_REG(RTC_TASKS_START) = 1;
}

static uint64_t ticks(void) {
  uint32_t saved = lq_irq_save();
  uint32_t high = overflows;
  uint32_t count = NRF_REG(RTC_COUNTER);
  if (NRF_REG(RTC_EVENTS_OVRFLW)) { /* wrapped, interrupt not yet taken */
    count = NRF_REG(RTC_COUNTER);
    high += 1;
  }
  lq_irq_restore(saved);
  return ((uint64_t)high << 24) | count;
}

/* 1 tick = 1e6/32768 us = 15625/512 us exactly. */
uint64_t lq_time_us(void) { return (ticks() * 15625u) >> 9; }

void lq_time_wake_at(uint64_t until_us) {
  uint64_t now = ticks();
  uint64_t target = (until_us << 9) / 15625u;
  if (target <= now + MIN_COMPARE_DISTANCE) target = now + MIN_COMPARE_DISTANCE;
  if (target - now > (COUNTER_MASK >> 1)) target = now + (COUNTER_MASK >> 1); /* waking early is fine */
  NRF_REG(RTC_EVENTS_COMPARE0) = 0;
  NRF_REG(RTC_CC0) = (uint32_t)target & COUNTER_MASK;
  NRF_REG(RTC_INTENSET) = RTC_INT_COMPARE0;
}
