/*
 * libFuzzer target: the whole runtime (protocol, store, apps, HAL, engine) behind a fake
 * transport. Each input is a script of records, so that the fuzzer reaches the command
 * handlers instead of dying on CRCs:
 *   0x00 CMD LEN16 BODY   a well-formed request (the harness adds magic, seq and CRC)
 *   0x01 LEN8 BYTES       raw bytes on the link (garbage, partial frames)
 *   0x02 CMD LEN16 BODY   a well-formed request cut in half
 *   0x03                  the host disconnects
 *   0x04 MS16             time passes (timers fire, partial frames expire)
 *   0x05 N8               that many scheduler rounds
 * After the script the store must still mount and be consistent; anything the sanitizers see
 * is a finding. Built and run by firmware/ports/posix/tests/fuzz-protocol.sh.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flash_sim.h"
#include "liquid_port.h"
#include "lq_crc32.h"
#include "lq_store.h"
#include "posix_sim.h"

static const char BOARD[] =
    "{\"name\":\"fuzz\",\"memory\":{\"ram\":262144,\"appMax\":65536},"
    "\"pins\":[{\"name\":\"LED0\",\"port\":0,\"caps\":[\"out\"]},"
    "{\"name\":\"BUTTON0\",\"port\":1,\"caps\":[\"in\",\"pullup\",\"irq\"]}],"
    "\"buses\":[{\"name\":\"I2C0\",\"kind\":\"i2c\",\"port\":0,"
    "\"devices\":[{\"driver\":\"tmp105\",\"addr\":72}]}]}";

static uint8_t link[16384];
static size_t link_len, link_at;
static int closed_pending;
static uint64_t now_us;
static uint32_t rng = 1;

const char *lq_port_board_json(void) { return BOARD; }
const char *lq_port_device_id(void) { return "fuzz-0001"; }
const char *lq_port_arch(void) { return "fuzz"; }

int lq_port_transport_read(uint8_t *buf, size_t cap) {
  size_t n = link_len - link_at;
  if (closed_pending) {
    closed_pending = 0;
    return LQ_PORT_ECLOSED;
  }
  if (n > cap) n = cap;
  if (n > 512) n = 512; /* arrive in pieces, as over a real link */
  memcpy(buf, link + link_at, n);
  link_at += n;
  return (int)n;
}

int lq_port_transport_write(const uint8_t *buf, size_t len) {
  (void)buf;
  return (int)len;
}

uint64_t lq_port_time_us(void) { return now_us += 50; }
void lq_port_idle(uint64_t until_us) {
  if (until_us > now_us) now_us = until_us;
}
void lq_port_watchdog_kick(void) {}
void lq_port_reset(void) {}
uint32_t lq_port_random(void) { return rng = rng * 1103515245u + 12345u; }
void lq_port_trace(const char *line) { (void)line; }

static void put_frame(uint8_t cmd, uint16_t seq, const uint8_t *body, size_t len, size_t keep) {
  uint8_t f[9 + 4096 + 4];
  uint32_t crc;
  size_t total = 9 + len + 4;
  if (len > 4096 || link_len + total > sizeof link) return;
  f[0] = 0x4C; f[1] = 0x51; f[2] = 1; f[3] = cmd; f[4] = 0;
  f[5] = (uint8_t)seq; f[6] = (uint8_t)(seq >> 8);
  f[7] = (uint8_t)len; f[8] = (uint8_t)(len >> 8);
  memcpy(f + 9, body, len);
  crc = lq_crc32(0, f + 2, 7 + len);
  f[9 + len] = (uint8_t)crc; f[10 + len] = (uint8_t)(crc >> 8);
  f[11 + len] = (uint8_t)(crc >> 16); f[12 + len] = (uint8_t)(crc >> 24);
  if (keep > total) keep = total;
  memcpy(link + link_len, f, keep);
  link_len += keep;
}

static void run(int rounds) {
  while (rounds-- > 0) {
    uint64_t next = lq_runtime_poll();
    if (link_at == link_len && !closed_pending) lq_port_idle(next < now_us + 20000 ? next : now_us + 20000);
  }
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  size_t i = 0;
  uint16_t seq = 1;
  if (lq_flash_sim_open(NULL, 64u * 1024u, 256u, 4096u) != 0) abort();
  posix_sim_init();
  now_us = 0;
  link_len = link_at = 0;
  closed_pending = 0;
  if (lq_runtime_init() != 0) abort();
  while (i < size) {
    uint8_t op = data[i++];
    switch (op % 6) {
      case 0:
      case 2: {
        uint8_t cmd;
        uint16_t len;
        if (i + 3 > size) break;
        cmd = data[i];
        len = (uint16_t)(data[i + 1] | (data[i + 2] << 8)) % 4097u;
        i += 3;
        if (len > size - i) len = (uint16_t)(size - i);
        put_frame(cmd, seq++, data + i, len, op % 6 == 0 ? (size_t)-1 : (9 + len + 4) / 2);
        i += len;
        break;
      }
      case 1: {
        size_t n = i < size ? data[i++] : 0;
        if (n > size - i) n = size - i;
        if (link_len + n <= sizeof link) {
          memcpy(link + link_len, data + i, n);
          link_len += n;
        }
        i += n;
        break;
      }
      case 3:
        closed_pending = 1;
        break;
      case 4:
        if (i + 2 <= size) now_us += 1000u * (uint64_t)(data[i] | (data[i + 1] << 8));
        i += 2;
        break;
      default:
        run(i < size ? data[i++] % 32 : 1);
    }
    run(2);
    if (link_at == link_len) link_at = link_len = 0;
  }
  run(8);
  /* The store must have survived whatever the script did. */
  if (lq_store_mount() != 0) {
    fprintf(stderr, "store does not mount after the script: %s\n", lq_store_error());
    abort();
  }
  lq_flash_sim_close();
  return 0;
}
