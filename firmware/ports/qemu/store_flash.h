/*
 * store_flash.h — the module store's flash on QEMU: a NOR-flash emulation in SSRAM1,
 * optionally mirrored to a host file through semihosting.
 */
#ifndef LQ_STORE_FLASH_H
#define LQ_STORE_FLASH_H

#include <stdint.h>

#define LQ_STORE_PAGE_SIZE 256u
#define LQ_STORE_BLOCK_SIZE 4096u

/*
 * Mounts the flash region. `backing_file` (may be NULL) names a host file that holds the
 * flash contents across QEMU runs; it is created (erased) when missing. Without it the
 * contents live as long as the QEMU process: a cold start erases them, a reset keeps them.
 * Returns 1 when the file backing is active, 0 otherwise.
 */
int lq_store_flash_init(const char *backing_file);
uint32_t lq_store_flash_size(void);
int lq_store_flash_read(uint32_t addr, void *buf, uint32_t len);
int lq_store_flash_program(uint32_t addr, const void *buf, uint32_t len);
int lq_store_flash_erase(uint32_t block_addr);

#endif /* LQ_STORE_FLASH_H */
