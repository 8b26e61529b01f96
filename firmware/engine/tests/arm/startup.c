/* Minimal Cortex-M4 start for running the engine's C tests under QEMU (mps2-an386) with
 * newlib's semihosting C library (rdimon): enable the FPU, then enter newlib's _start,
 * which sets up the heap, argv (from QEMU's semihosting args) and calls main. */
#include <stdint.h>

extern void _start(void);
extern uint32_t __stack_top;

void lq_test_reset(void);
void lq_test_fault(void);

void lq_test_reset(void) {
    /* CPACR: full access to CP10/CP11 (the FPU) before any float instruction runs */
    *(volatile uint32_t *)0xE000ED88u |= 0xFu << 20;
    __asm__ volatile("dsb\n isb");
    _start();
    for (;;) {
    }
}

/* Any fault ends the QEMU run with a distinctive semihosting exit code. */
void lq_test_fault(void) {
    register uint32_t r0 __asm__("r0") = 0x20;   /* SYS_EXIT_EXTENDED */
    static uint32_t block[2] = {0x20026, 70};   /* ADP_Stopped_ApplicationExit, status 70 */
    register uint32_t *r1 __asm__("r1") = block;
    __asm__ volatile("bkpt 0xab" : : "r"(r0), "r"(r1) : "memory");
    for (;;) {
    }
}

__attribute__((section(".vectors"), used)) static void (*const vectors[16])(void) = {
    (void (*)(void))&__stack_top, lq_test_reset, lq_test_fault, lq_test_fault, lq_test_fault,
    lq_test_fault, lq_test_fault, 0, 0, 0, 0, lq_test_fault, lq_test_fault, 0, lq_test_fault,
    lq_test_fault,
};
