/*
 * nvmc_flash.c — the module store in the nRF52840's internal flash, programmed through the
 * NVMC. Erase unit: one 4 KiB page. Program unit: one 32-bit word, so the store sees a "page"
 * (the unit a program never crosses) of 4 bytes. A partial word is programmed with 0xFF in
 * the other bytes, which leaves them unchanged (programming only clears bits).
 *
 * Limit from the product specification: a word may be written at most twice (n_WRITE)
 * between erases. The runtime's store writes page-aligned records and blob chunks, so a word
 * is written once, or twice where a chunk boundary splits it.
 *
 * The CPU stalls while the NVMC works (up to 85 ms for an erase); the UART's flow control
 * covers the gap (see uarte.c).
 */
#include <string.h>

#include "liquid_port.h"
#include "nrf52840.h"
#include "nrf_port.h"

extern uint8_t __store_start[], __store_end[];

uint32_t lq_nvmc_store_size(void) { return (uint32_t)(__store_end - __store_start); }

static void nvmc_wait(void) {
  while (NRF_REG(NVMC_READY) == 0) {
  }
}

static int in_range(uint32_t addr, uint32_t len) {
  return addr <= lq_nvmc_store_size() && len <= lq_nvmc_store_size() - addr;
}

int lq_nvmc_read(uint32_t addr, void *buf, uint32_t len) {
  if (!in_range(addr, len)) return LQ_PORT_EINVAL;
  memcpy(buf, __store_start + addr, len);
  return LQ_PORT_OK;
}

static int program_word(volatile uint32_t *word, uint32_t value) {
  if ((*word & value) != value) return LQ_PORT_EIO; /* would need a 0 bit set: erase first */
  if (value == 0xFFFFFFFFu) return LQ_PORT_OK;
  NRF_REG(NVMC_CONFIG) = NVMC_CONFIG_WEN;
  nvmc_wait();
  *word = value;
  nvmc_wait();
  NRF_REG(NVMC_CONFIG) = NVMC_CONFIG_REN;
  /* Verify: every bit asked to be 0 must now read 0. */
  return (*word & ~value) == 0 ? LQ_PORT_OK : LQ_PORT_EIO;
}

int lq_nvmc_program(uint32_t addr, const void *buf, uint32_t len) {
  if (!in_range(addr, len)) return LQ_PORT_EINVAL;
  const uint8_t *src = buf;
  while (len > 0) {
    uint32_t offset = addr % 4u;
    uint32_t n = 4u - offset < len ? 4u - offset : len;
    uint32_t value = 0xFFFFFFFFu;
    memcpy((uint8_t *)&value + offset, src, n); /* little-endian: byte i of the word */
    int err = program_word((volatile uint32_t *)(void *)(__store_start + addr - offset), value);
    if (err) return err;
    addr += n;
    src += n;
    len -= n;
  }
  return LQ_PORT_OK;
}

int lq_nvmc_erase(uint32_t block_addr) {
  if (block_addr % NVMC_PAGE_SIZE != 0 || !in_range(block_addr, NVMC_PAGE_SIZE)) return LQ_PORT_EINVAL;
  NRF_REG(NVMC_CONFIG) = NVMC_CONFIG_EEN;
  nvmc_wait();
  NRF_REG(NVMC_ERASEPAGE) = (uint32_t)(uintptr_t)(__store_start + block_addr);
  nvmc_wait();
  NRF_REG(NVMC_CONFIG) = NVMC_CONFIG_REN;
  const uint32_t *p = (const uint32_t *)(const void *)(__store_start + block_addr);
  for (uint32_t i = 0; i < NVMC_PAGE_SIZE / 4u; i++)
    if (p[i] != 0xFFFFFFFFu) return LQ_PORT_EIO;
  return LQ_PORT_OK;
}
