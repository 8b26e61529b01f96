#define _POSIX_C_SOURCE 200809L
#include "flash_sim.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "liquid_port.h"

static struct {
  uint8_t *mem;
  int fd;
  lq_flash_geometry geo;
  long ops, cut_at; /* cut_at < 0: no cut scheduled */
  int dead;
  int exit_code;
} F = {NULL, -1, {0, 0, 0}, 0, -1, 0, 0};

static void persist(uint32_t addr, uint32_t len) {
  if (F.fd >= 0 && pwrite(F.fd, F.mem + addr, len, (off_t)addr) != (ssize_t)len)
    fprintf(stderr, "flash: write to image file failed\n");
}

int lq_flash_sim_open(const char *path, uint32_t size, uint32_t page_size, uint32_t block_size) {
  lq_flash_sim_close();
  F.mem = (uint8_t *)malloc(size);
  if (!F.mem) return -1;
  memset(F.mem, 0xFF, size);
  F.geo.size = size;
  F.geo.page_size = page_size;
  F.geo.block_size = block_size;
  F.ops = 0;
  F.cut_at = -1;
  F.dead = 0;
  if (path) {
    struct stat st;
    F.fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (F.fd < 0) return -1;
    if (fstat(F.fd, &st) != 0) return -1;
    if (st.st_size == 0) {
      persist(0, size);
    } else if ((uint64_t)st.st_size != size) {
      fprintf(stderr, "flash: image %s is %ld bytes, expected %u\n", path, (long)st.st_size,
              (unsigned)size);
      close(F.fd);
      F.fd = -1;
      return -1;
    } else if (pread(F.fd, F.mem, size, 0) != (ssize_t)size) {
      return -1;
    }
  }
  return 0;
}

void lq_flash_sim_close(void) {
  if (F.fd >= 0) close(F.fd);
  F.fd = -1;
  free(F.mem);
  F.mem = NULL;
}

void lq_flash_sim_cut_after(long ops) { F.cut_at = ops < 0 ? -1 : F.ops + ops; }
void lq_flash_sim_exit_on_cut(int code) { F.exit_code = code; }

static void power_lost(void) {
  if (F.exit_code) {
    fprintf(stderr, "flash: power cut after %ld operations\n", F.ops);
    _exit(F.exit_code);
  }
}

void lq_flash_sim_power_on(void) { F.dead = 0; F.cut_at = -1; }
long lq_flash_sim_ops(void) { return F.ops; }

const lq_flash_geometry *lq_port_flash_geometry(void) { return &F.geo; }

int lq_port_flash_read(uint32_t addr, void *buf, uint32_t len) {
  if (!F.mem || addr > F.geo.size || len > F.geo.size - addr) return LQ_PORT_EINVAL;
  memcpy(buf, F.mem + addr, len);
  return 0;
}

/* Returns 1 when this operation is the one the power cut interrupts. */
static int cut_now(void) {
  if (F.dead) return 1;
  if (F.cut_at >= 0 && F.ops >= F.cut_at) {
    F.dead = 1;
    return 1;
  }
  return 0;
}

int lq_port_flash_program(uint32_t addr, const void *buf, uint32_t len) {
  const uint8_t *p = (const uint8_t *)buf;
  uint32_t i, n = len;
  if (!F.mem || addr > F.geo.size || len > F.geo.size - addr) return LQ_PORT_EINVAL;
  if (len == 0) return 0;
  if (addr / F.geo.page_size != (addr + len - 1) / F.geo.page_size) return LQ_PORT_EINVAL;
  for (i = 0; i < len; i++)
    if (p[i] & ~F.mem[addr + i]) {
      fprintf(stderr, "flash: program of a non-erased bit at 0x%x\n", (unsigned)(addr + i));
      return LQ_PORT_EIO;
    }
  if (F.dead) return LQ_PORT_EPOWER;
  if (cut_now()) n = len / 2; /* torn: the first half of the bytes made it */
  for (i = 0; i < n; i++) F.mem[addr + i] &= p[i];
  persist(addr, n);
  if (n != len) {
    power_lost();
    return LQ_PORT_EPOWER;
  }
  F.ops++;
  return 0;
}

int lq_port_flash_erase(uint32_t block_addr) {
  uint32_t n = F.geo.block_size;
  if (!F.mem || block_addr % F.geo.block_size || block_addr >= F.geo.size) return LQ_PORT_EINVAL;
  if (F.dead) return LQ_PORT_EPOWER;
  if (cut_now()) n = F.geo.block_size / 3; /* torn: the erase stopped a third of the way */
  memset(F.mem + block_addr, 0xFF, n);
  persist(block_addr, n);
  if (n != F.geo.block_size) {
    power_lost();
    return LQ_PORT_EPOWER;
  }
  F.ops++;
  return 0;
}
