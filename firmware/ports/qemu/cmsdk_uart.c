/*
 * cmsdk_uart.c — see cmsdk_uart.h.
 *
 * Receive: QEMU's CMSDK UART holds a single byte and stops taking bytes from its chardev
 * while that byte is unread, so nothing is lost if we are slow; the interrupt handler moves
 * bytes into a ring buffer so a long app slice does not stall the host. When the ring is
 * full the handler masks the RX interrupt instead of dropping bytes (backpressure), and the
 * reader unmasks it after making room.
 * Transmit: QEMU keeps TXFULL set only while its chardev cannot take the byte (a host that
 * stopped reading), so the protocol's writes stop there instead of stalling the firmware.
 */
#include "cmsdk_uart.h"

#include "cortex_m.h"
#include "mps2_an386.h"
#include "rx_ring.h"

#define UART_REG(base, off) LQ_REG32((base) + (off))
#define BAUD_RATE 115200u
#define RX_RING_SIZE 1024u /* power of two */

static uint8_t rx_storage[RX_RING_SIZE];
static lq_rx_ring rx = {rx_storage, RX_RING_SIZE, 0, 0};

static void uart_enable(uint32_t base, uint32_t ctrl) {
  UART_REG(base, CMSDK_UART_CTRL) = 0;
  UART_REG(base, CMSDK_UART_BAUDDIV) = MPS2_SYSCLK_HZ / BAUD_RATE;
  UART_REG(base, CMSDK_UART_INTSTATUS) = 0xF; /* clear anything pending */
  UART_REG(base, CMSDK_UART_CTRL) = ctrl;
}

void lq_uart_init(void) {
  lq_rx_ring_clear(&rx);
  uart_enable(MPS2_UART1_BASE, CMSDK_UART_CTRL_TXEN);
  uart_enable(MPS2_UART0_BASE, CMSDK_UART_CTRL_TXEN | CMSDK_UART_CTRL_RXEN | CMSDK_UART_CTRL_RXIRQ);
  LQ_REG32(NVIC_ISER0) = 1u << MPS2_IRQ_UART0_RX;
}

void lq_uart0_rx_handler(void) {
  UART_REG(MPS2_UART0_BASE, CMSDK_UART_INTSTATUS) = CMSDK_UART_INT_RX;
  while (UART_REG(MPS2_UART0_BASE, CMSDK_UART_STATE) & CMSDK_UART_STATE_RXFULL) {
    if (lq_rx_ring_full(&rx)) {
      /* Leave the byte in the UART; the reader re-enables the interrupt. */
      UART_REG(MPS2_UART0_BASE, CMSDK_UART_CTRL) &= ~CMSDK_UART_CTRL_RXIRQ;
      return;
    }
    lq_rx_ring_put(&rx, (uint8_t)UART_REG(MPS2_UART0_BASE, CMSDK_UART_DATA));
  }
}

size_t lq_uart0_pending(void) { return lq_rx_ring_count(&rx); }

size_t lq_uart0_read(uint8_t *buf, size_t cap) {
  size_t n = lq_rx_ring_read(&rx, buf, cap);
  if (n > 0 && !(UART_REG(MPS2_UART0_BASE, CMSDK_UART_CTRL) & CMSDK_UART_CTRL_RXIRQ)) {
    uint32_t saved = lq_irq_save();
    UART_REG(MPS2_UART0_BASE, CMSDK_UART_CTRL) |= CMSDK_UART_CTRL_RXIRQ;
    lq_irq_restore(saved);
    /* A byte may have arrived while masked; the handler drains it (the pending status
     * bit stays set), and an explicit call covers a missed edge. */
    saved = lq_irq_save();
    lq_uart0_rx_handler();
    lq_irq_restore(saved);
  }
  return n;
}

static void put_byte(uint32_t base, uint8_t byte) {
  while (UART_REG(base, CMSDK_UART_STATE) & CMSDK_UART_STATE_TXFULL) {
  }
  UART_REG(base, CMSDK_UART_DATA) = byte;
}

void lq_uart0_write(const uint8_t *buf, size_t len) {
  for (size_t i = 0; i < len; i++) put_byte(MPS2_UART0_BASE, buf[i]);
}

size_t lq_uart0_try_write(const uint8_t *buf, size_t len) {
  size_t n = 0;
  while (n < len && !(UART_REG(MPS2_UART0_BASE, CMSDK_UART_STATE) & CMSDK_UART_STATE_TXFULL)) {
    UART_REG(MPS2_UART0_BASE, CMSDK_UART_DATA) = buf[n++];
  }
  return n;
}

void lq_console_write(const char *text) {
  for (; *text; text++) {
    if (*text == '\n') put_byte(MPS2_UART1_BASE, '\r');
    put_byte(MPS2_UART1_BASE, (uint8_t)*text);
  }
}

void lq_console_write_hex(uint32_t value) {
  char text[11];
  lq_format_hex32(value, text);
  lq_console_write(text);
}

void lq_console_write_dec(uint32_t value) {
  char text[11];
  int i = 10;
  text[i] = '\0';
  do {
    text[--i] = (char)('0' + value % 10);
    value /= 10;
  } while (value);
  lq_console_write(&text[i]);
}
