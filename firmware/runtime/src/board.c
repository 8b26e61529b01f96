/* The board descriptor (from the port), the I2C scan at boot and the INFO capability document. */
#include <stdio.h>
#include <string.h>

#include "liquid_port.h"
#include "lq_hal.h"
#include "lq_runtime.h"
#include "lq_store.h"

lq_board lq_the_board;

static int json_uint(lq_json obj, const char *key, uint32_t *out) {
  lq_json v;
  long n;
  if (lq_json_get(obj, key, &v) != 0 || lq_json_int(v, &n) != 0 || n < 0) return -1;
  *out = (uint32_t)n;
  return 0;
}

/* Copies a JSON value's text (e.g. a caps array) if it fits. */
static void copy_raw(lq_json v, char *buf, size_t cap) {
  if (v.n < cap) {
    memcpy(buf, v.s, v.n);
    buf[v.n] = 0;
  } else {
    snprintf(buf, cap, "[]");
  }
}

/* Reads pins either as [{"name":"LED0",...}] or as {"LED0": {...}}; same for buses. */
static int item_name(lq_json key, lq_json value, char *buf, size_t cap) {
  lq_json n;
  if (lq_json_kind(value) == '{' && lq_json_get(value, "name", &n) == 0)
    return lq_json_string(n, buf, cap) > 0 ? 0 : -1;
  if (key.s) return lq_json_string(key, buf, cap) > 0 ? 0 : -1;
  return -1;
}

int lq_board_load(void) {
  const char *text = lq_port_board_json();
  lq_json doc, v, list, key, item;
  size_t pos = 0;
  lq_board *b = &lq_the_board;
  memset(b, 0, sizeof *b);
  if (!text || lq_json_parse(text, strlen(text), &doc) != 0 || lq_json_kind(doc) != '{') {
    lq_port_trace("boot: the board descriptor is not a JSON object");
    return -1;
  }
  if (lq_json_get(doc, "name", &v) != 0 || lq_json_string(v, b->name, sizeof b->name) <= 0)
    snprintf(b->name, sizeof b->name, "unnamed");
  if (lq_json_get(doc, "memory", &v) == 0) {
    json_uint(v, "ram", &b->ram);
    json_uint(v, "appMax", &b->app_max);
  }
  if (lq_json_get(doc, "pins", &list) == 0) {
    while (b->npins < LQ_BOARD_MAX_PINS && lq_json_next(list, &pos, &key, &item) == 0) {
      lq_board_pin *p = &b->pins[b->npins];
      uint32_t port;
      lq_json caps;
      if (item_name(key, item, p->name, sizeof p->name) != 0) continue;
      if (lq_json_kind(item) != '{' || (json_uint(item, "port", &port) != 0 &&
                                          json_uint(item, "pin", &port) != 0))
        port = (uint32_t)b->npins;
      p->port_pin = port;
      if (lq_json_kind(item) == '{' && lq_json_get(item, "caps", &caps) == 0 &&
          lq_json_kind(caps) == '[')
        copy_raw(caps, p->caps, sizeof p->caps);
      else
        snprintf(p->caps, sizeof p->caps, "[]");
      b->npins++;
    }
  }
  pos = 0;
  if (lq_json_get(doc, "buses", &list) == 0) {
    while (b->nbuses < LQ_BOARD_MAX_BUSES && lq_json_next(list, &pos, &key, &item) == 0) {
      lq_board_bus *bus = &b->buses[b->nbuses];
      lq_json kind;
      uint32_t port;
      if (item_name(key, item, bus->name, sizeof bus->name) != 0) continue;
      if (lq_json_kind(item) == '{' && lq_json_get(item, "kind", &kind) == 0 &&
          !lq_json_eq(kind, "i2c"))
        continue; /* only I2C buses are part of HAL v1 */
      if (lq_json_kind(item) != '{' || json_uint(item, "port", &port) != 0) port = (uint32_t)b->nbuses;
      bus->port_bus = port;
      b->nbuses++;
    }
  }
  return 0;
}

static int read_reg16(uint32_t bus, uint8_t addr, uint8_t reg, uint16_t *out) {
  uint8_t r[2];
  if (lq_port_i2c_transfer(bus, addr, &reg, 1, r, 2) != 0) return -1;
  *out = (uint16_t)((r[0] << 8) | r[1]);
  return 0;
}

/* TMP105: T_LOW (reg 2) resets to 0x4B00 (75 C) and T_HIGH (reg 3) to 0x5000 (80 C). */
static int is_tmp105(uint32_t bus, uint8_t addr) {
  uint16_t lo, hi;
  return read_reg16(bus, addr, 2, &lo) == 0 && read_reg16(bus, addr, 3, &hi) == 0 &&
         lo == 0x4B00 && hi == 0x5000;
}

/* BME280: chip id register 0xD0 reads 0x60. */
static int is_bme280(uint32_t bus, uint8_t addr) {
  uint8_t reg = 0xD0, id = 0;
  return lq_port_i2c_transfer(bus, addr, &reg, 1, &id, 1) == 0 && id == 0x60;
}

