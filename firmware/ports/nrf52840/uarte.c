/*
 * uarte.c — the protocol UART on UARTE0 (EasyDMA), 115200 8N1 with RTS/CTS flow control.
 *
 * Receive: one-byte DMA transfers restarted from the ENDRX interrupt into a ring buffer.
 * There is deliberately no ENDRX->STARTRX short: while the ring is full, or while the CPU is
 * stalled by a flash erase (85 ms per page), the receiver stays stopped, its FIFO fills and
 * the hardware flow control holds the sender instead of losing bytes.
 * Transmit: non-blocking, one DMA transfer of up to TX_DMA_SIZE bytes at a time from a RAM
 * buffer (EasyDMA cannot read flash).
 */
#include <string.h>

#include "nrf52840.h"
#include "nrf_port.h"
#include "rx_ring.h"

#define UARTE(off) NRF_REG(UARTE0_BASE + (off))
#define RX_RING_SIZE 2048u /* power of two */
#define TX_DMA_SIZE 256u

static uint8_t rx_storage[RX_RING_SIZE];
static lq_rx_ring rx = {rx_storage, RX_RING_SIZE, 0, 0};
static volatile int rx_stopped;
static uint8_t rx_dma[1];
static uint8_t tx_dma[TX_DMA_SIZE];
static int tx_busy;

static void start_rx(void) {
  rx_stopped = 0;
  UARTE(UARTE_RXD_PTR) = (uint32_t)(uintptr_t)rx_dma;
  UARTE(UARTE_RXD_MAXCNT) = sizeof rx_dma;
  UARTE(UARTE_TASKS_STARTRX) = 1;
}

void lq_uarte_init(void) {
  lq_rx_ring_clear(&rx);
  tx_busy = 0;
  UARTE(UARTE_ENABLE) = 0;
  UARTE(UARTE_PSEL_TXD) = DK_UART_TX;
  UARTE(UARTE_PSEL_RXD) = DK_UART_RX;
  UARTE(UARTE_PSEL_RTS) = DK_UART_RTS;
  UARTE(UARTE_PSEL_CTS) = DK_UART_CTS;
  UARTE(UARTE_BAUDRATE) = UARTE_BAUD_115200;
  UARTE(UARTE_CONFIG) = UARTE_CONFIG_HWFC; /* no parity, one stop bit */
  UARTE(UARTE_ENABLE) = UARTE_ENABLE_ON;
  UARTE(UARTE_EVENTS_ENDRX) = 0;
  UARTE(UARTE_EVENTS_ERROR) = 0;
  UARTE(UARTE_INTENSET) = UARTE_INT_ENDRX | UARTE_INT_ERROR;
  lq_nvic_enable(IRQ_UARTE0);
  start_rx();
}

void lq_uarte0_irq(void) {
  if (UARTE(UARTE_EVENTS_ERROR)) {
    UARTE(UARTE_EVENTS_ERROR) = 0;
    UARTE(UARTE_ERRORSRC) = UARTE(UARTE_ERRORSRC); /* write-one-to-clear: framing, overrun... */
  }
  if (UARTE(UARTE_EVENTS_ENDRX)) {
    UARTE(UARTE_EVENTS_ENDRX) = 0;
    if (UARTE(UARTE_RXD_AMOUNT) == 1) lq_rx_ring_put(&rx, rx_dma[0]);
    if (!lq_rx_ring_full(&rx)) start_rx();
    else rx_stopped = 1; /* the reader restarts reception after making room */
  }
}

size_t lq_uarte_pending(void) { return lq_rx_ring_count(&rx); }

size_t lq_uarte_read(uint8_t *buf, size_t cap) {
  size_t n = lq_rx_ring_read(&rx, buf, cap);
  if (n > 0 && rx_stopped) {
    uint32_t saved = lq_irq_save();
    if (rx_stopped) start_rx();
    lq_irq_restore(saved);
  }
  return n;
}

size_t lq_uarte_write(const uint8_t *buf, size_t len) {
  if (tx_busy) {
    if (!UARTE(UARTE_EVENTS_ENDTX)) return 0;
    tx_busy = 0;
  }
  if (len == 0) return 0;
  size_t n = len < TX_DMA_SIZE ? len : TX_DMA_SIZE;
  memcpy(tx_dma, buf, n);
  UARTE(UARTE_EVENTS_ENDTX) = 0;
  UARTE(UARTE_TXD_PTR) = (uint32_t)(uintptr_t)tx_dma;
  UARTE(UARTE_TXD_MAXCNT) = n;
  UARTE(UARTE_TASKS_STARTTX) = 1;
  tx_busy = 1;
  return n;
}

void lq_uarte_write_all(const uint8_t *buf, size_t len) {
  while (len > 0) {
    size_t n = lq_uarte_write(buf, len);
    buf += n;
    len -= n;
  }
  while (tx_busy && !UARTE(UARTE_EVENTS_ENDTX)) {
  }
}
