/*
 * sbcon_i2c.c — see sbcon_i2c.h.
 *
 * The SBCon only exposes the two open-drain lines: writing a bit to CONTROLS releases the
 * line (high through the pull-up), writing it to CONTROLC pulls it low, and CONTROL reads
 * the real levels. Everything else — START, STOP, repeated START, clocking bytes out and
 * in, ACK/NACK — is done here in software. On the real FPGA board the half-period delay
 * keeps SCL near 100 kHz; QEMU's model reacts instantly and ignores it. A device holding
 * SCL low (clock stretching) is waited for, up to a limit after which the bus is declared
 * stuck (EIO).
 */
#include "sbcon_i2c.h"

#include "liquid_port.h"
#include "mps2_an386.h"

#define HALF_PERIOD_SPINS 32
#define STRETCH_LIMIT 10000

static void delay(void) {
  for (volatile int i = 0; i < HALF_PERIOD_SPINS; i++) {
  }
}

static void release(uint32_t base, uint32_t line) { LQ_REG32(base + SBCON_CONTROLS) = line; }
static void pull_low(uint32_t base, uint32_t line) { LQ_REG32(base + SBCON_CONTROLC) = line; }
static int level(uint32_t base, uint32_t line) { return (LQ_REG32(base + SBCON_CONTROL) & line) != 0; }

/* Releases SCL and waits for it to really go high. */
static int scl_high(uint32_t base) {
  release(base, SBCON_SCL);
  for (int i = 0; i < STRETCH_LIMIT; i++) {
    if (level(base, SBCON_SCL)) {
      delay();
      return 0;
    }
  }
  return LQ_PORT_EIO;
}

static void scl_low(uint32_t base) {
  pull_low(base, SBCON_SCL);
  delay();
}

/* START (or repeated START): SDA falls while SCL is high. Expects SCL low or idle bus. */
static int start(uint32_t base) {
  release(base, SBCON_SDA);
  delay();
  if (scl_high(base)) return LQ_PORT_EIO;
  if (!level(base, SBCON_SDA)) return LQ_PORT_EIO; /* someone holds SDA */
  pull_low(base, SBCON_SDA);
  delay();
  scl_low(base);
  return 0;
}

/* STOP: SDA rises while SCL is high. */
static int stop(uint32_t base) {
  pull_low(base, SBCON_SDA);
  delay();
  int err = scl_high(base);
  release(base, SBCON_SDA);
  delay();
  return err;
}

/* Clocks one byte out MSB first; returns 0 on ACK, LQ_PORT_ENACK on NACK. */
static int write_byte(uint32_t base, uint8_t byte) {
  for (int bit = 7; bit >= 0; bit--) {
    if (byte & (1u << bit)) release(base, SBCON_SDA);
    else pull_low(base, SBCON_SDA);
    if (scl_high(base)) return LQ_PORT_EIO;
    scl_low(base);
  }
  release(base, SBCON_SDA);
  if (scl_high(base)) return LQ_PORT_EIO;
  int nack = level(base, SBCON_SDA);
  scl_low(base);
  return nack ? LQ_PORT_ENACK : 0;
}

/* Clocks one byte in, then answers ACK (more bytes wanted) or NACK (last byte). */
static int read_byte(uint32_t base, uint8_t *out, int ack) {
  uint8_t byte = 0;
  release(base, SBCON_SDA);
  for (int bit = 7; bit >= 0; bit--) {
    if (scl_high(base)) return LQ_PORT_EIO;
    if (level(base, SBCON_SDA)) byte |= (uint8_t)(1u << bit);
    scl_low(base);
  }
  if (ack) pull_low(base, SBCON_SDA);
  else release(base, SBCON_SDA);
  if (scl_high(base)) return LQ_PORT_EIO;
  scl_low(base);
  release(base, SBCON_SDA);
  *out = byte;
  return 0;
}

void lq_i2c_init(uint32_t base) {
  release(base, SBCON_SCL | SBCON_SDA);
  delay();
  /* Bus recovery: a device interrupted mid-byte by a reset may still hold SDA low; nine
   * clocks let it finish its byte, then a STOP returns the bus to idle. */
  for (int i = 0; i < 9 && !level(base, SBCON_SDA); i++) {
    scl_low(base);
    (void)scl_high(base);
  }
  (void)stop(base);
}

int lq_i2c_transfer(uint32_t base, uint8_t addr, const uint8_t *wdata, size_t wlen, uint8_t *rdata,
                    size_t rlen) {
  int err = start(base);
  if (err) goto done;
  if (wlen > 0 || rlen == 0) {
    err = write_byte(base, (uint8_t)(addr << 1));
    for (size_t i = 0; !err && i < wlen; i++) err = write_byte(base, wdata[i]);
    if (err || rlen == 0) goto done;
    err = start(base); /* repeated START */
    if (err) goto done;
  }
  err = write_byte(base, (uint8_t)((addr << 1) | 1u));
  for (size_t i = 0; !err && i < rlen; i++) err = read_byte(base, &rdata[i], i + 1 < rlen);
done:;
  int stop_err = stop(base);
  return err ? err : stop_err;
}
