/*
 * nrf52840.h — the nRF52840 registers the Liquid port uses, written from the nRF52840
 * Product Specification (v1.x register tables). Only what the drivers touch is listed; each
 * block gives the peripheral's base address and the offsets of its registers.
 */
#ifndef LQ_NRF52840_H
#define LQ_NRF52840_H

#include <stdint.h>

#include "cortex_m.h" /* the core's system control space (SCB_*, MPU_*) */

#define NRF_REG(addr) (*(volatile uint32_t *)(uintptr_t)(addr))

/* ---- FICR: factory information ------------------------------------------------------------ */
#define FICR_BASE 0x10000000u
#define FICR_DEVICEID0 (FICR_BASE + 0x060u)
#define FICR_DEVICEID1 (FICR_BASE + 0x064u)

/* ---- CLOCK (shares 0x40000000 with POWER) ------------------------------------------------ */
#define CLOCK_BASE 0x40000000u
#define CLOCK_TASKS_HFCLKSTART (CLOCK_BASE + 0x000u)
#define CLOCK_TASKS_LFCLKSTART (CLOCK_BASE + 0x008u)
#define CLOCK_TASKS_LFCLKSTOP (CLOCK_BASE + 0x00Cu)
#define CLOCK_EVENTS_HFCLKSTARTED (CLOCK_BASE + 0x100u)
#define CLOCK_EVENTS_LFCLKSTARTED (CLOCK_BASE + 0x104u)
#define CLOCK_HFCLKSTAT (CLOCK_BASE + 0x40Cu)
#define CLOCK_LFCLKSRC (CLOCK_BASE + 0x518u)
#define CLOCK_LFCLKSRC_RC 0u
#define CLOCK_LFCLKSRC_XTAL 1u
#define POWER_RESETREAS (CLOCK_BASE + 0x400u)

/* ---- UARTE0: UART with EasyDMA ------------------------------------------------------------ */
#define UARTE0_BASE 0x40002000u
#define UARTE_TASKS_STARTRX 0x000u
#define UARTE_TASKS_STOPRX 0x004u
#define UARTE_TASKS_STARTTX 0x008u
#define UARTE_TASKS_STOPTX 0x00Cu
#define UARTE_EVENTS_ENDRX 0x110u
#define UARTE_EVENTS_ENDTX 0x120u
#define UARTE_EVENTS_ERROR 0x124u
#define UARTE_EVENTS_RXTO 0x144u
#define UARTE_EVENTS_TXSTARTED 0x150u
#define UARTE_INTENSET 0x304u
#define UARTE_INTENCLR 0x308u
#define UARTE_ERRORSRC 0x480u
#define UARTE_ENABLE 0x500u
#define UARTE_PSEL_RTS 0x508u
#define UARTE_PSEL_TXD 0x50Cu
#define UARTE_PSEL_CTS 0x510u
#define UARTE_PSEL_RXD 0x514u
#define UARTE_BAUDRATE 0x524u
#define UARTE_RXD_PTR 0x534u
#define UARTE_RXD_MAXCNT 0x538u
#define UARTE_RXD_AMOUNT 0x53Cu
#define UARTE_TXD_PTR 0x544u
#define UARTE_TXD_MAXCNT 0x548u
#define UARTE_TXD_AMOUNT 0x54Cu
#define UARTE_CONFIG 0x56Cu
#define UARTE_ENABLE_ON 8u
#define UARTE_BAUD_115200 0x01D7E000u
#define UARTE_CONFIG_HWFC 0x1u
#define UARTE_INT_ENDRX (1u << 4)
#define UARTE_INT_ERROR (1u << 9)

/* ---- TWIM0: I2C master with EasyDMA (shares 0x40003000 with SPIM0/SPIS0/TWIS0) ----------- */
#define TWIM0_BASE 0x40003000u
#define TWIM_TASKS_STARTRX 0x000u
#define TWIM_TASKS_STARTTX 0x008u
#define TWIM_TASKS_STOP 0x014u
#define TWIM_TASKS_RESUME 0x020u
#define TWIM_EVENTS_STOPPED 0x104u
#define TWIM_EVENTS_ERROR 0x124u
#define TWIM_EVENTS_SUSPENDED 0x148u
#define TWIM_EVENTS_LASTRX 0x15Cu
#define TWIM_EVENTS_LASTTX 0x160u
#define TWIM_SHORTS 0x200u
#define TWIM_ERRORSRC 0x4C4u
#define TWIM_ENABLE 0x500u
#define TWIM_PSEL_SCL 0x508u
#define TWIM_PSEL_SDA 0x50Cu
#define TWIM_FREQUENCY 0x524u
#define TWIM_RXD_PTR 0x534u
#define TWIM_RXD_MAXCNT 0x538u
#define TWIM_RXD_AMOUNT 0x53Cu
#define TWIM_RXD_LIST 0x540u
#define TWIM_TXD_PTR 0x544u
#define TWIM_TXD_MAXCNT 0x548u
#define TWIM_TXD_AMOUNT 0x54Cu
#define TWIM_TXD_LIST 0x550u
#define TWIM_ADDRESS 0x588u
#define TWIM_ENABLE_ON 6u
#define TWIM_FREQ_K100 0x01980000u
#define TWIM_SHORTS_LASTTX_STARTRX (1u << 7)
#define TWIM_SHORTS_LASTTX_STOP (1u << 9)
#define TWIM_SHORTS_LASTRX_STOP (1u << 12)
#define TWIM_ERRORSRC_OVERRUN 0x1u
#define TWIM_ERRORSRC_ANACK 0x2u
#define TWIM_ERRORSRC_DNACK 0x4u

