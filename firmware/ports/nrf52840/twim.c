/*
 * twim.c — I2C master on TWIM0 (EasyDMA), 100 kHz, SDA P0.26 / SCL P0.27 on the DK.
 *
 * Each transfer is one DMA sequence whose shorts chain the parts: LASTTX->STOP for a write,
 * LASTRX->STOP for a read, LASTTX->STARTRX (a repeated START) then LASTRX->STOP for a
 * register read. An address or data NACK raises ERROR; the peripheral then needs an explicit
 * STOP task. EasyDMA only reaches RAM, so data outside RAM goes through a bounce buffer.
 * The empty probe (wlen == rlen == 0) reads one byte, which every 7-bit device answers.
 */
#include <string.h>

#include "liquid_port.h"
#include "nrf52840.h"
#include "nrf_port.h"

#define TWIM(off) NRF_REG(TWIM0_BASE + (off))
#define RAM_START 0x20000000u
#define RAM_END 0x20040000u
#define BOUNCE_SIZE 256u
#define TIMEOUT_US 50000u /* 100 kHz: 256 bytes take ~25 ms */

static uint8_t bounce_tx[BOUNCE_SIZE];

void lq_twim_init(void) {
  TWIM(TWIM_ENABLE) = 0;
  /* SCL/SDA as open-drain inputs with pull-ups while the TWIM drives them (S0D1 drive). */
  const uint32_t cnf = GPIO_CNF_PULLUP | (6u << 8);
  NRF_REG(P0_BASE + GPIO_PIN_CNF(DK_I2C_SCL)) = cnf;
  NRF_REG(P0_BASE + GPIO_PIN_CNF(DK_I2C_SDA)) = cnf;
  TWIM(TWIM_PSEL_SCL) = DK_I2C_SCL;
  TWIM(TWIM_PSEL_SDA) = DK_I2C_SDA;
  TWIM(TWIM_FREQUENCY) = TWIM_FREQ_K100;
  TWIM(TWIM_TXD_LIST) = 0;
  TWIM(TWIM_RXD_LIST) = 0;
  TWIM(TWIM_ENABLE) = TWIM_ENABLE_ON;
}

static int in_ram(const void *p, size_t len) {
  uintptr_t a = (uintptr_t)p;
  return a >= RAM_START && a + len <= RAM_END;
}

static int wait_stopped(void) {
  uint64_t deadline = lq_time_us() + TIMEOUT_US;
  for (;;) {
    if (TWIM(TWIM_EVENTS_STOPPED)) return 0;
    if (TWIM(TWIM_EVENTS_ERROR)) {
      TWIM(TWIM_EVENTS_ERROR) = 0;
      TWIM(TWIM_TASKS_RESUME) = 1; /* a suspended bus must run to process STOP */
      TWIM(TWIM_TASKS_STOP) = 1;
    }
    if (lq_time_us() > deadline) return LQ_PORT_EIO;
  }
}

int lq_twim_transfer(uint8_t addr, const uint8_t *wdata, size_t wlen, uint8_t *rdata, size_t rlen) {
  static uint8_t probe_byte;
  if (wlen > 0xFFFFu || rlen > 0xFFFFu) return LQ_PORT_EINVAL;
  if (wlen == 0 && rlen == 0) {
    rdata = &probe_byte;
    rlen = 1;
  }
  if (wlen > 0 && !in_ram(wdata, wlen)) {
    if (wlen > BOUNCE_SIZE) return LQ_PORT_EINVAL;
    memcpy(bounce_tx, wdata, wlen);
    wdata = bounce_tx;
  }
  if (rlen > 0 && !in_ram(rdata, rlen)) return LQ_PORT_EINVAL;

  TWIM(TWIM_ADDRESS) = addr;
  TWIM(TWIM_EVENTS_STOPPED) = 0;
  TWIM(TWIM_EVENTS_ERROR) = 0;
  TWIM(TWIM_ERRORSRC) = TWIM_ERRORSRC_OVERRUN | TWIM_ERRORSRC_ANACK | TWIM_ERRORSRC_DNACK;
  TWIM(TWIM_TXD_PTR) = (uint32_t)(uintptr_t)wdata;
  TWIM(TWIM_TXD_MAXCNT) = wlen;
  TWIM(TWIM_RXD_PTR) = (uint32_t)(uintptr_t)rdata;
  TWIM(TWIM_RXD_MAXCNT) = rlen;
  if (wlen > 0 && rlen > 0) {
    TWIM(TWIM_SHORTS) = TWIM_SHORTS_LASTTX_STARTRX | TWIM_SHORTS_LASTRX_STOP;
    TWIM(TWIM_TASKS_STARTTX) = 1;
  } else if (wlen > 0) {
    TWIM(TWIM_SHORTS) = TWIM_SHORTS_LASTTX_STOP;
    TWIM(TWIM_TASKS_STARTTX) = 1;
  } else {
    TWIM(TWIM_SHORTS) = TWIM_SHORTS_LASTRX_STOP;
    TWIM(TWIM_TASKS_STARTRX) = 1;
  }
  int err = wait_stopped();
  uint32_t errorsrc = TWIM(TWIM_ERRORSRC);
  TWIM(TWIM_SHORTS) = 0;
  if (err) {
    lq_twim_init(); /* the bus hung: reset the peripheral */
    return err;
  }
  if (errorsrc & (TWIM_ERRORSRC_ANACK | TWIM_ERRORSRC_DNACK)) return LQ_PORT_ENACK;
  if (errorsrc & TWIM_ERRORSRC_OVERRUN) return LQ_PORT_EIO;
  return LQ_PORT_OK;
}
