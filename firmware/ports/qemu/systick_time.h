/*
 * systick_time.h — monotonic time on mps2-an386: the FPGA IO 25 MHz counter extended to
 * 64 bits, and a 1 kHz SysTick interrupt that wakes the idle loop.
 */
#ifndef LQ_SYSTICK_TIME_H
#define LQ_SYSTICK_TIME_H

#include <stdint.h>

void lq_time_init(void);
uint64_t lq_time_us(void);
/* Sleeps (WFI between ticks) for ms milliseconds. */
void lq_time_sleep_ms(uint32_t ms);

#endif /* LQ_SYSTICK_TIME_H */
