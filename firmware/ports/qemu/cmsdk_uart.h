/*
 * cmsdk_uart.h — CMSDK APB UART driver: UART0 carries the device protocol (interrupt-driven
 * receive into a ring buffer), UART1 is the write-only debug console for traces and faults.
 */
#ifndef LQ_CMSDK_UART_H
#define LQ_CMSDK_UART_H

#include <stddef.h>
#include <stdint.h>

void lq_uart_init(void);
/* Bytes received on UART0 and not read yet. */
size_t lq_uart0_pending(void);
/* Copies up to cap received bytes; never blocks. */
size_t lq_uart0_read(uint8_t *buf, size_t cap);
/* Sends bytes on UART0 (blocking while the transmit holding register is full). */
void lq_uart0_write(const uint8_t *buf, size_t len);
/* Sends what the UART takes right now; returns how many bytes went out. */
size_t lq_uart0_try_write(const uint8_t *buf, size_t len);
/* Sends text on UART1, the debug console. Safe in fault context (polled). */
void lq_console_write(const char *text);
void lq_console_write_hex(uint32_t value);
void lq_console_write_dec(uint32_t value);

#endif /* LQ_CMSDK_UART_H */
