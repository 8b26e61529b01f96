/*
 * nrf_port.h — the nRF52840 port's drivers, as used by port.c and main.c.
 */
#ifndef LQ_NRF_PORT_H
#define LQ_NRF_PORT_H

#include <stddef.h>
#include <stdint.h>

#include "cortex_m.h" /* lq_irq_save/restore, lq_wfi, lq_fatal */

/* nRF52840-DK wiring (PCA10056): UART to the J-Link's virtual COM port, I2C on the Arduino
 * header. Pin numbers are port*32 + pin. */
#define DK_UART_TX 6u
#define DK_UART_RX 8u
#define DK_UART_RTS 5u
#define DK_UART_CTS 7u
#define DK_I2C_SDA 26u
#define DK_I2C_SCL 27u

static inline void lq_nvic_enable(uint32_t irq) {
  (*(volatile uint32_t *)(uintptr_t)(0xE000E100u + 4u * (irq / 32u))) = 1u << (irq % 32u);
}

/* clock.c: HFXO for accurate UART/TWI timing, LFXO (falling back to LFRC) for RTC1. */
void lq_clocks_start(void);

/* rtc_time.c: 64-bit time from RTC1 at 32768 Hz; a compare event wakes the idle loop. */
void lq_time_init(void);
uint64_t lq_time_us(void);
void lq_time_wake_at(uint64_t until_us);

/* uarte.c: the protocol UART (UARTE0, 115200 8N1, RTS/CTS). */
void lq_uarte_init(void);
size_t lq_uarte_pending(void);
size_t lq_uarte_read(uint8_t *buf, size_t cap);
/* Starts sending up to the DMA buffer's size; returns how many bytes were taken (0 = busy). */
size_t lq_uarte_write(const uint8_t *buf, size_t len);
/* Blocking, for fault reports. */
void lq_uarte_write_all(const uint8_t *buf, size_t len);

/* gpio.c: pins as port*32+pin, line levels (the DK's LEDs light on 0, buttons read 0 pressed). */
int lq_gpio_configure(uint32_t pin, int mode);
int lq_gpio_write(uint32_t pin, int value);
int lq_gpio_read(uint32_t pin);
int lq_gpio_notify(uint32_t pin, int enable);
extern volatile int lq_gpio_event;

/* twim.c: I2C master on TWIM0, 100 kHz. */
void lq_twim_init(void);
int lq_twim_transfer(uint8_t addr, const uint8_t *wdata, size_t wlen, uint8_t *rdata, size_t rlen);

/* nvmc_flash.c: the module store in internal flash. */
#define LQ_NRF_STORE_PAGE_SIZE 4u
uint32_t lq_nvmc_store_size(void);
int lq_nvmc_read(uint32_t addr, void *buf, uint32_t len);
int lq_nvmc_program(uint32_t addr, const void *buf, uint32_t len);
int lq_nvmc_erase(uint32_t block_addr);

/* system.c: watchdog, RNG, device id. */
void lq_watchdog_start(void);
void lq_watchdog_kick(void);
uint32_t lq_rng_u32(void);
const char *lq_device_id(void);

#endif /* LQ_NRF_PORT_H */
