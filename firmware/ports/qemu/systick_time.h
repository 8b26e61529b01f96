/*
 * systick_time.h — monotonic time from the Cortex-M SysTick: a 1 kHz interrupt counts
 * milliseconds and the current count gives the microseconds in between.
 */
#ifndef LQ_SYSTICK_TIME_H
#define LQ_SYSTICK_TIME_H

#include <stdint.h>

void lq_time_init(void);
uint64_t lq_time_us(void);
/* Busy-waits (sleeping between ticks) for ms milliseconds. */
void lq_time_sleep_ms(uint32_t ms);

#endif /* LQ_SYSTICK_TIME_H */
