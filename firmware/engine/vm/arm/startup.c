/*
 * Cortex-M4 start for running liquid-vm under QEMU (mps2-an386) with newlib's semihosting C
 * library (rdimon): files, stdout and the command line all go through the host, so the same
 * liquid-vm.c runs the spec scripts on the ARM core. Enables the FPU, then enters newlib's
 * _start (heap, argv from QEMU's semihosting arguments, main, exit).
 */
#include <stdint.h>

extern void _start(void);
extern uint32_t __stack_top;

void lq_vm_reset(void);
void lq_vm_fault(void);

void lq_vm_reset(void) {
    /* CPACR: full access to CP10/CP11 (the FPU) before any float instruction runs. */
    *(volatile uint32_t *)0xE000ED88u |= 0xFu << 20;
    __asm__ volatile("dsb\n isb");
    _start();
    for (;;) {
    }
}

/* Any fault ends the QEMU run with exit status 70, so a crash cannot look like a pass. */
void lq_vm_fault(void) {
    static uint32_t block[2] = {0x20026, 70}; /* ADP_Stopped_ApplicationExit, status 70 */
    register uint32_t r0 __asm__("r0") = 0x20; /* SYS_EXIT_EXTENDED */
    register uint32_t *r1 __asm__("r1") = block;
    __asm__ volatile("bkpt 0xab" : : "r"(r0), "r"(r1) : "memory");
    for (;;) {
    }
}

/* Initial stack, reset, then NMI, HardFault, MemManage, BusFault, UsageFault. */
__attribute__((section(".vectors"), used)) static const void *const vectors[8] = {
    &__stack_top, (const void *)lq_vm_reset, (const void *)lq_vm_fault,
    (const void *)lq_vm_fault, (const void *)lq_vm_fault, (const void *)lq_vm_fault,
    (const void *)lq_vm_fault, 0};
