/*
 * cortex_m.h — what every Cortex-M4 port of Liquid shares: interrupt masking, the core's
 * system control space registers, and the hooks the shared sources in this directory
 * (startup, faults, newlib syscalls, stack guard) expect each port to provide.
 */
#ifndef LQ_CORTEX_M_H
#define LQ_CORTEX_M_H

#include <stdint.h>

#define LQ_REG32(addr) (*(volatile uint32_t *)(uintptr_t)(addr))

static inline uint32_t lq_irq_save(void) {
  uint32_t primask;
  __asm volatile("mrs %0, primask\n cpsid i" : "=r"(primask)::"memory");
  return primask;
}

static inline void lq_irq_restore(uint32_t primask) {
  __asm volatile("msr primask, %0" ::"r"(primask) : "memory");
}

static inline void lq_wfi(void) { __asm volatile("dsb\n wfi" ::: "memory"); }

/* ---- the Cortex-M4 system control space (the same on every Cortex-M4 part) ------------- */
#define SYST_CSR 0xE000E010u
#define SYST_RVR 0xE000E014u
#define SYST_CVR 0xE000E018u
#define SYST_CSR_ENABLE 0x1u
#define SYST_CSR_TICKINT 0x2u
#define SYST_CSR_CLKSOURCE 0x4u
#define SYST_CSR_COUNTFLAG 0x10000u
#define NVIC_ISER0 0xE000E100u
#define SCB_ICSR 0xE000ED04u
#define SCB_VTOR 0xE000ED08u
#define SCB_AIRCR 0xE000ED0Cu
#define SCB_SHCSR 0xE000ED24u
#define SCB_CFSR 0xE000ED28u
#define SCB_HFSR 0xE000ED2Cu
#define SCB_DFSR 0xE000ED30u
#define SCB_MMFAR 0xE000ED34u
#define SCB_BFAR 0xE000ED38u
#define SCB_CPACR 0xE000ED88u
#define MPU_CTRL 0xE000ED94u
#define MPU_RNR 0xE000ED98u
#define MPU_RBAR 0xE000ED9Cu
#define MPU_RASR 0xE000EDA0u
#define SCB_SHCSR_FAULTS_ENA (0x7u << 16) /* MemManage, BusFault, UsageFault handled as such */
#define SCB_AIRCR_SYSRESETREQ 0x05FA0004u
#define SCB_HFSR_DEBUGEVT 0x80000000u


/* ---- shared by the ports (sources in this directory) ---------------------------------- */

/* reset.c: the reset handler every vector table starts with, and the handler of every
 * interrupt a port does not use (a fatal error naming itself). */
void lq_reset_handler(void);
void lq_unexpected_interrupt(void);

/* fault_entry.c: the entry of every fault exception. It switches to a stack of its own and
 * calls the port's lq_fault_report(frame, exc_return); if that returns, the faulting code
 * resumes (the QEMU port does so to step over an unanswered semihosting BKPT). */
void lq_fault_entry(void);
/* "0x" and eight lowercase hex digits of value, NUL-terminated, for fault reports. */
void lq_format_hex32(uint32_t value, char text[11]);

/* The 16 core exception slots every port's vector table starts with: the initial stack
 * pointer, the shared reset handler, the fault entry for the five faults, and the port's
 * DebugMonitor and SysTick handlers (lq_unexpected_interrupt when it has none). */
#define LQ_CORTEX_M_CORE_VECTORS(stack_top, debug_monitor, systick)                          \
  (void (*)(void))(uintptr_t)(stack_top), lq_reset_handler, lq_fault_entry /* NMI */,       \
      lq_fault_entry /* HardFault */, lq_fault_entry /* MemManage */,                       \
      lq_fault_entry /* BusFault */, lq_fault_entry /* UsageFault */,                       \
      lq_unexpected_interrupt, lq_unexpected_interrupt, lq_unexpected_interrupt,            \
      lq_unexpected_interrupt, lq_unexpected_interrupt /* SVCall */,                        \
      (debug_monitor), lq_unexpected_interrupt, lq_unexpected_interrupt /* PendSV */,       \
      (systick)

/* ---- provided by each port ------------------------------------------------------------ */

/* Reports the fault whose stacked frame is given (see lq_fault_entry). */
void lq_fault_report(uint32_t *frame, uint32_t exc_return);
/* Prints the message where the port prints faults and stops the firmware. */
__attribute__((noreturn)) void lq_fatal(const char *message);
/* Where newlib's stdout/stderr go (syscalls.c). */
void lq_port_stdout_write(const char *buf, int len);
/* Called by exit() before lq_fatal("exit"): a port that can report the status does so. */
void lq_port_exit(int status);

#endif /* LQ_CORTEX_M_H */
