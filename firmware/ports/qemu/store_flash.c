/*
 * store_flash.c — see store_flash.h.
 *
 * The region is the linker script's STORE (512 KiB of SSRAM1 that is not part of the ELF,
 * so QEMU's system reset leaves it alone while it reloads the code). Flash rules are
 * enforced as on real NOR flash: programming only clears bits, never crosses a page, and
 * erasing sets a whole block to 0xFF — so the runtime's store code meets on QEMU the same
 * constraints as on an nRF52840.
 *
 * The last block is not given to the store: its first words hold a marker telling a warm
 * reset (marker present: keep the contents) from QEMU's power-on state (RAM zeroed: erase
 * everything, as a new chip would be).
 *
 * With a backing file every program and erase is written through before returning, which is
 * what makes the operation durable from the store's point of view.
 */
#include "store_flash.h"

#include <string.h>

#include "liquid_port.h"
#include "semihosting.h"

extern uint8_t __store_start[], __store_end[];

#define MARKER_WORD0 0x4C515354u /* "LQST" */
#define MARKER_WORD1 0x464C5348u /* "FLSH" */
#define SEMIHOSTING_MODE_RW_BINARY 3  /* "r+b" */
#define SEMIHOSTING_MODE_NEW_BINARY 7 /* "w+b" */

static int backing = -1;

static uint32_t region_size(void) { return (uint32_t)(__store_end - __store_start); }
uint32_t lq_store_flash_size(void) { return region_size() - LQ_STORE_BLOCK_SIZE; }

static volatile uint32_t *marker(void) {
  return (volatile uint32_t *)(void *)(__store_start + lq_store_flash_size());
}

static int write_through(uint32_t addr, uint32_t len) {
  if (backing < 0) return 0;
  if (lq_semihosting_seek(backing, addr) != 0) return LQ_PORT_EIO;
  return lq_semihosting_write(backing, __store_start + addr, len) == 0 ? 0 : LQ_PORT_EIO;
}

int lq_store_flash_init(const char *backing_file) {
  uint32_t size = lq_store_flash_size();
  if (marker()[0] != MARKER_WORD0 || marker()[1] != MARKER_WORD1) {
    memset(__store_start, 0xFF, size);
    marker()[0] = MARKER_WORD0;
    marker()[1] = MARKER_WORD1;
  }
  if (backing >= 0) (void)lq_semihosting_close(backing); /* a runtime re-init */
  backing = -1;
  if (!backing_file || !*backing_file) return 0;

  int handle = lq_semihosting_open(backing_file, SEMIHOSTING_MODE_RW_BINARY);
  if (handle >= 0) {
    long length = lq_semihosting_flen(handle);
    if (length == (long)size && lq_semihosting_read(handle, __store_start, size) == 0) {
      backing = handle;
      return 1;
    }
    /* Wrong size or unreadable: start over with an erased file. */
    (void)lq_semihosting_close(handle);
  }
  handle = lq_semihosting_open(backing_file, SEMIHOSTING_MODE_NEW_BINARY);
  if (handle < 0) return 0;
  memset(__store_start, 0xFF, size);
  backing = handle;
  if (write_through(0, size) != 0) {
    (void)lq_semihosting_close(handle);
    backing = -1;
    return 0;
  }
  return 1;
}

static int in_range(uint32_t addr, uint32_t len) {
  return addr <= lq_store_flash_size() && len <= lq_store_flash_size() - addr;
}

int lq_store_flash_read(uint32_t addr, void *buf, uint32_t len) {
  if (!in_range(addr, len)) return LQ_PORT_EINVAL;
  memcpy(buf, __store_start + addr, len);
  return 0;
}

int lq_store_flash_program(uint32_t addr, const void *buf, uint32_t len) {
  if (!in_range(addr, len)) return LQ_PORT_EINVAL;
  if (len == 0) return 0;
  if (addr / LQ_STORE_PAGE_SIZE != (addr + len - 1) / LQ_STORE_PAGE_SIZE) return LQ_PORT_EINVAL;
  const uint8_t *src = buf;
  uint8_t *dst = __store_start + addr;
  for (uint32_t i = 0; i < len; i++) {
    if ((dst[i] & src[i]) != src[i]) return LQ_PORT_EIO; /* would need to set a 0 bit */
  }
  for (uint32_t i = 0; i < len; i++) dst[i] &= src[i];
  return write_through(addr, len);
}

int lq_store_flash_erase(uint32_t block_addr) {
  if (block_addr % LQ_STORE_BLOCK_SIZE != 0 || !in_range(block_addr, LQ_STORE_BLOCK_SIZE)) {
    return LQ_PORT_EINVAL;
  }
  memset(__store_start + block_addr, 0xFF, LQ_STORE_BLOCK_SIZE);
  return write_through(block_addr, LQ_STORE_BLOCK_SIZE);
}