void lq_board_scan(void) {
  int i;
  for (i = 0; i < lq_the_board.nbuses; i++) {
    lq_board_bus *bus = &lq_the_board.buses[i];
    uint8_t addr;
    bus->ndevices = 0;
    for (addr = 0x08; addr <= 0x77; addr++) {
      const char *driver = NULL;
      if (lq_port_i2c_transfer(bus->port_bus, addr, NULL, 0, NULL, 0) != 0) continue;
      if (addr >= 0x48 && addr <= 0x4B && is_tmp105(bus->port_bus, addr)) driver = "tmp105";
      else if ((addr == 0x76 || addr == 0x77) && is_bme280(bus->port_bus, addr)) driver = "bme280";
      if (bus->ndevices < LQ_BOARD_MAX_DEVICES) {
        bus->devices[bus->ndevices].addr = addr;
        bus->devices[bus->ndevices].driver = driver;
        bus->ndevices++;
      }
      lq_log(LQ_LOG_INFO, NULL, "%s: device at 0x%02x%s%s", bus->name, addr,
             driver ? " is a " : " (unknown)", driver ? driver : "");
    }
  }
}

uint32_t lq_app_max_pages(void) {
  uint32_t pages = lq_the_board.app_max ? lq_the_board.app_max / 65536u : LQ_APP_MAX_PAGES;
  if (pages < 1) pages = 1;
  return pages < LQ_APP_MAX_PAGES ? pages : LQ_APP_MAX_PAGES;
}

int lq_board_pin_index(const char *name, size_t len) {
  int i;
  for (i = 0; i < lq_the_board.npins; i++)
    if (strlen(lq_the_board.pins[i].name) == len && !memcmp(lq_the_board.pins[i].name, name, len))
      return i;
  return -1;
}

int lq_board_bus_index(const char *name, size_t len) {
  int i;
  for (i = 0; i < lq_the_board.nbuses; i++)
    if (strlen(lq_the_board.buses[i].name) == len && !memcmp(lq_the_board.buses[i].name, name, len))
      return i;
  return -1;
}

int lq_board_has(const char *name, size_t len) {
  int i, j;
  if (lq_board_pin_index(name, len) >= 0 || lq_board_bus_index(name, len) >= 0) return 1;
  for (i = 0; i < lq_the_board.nbuses; i++)
    for (j = 0; j < lq_the_board.buses[i].ndevices; j++) {
      const char *d = lq_the_board.buses[i].devices[j].driver;
      if (d && strlen(d) == len && !memcmp(d, name, len)) return 1;
    }
  return 0;
}

size_t lq_board_info_json(char *buf, size_t cap) {
  size_t o = 0;
  int i, j;
  const lq_board *b = &lq_the_board;
  char q[80];
#define OUT(...)                                                            \
  do {                                                                      \
    int n_ = snprintf(o < cap ? buf + o : NULL, o < cap ? cap - o : 0, __VA_ARGS__); \
    if (n_ > 0) o += (size_t)n_;                                            \
  } while (0)
  lq_json_quote(lq_port_device_id(), strlen(lq_port_device_id()), q, sizeof q);
  OUT("{\"protocol\":%d,\"firmware\":\"%s\",\"version\":\"%s\",\"id\":%s,", LQ_PROTOCOL_VERSION,
      LQ_FIRMWARE_NAME, LQ_FIRMWARE_VERSION, q);
  lq_json_quote(b->name, strlen(b->name), q, sizeof q);
  OUT("\"board\":%s,\"arch\":\"%s\",\"engine\":\"liquid-engine %s\",", q, lq_port_arch(),
      LQ_ENGINE_VERSION);
  OUT("\"memory\":{\"ram\":%lu,\"appMax\":%lu,\"heapUsed\":%lu,\"heapSize\":%lu,\"snapshotMax\":%lu},",
      (unsigned long)(b->ram ? b->ram : LQ_RUNTIME_ARENA_SIZE), (unsigned long)lq_app_max_pages() * 65536ul,
      (unsigned long)lq_engine_heap_used(), (unsigned long)lq_engine_heap_size(),
      (unsigned long)lq_apps_snapshot_max());
  OUT("\"store\":{\"total\":%lu,\"free\":%lu},\"pins\":[", (unsigned long)lq_store_total(),
      (unsigned long)lq_store_free());
  for (i = 0; i < b->npins; i++) {
    lq_json_quote(b->pins[i].name, strlen(b->pins[i].name), q, sizeof q);
    OUT("%s{\"name\":%s,\"caps\":%s}", i ? "," : "", q, b->pins[i].caps);
  }
  OUT("],\"buses\":[");
  for (i = 0; i < b->nbuses; i++) {
    lq_json_quote(b->buses[i].name, strlen(b->buses[i].name), q, sizeof q);
    OUT("%s{\"name\":%s,\"kind\":\"i2c\",\"devices\":[", i ? "," : "", q);
    for (j = 0; j < b->buses[i].ndevices; j++) {
      const char *d = b->buses[i].devices[j].driver;
      OUT("%s{\"addr\":%u,\"driver\":", j ? "," : "", b->buses[i].devices[j].addr);
      if (d) OUT("\"%s\"}", d);
      else OUT("null}");
    }
    OUT("]}");
  }
  OUT("],\"capabilities\":[");
  for (i = 0; i < LQ_HAL_CAPABILITY_COUNT; i++) OUT("%s\"%s\"", i ? "," : "", lq_hal_capability_names[i]);
  OUT("],\"apps\":[");
  for (i = 0; i < lq_store_count(); i++) {
    const lq_store_entry *e = lq_store_at(i);
    lq_json_quote(e->name, strlen(e->name), q, sizeof q);
    OUT("%s%s", i ? "," : "", q);
  }
  OUT("]}");
#undef OUT
  return o;
}
