/*
 * rx_ring.h — the receive ring of the Cortex-M ports' protocol UARTs: one producer (the UART
 * interrupt handler) and one consumer (the main loop), no locking. head and tail count bytes
 * forever and wrap at 2^32, so full and empty need no spare slot; the size must be a power
 * of two for that wrap to keep the index right. Each index is written by one side only.
 */
#ifndef LQ_RX_RING_H
#define LQ_RX_RING_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
  uint8_t *data;
  uint32_t size;          /* a power of two */
  volatile uint32_t head; /* written by the interrupt handler */
  volatile uint32_t tail; /* written by the reader */
} lq_rx_ring;

static inline void lq_rx_ring_clear(lq_rx_ring *ring) { ring->head = ring->tail = 0; }

static inline uint32_t lq_rx_ring_count(const lq_rx_ring *ring) { return ring->head - ring->tail; }

static inline int lq_rx_ring_full(const lq_rx_ring *ring) { return ring->head - ring->tail >= ring->size; }

/* Interrupt side: the caller has checked that the ring is not full. */
static inline void lq_rx_ring_put(lq_rx_ring *ring, uint8_t byte) {
  ring->data[ring->head & (ring->size - 1u)] = byte;
  ring->head = ring->head + 1;
}

/* Reader side: takes up to cap bytes, returns how many. */
static inline size_t lq_rx_ring_read(lq_rx_ring *ring, uint8_t *buf, size_t cap) {
  size_t n = 0;
  uint32_t head = ring->head;
  while (n < cap && ring->tail != head) {
    buf[n++] = ring->data[ring->tail & (ring->size - 1u)];
    ring->tail = ring->tail + 1;
  }
  return n;
}

#endif /* LQ_RX_RING_H */
