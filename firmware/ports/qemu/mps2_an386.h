/*
 * mps2_an386.h — register map of the parts of the ARM MPS2 AN386 (Cortex-M4F) FPGA image the
 * Liquid QEMU port uses. Addresses from ARM application note AN386 and QEMU's hw/arm/mps2.c
 * model (checked against `info mtree` of qemu-system-arm 7.2 -M mps2-an386).
 */
#ifndef LQ_MPS2_AN386_H
#define LQ_MPS2_AN386_H

#include <stdint.h>

#include "cortex_m.h" /* LQ_REG32 and the core's system control space */

/* The FPGA feeds the core and the APB peripherals with one 25 MHz clock. */
#define MPS2_SYSCLK_HZ 25000000u

/* ---- CMSDK APB UART (UART0 0x40004000 carries the device protocol, UART1 the trace) ---- */
#define MPS2_UART0_BASE 0x40004000u
#define MPS2_UART1_BASE 0x40005000u
#define CMSDK_UART_DATA 0x00u
#define CMSDK_UART_STATE 0x04u     /* bit0 TX buffer full, bit1 RX buffer full */
#define CMSDK_UART_CTRL 0x08u      /* bit0 TX en, bit1 RX en, bit2 TX irq en, bit3 RX irq en */
#define CMSDK_UART_INTSTATUS 0x0Cu /* read: pending; write 1 to clear (INTCLEAR) */
#define CMSDK_UART_BAUDDIV 0x10u
#define CMSDK_UART_STATE_TXFULL 0x1u
#define CMSDK_UART_STATE_RXFULL 0x2u
#define CMSDK_UART_CTRL_TXEN 0x1u
#define CMSDK_UART_CTRL_RXEN 0x2u
#define CMSDK_UART_CTRL_RXIRQ 0x8u
#define CMSDK_UART_INT_RX 0x2u
/* External interrupt numbers: UART0 RX is IRQ 0 (TX is IRQ 1), UART1 RX is IRQ 2. */
#define MPS2_IRQ_UART0_RX 0u
#define MPS2_IRQ_UART1_RX 2u

/* ---- CMSDK APB watchdog: counts WDOGCLK (25 MHz) down; at 0 it raises NMI and reloads,
 * and if that interrupt is still pending at the next 0 it resets the system (RESEN). ---- */
#define MPS2_WDOG_BASE 0x40008000u
#define WDOG_LOAD (MPS2_WDOG_BASE + 0x000u)
#define WDOG_CONTROL (MPS2_WDOG_BASE + 0x008u)
#define WDOG_INTCLR (MPS2_WDOG_BASE + 0x00Cu)
#define WDOG_LOCK (MPS2_WDOG_BASE + 0xC00u)
#define WDOG_CONTROL_INTEN 0x1u
#define WDOG_CONTROL_RESEN 0x2u
#define WDOG_UNLOCK_KEY 0x1ACCE551u

/* ---- FPGA IO: the user LEDs (AN386 drives two, LED0 and LED1) ------------------------- */
#define MPS2_FPGAIO_BASE 0x40028000u
#define MPS2_FPGAIO_LED (MPS2_FPGAIO_BASE + 0x00u)
#define MPS2_FPGAIO_BUTTON (MPS2_FPGAIO_BASE + 0x08u)
#define MPS2_FPGAIO_COUNTER (MPS2_FPGAIO_BASE + 0x18u) /* free-running, 25 MHz */
#define MPS2_FPGAIO_LED_COUNT 2u

/* ---- serial configuration controller: CFG1 drives the eight MCC user LEDs ------------ */
#define MPS2_SCC_BASE 0x4002F000u
#define MPS2_SCC_CFG1 (MPS2_SCC_BASE + 0x04u)

/* ---- SBCon two-wire (bit-banged I2C) controllers ---------------------------------------- */
/* Writing CONTROLS sets bits, writing CONTROLC clears them; reading CONTROL returns the
 * actual line levels. bit0 SCL, bit1 SDA. A set bit releases the open-drain line. */
#define MPS2_SBCON_I2C_BASE 0x4002A000u /* the controller QEMU puts `-device tmp105,bus=i2c` on */
#define SBCON_CONTROL 0x00u
#define SBCON_CONTROLS 0x00u
#define SBCON_CONTROLC 0x04u
#define SBCON_SCL 0x1u
#define SBCON_SDA 0x2u

#endif /* LQ_MPS2_AN386_H */
