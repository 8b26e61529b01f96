/*
 * stack_guard.h — the stack's safety net: the lowest 256 bytes of the 8 KiB stack are made
 * inaccessible with the MPU, so an overflow faults (MemManage, reported by fault.c) instead of
 * silently overwriting the engine's arena just below; the rest is painted at reset so the
 * deepest use can be measured.
 */
#ifndef LQ_STACK_GUARD_H
#define LQ_STACK_GUARD_H

#include <stdint.h>

#define LQ_STACK_GUARD_SIZE 256u

/* Paints the unused stack; call first thing after .bss init (startup.c). */
void lq_stack_paint(void);
/* Turns the MPU guard on (the default memory map stays for everything else). */
void lq_stack_guard_enable(void);
/* Deepest stack use since reset, in bytes, and the stack's size. */
uint32_t lq_stack_used(void);
uint32_t lq_stack_size(void);

#endif /* LQ_STACK_GUARD_H */