/* ---- GPIOTE: pin change events ------------------------------------------------------------ */
#define GPIOTE_BASE 0x40006000u
#define GPIOTE_EVENTS_IN(n) (GPIOTE_BASE + 0x100u + 4u * (n))
#define GPIOTE_INTENSET (GPIOTE_BASE + 0x304u)
#define GPIOTE_INTENCLR (GPIOTE_BASE + 0x308u)
#define GPIOTE_CONFIG(n) (GPIOTE_BASE + 0x510u + 4u * (n))
#define GPIOTE_CHANNELS 8u
#define GPIOTE_CONFIG_MODE_EVENT 1u
#define GPIOTE_CONFIG_PSEL_SHIFT 8u
#define GPIOTE_CONFIG_PORT_SHIFT 13u
#define GPIOTE_CONFIG_POLARITY_TOGGLE (3u << 16)

/* ---- RNG ---------------------------------------------------------------------------------- */
#define RNG_BASE 0x4000D000u
#define RNG_TASKS_START (RNG_BASE + 0x000u)
#define RNG_TASKS_STOP (RNG_BASE + 0x004u)
#define RNG_EVENTS_VALRDY (RNG_BASE + 0x100u)
#define RNG_CONFIG (RNG_BASE + 0x504u)
#define RNG_VALUE (RNG_BASE + 0x508u)

/* ---- WDT ---------------------------------------------------------------------------------- */
#define WDT_BASE 0x40010000u
#define WDT_TASKS_START (WDT_BASE + 0x000u)
#define WDT_CRV (WDT_BASE + 0x504u)
#define WDT_RREN (WDT_BASE + 0x508u)
#define WDT_CONFIG (WDT_BASE + 0x50Cu)
#define WDT_RR0 (WDT_BASE + 0x600u)
#define WDT_RELOAD_VALUE 0x6E524635u
#define WDT_CONFIG_RUN_IN_SLEEP 0x1u

/* ---- RTC1: the 32.768 kHz time base ------------------------------------------------------ */
#define RTC1_BASE 0x40011000u
#define RTC_TASKS_START (RTC1_BASE + 0x000u)
#define RTC_TASKS_CLEAR (RTC1_BASE + 0x008u)
#define RTC_EVENTS_OVRFLW (RTC1_BASE + 0x104u)
#define RTC_EVENTS_COMPARE0 (RTC1_BASE + 0x140u)
#define RTC_INTENSET (RTC1_BASE + 0x304u)
#define RTC_INTENCLR (RTC1_BASE + 0x308u)
#define RTC_EVTENSET (RTC1_BASE + 0x344u)
#define RTC_COUNTER (RTC1_BASE + 0x504u)
#define RTC_PRESCALER (RTC1_BASE + 0x508u)
#define RTC_CC0 (RTC1_BASE + 0x540u)
#define RTC_INT_OVRFLW (1u << 1)
#define RTC_INT_COMPARE0 (1u << 16)

/* ---- NVMC: flash programming ------------------------------------------------------------- */
#define NVMC_BASE 0x4001E000u
#define NVMC_READY (NVMC_BASE + 0x400u)
#define NVMC_CONFIG (NVMC_BASE + 0x504u)
#define NVMC_ERASEPAGE (NVMC_BASE + 0x508u)
#define NVMC_CONFIG_REN 0u
#define NVMC_CONFIG_WEN 1u
#define NVMC_CONFIG_EEN 2u
#define NVMC_PAGE_SIZE 4096u

/* ---- GPIO port 0 -------------------------------------------------------------------------- */
#define P0_BASE 0x50000000u
#define P1_BASE 0x50000300u
#define GPIO_OUTSET 0x508u
#define GPIO_OUTCLR 0x50Cu
#define GPIO_IN 0x510u
#define GPIO_OUT 0x504u
#define GPIO_PIN_CNF(n) (0x700u + 4u * (n))
#define GPIO_CNF_DIR_OUTPUT 0x1u
#define GPIO_CNF_INPUT_DISCONNECT 0x2u
#define GPIO_CNF_PULLDOWN (1u << 2)
#define GPIO_CNF_PULLUP (3u << 2)

/* ---- interrupt numbers -------------------------------------------------------------------- */
#define IRQ_UARTE0 2u
#define IRQ_GPIOTE 6u
#define IRQ_RTC1 17u
#define NRF_IRQ_COUNT 48u

#endif /* LQ_NRF52840_H */
