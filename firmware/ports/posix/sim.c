/*
 * Simulated peripherals of the posix port.
 *
 * Pins: outputs keep the level the runtime drives; inputs read the level set from outside with
 * "set NAME 0|1", else their pull (pull-up reads 1, otherwise 0).
 * I2C: devices listed in the board descriptor ("devices":[{"addr":72,"model":"tmp105"}] in a
 * bus), or, when a bus lists none, a TMP105 at 0x48 on the first bus. The TMP105 model has the
 * pointer register, temperature (resolution from the configuration register's R1:R0 bits, 9
 * bits after reset, as the real part), configuration, T_LOW (0x4B00) and T_HIGH (0x5000).
 * Control commands on stdin, one per line:
 *   set NAME 0|1          drive an input pin from outside (a button)
 *   temp [ADDR] CELSIUS   set a TMP105's temperature (ADDR defaults to the first one)
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "liquid_port.h"
#include "lq_json.h"
#include "posix_sim.h"

#define MAX_PINS 64
#define MAX_BUSES 4
#define MAX_DEVS 8

typedef struct pin {
  char name[16];
  int used, mode, driven, external;
} pin;

typedef struct tmp105 {
  int used;
  uint32_t bus;
  uint8_t addr, pointer, config;
  uint16_t tlow, thigh;
  double celsius;
} tmp105;

static pin pins[MAX_PINS];
static tmp105 devs[MAX_DEVS];

static int json_u32(lq_json obj, const char *key, uint32_t *out) {
  lq_json v;
  long n;
  if (lq_json_kind(obj) != '{' || lq_json_get(obj, key, &v) != 0 || lq_json_int(v, &n) != 0 || n < 0)
    return -1;
  *out = (uint32_t)n;
  return 0;
}

static tmp105 *find_dev(uint32_t bus, uint8_t addr);

static void add_tmp105(uint32_t bus, uint8_t addr) {
  int i;
  for (i = 0; i < MAX_DEVS; i++)
    if (!devs[i].used) {
      devs[i].used = 1;
      devs[i].bus = bus;
      devs[i].addr = addr;
      devs[i].pointer = 0;
      devs[i].config = 0;
      devs[i].tlow = 0x4B00;
      devs[i].thigh = 0x5000;
      devs[i].celsius = 21.5;
      return;
    }
}

int posix_sim_init(void) {
  const char *text = lq_port_board_json();
  lq_json doc, list, key, item;
  size_t pos = 0;
  int index = 0, any_dev = 0;
  uint32_t first_bus = 0;
  memset(pins, 0, sizeof pins);
  memset(devs, 0, sizeof devs);
  if (lq_json_parse(text, strlen(text), &doc) != 0) return -1;
  if (lq_json_get(doc, "pins", &list) == 0) {
    while (lq_json_next(list, &pos, &key, &item) == 0) {
      lq_json n;
      uint32_t port;
      char name[16] = "";
      if (lq_json_kind(item) == '{' && lq_json_get(item, "name", &n) == 0) lq_json_string(n, name, sizeof name);
      else if (key.s) lq_json_string(key, name, sizeof name);
      if (json_u32(item, "port", &port) != 0 && json_u32(item, "pin", &port) != 0) port = (uint32_t)index;
      index++;
      if (port >= MAX_PINS || !name[0]) continue;
      pins[port].used = 1;
      snprintf(pins[port].name, sizeof pins[port].name, "%s", name);
      pins[port].mode = LQ_PORT_PIN_INPUT;
      pins[port].external = -1;
    }
  }
  pos = 0;
  index = 0;
  if (lq_json_get(doc, "buses", &list) == 0) {
    while (lq_json_next(list, &pos, &key, &item) == 0) {
      lq_json devices, d;
      uint32_t port;
      size_t dpos = 0;
      if (json_u32(item, "port", &port) != 0) port = (uint32_t)index;
      if (index == 0) first_bus = port;
      index++;
      if (lq_json_kind(item) != '{' || lq_json_get(item, "devices", &devices) != 0) continue;
      while (lq_json_next(devices, &dpos, NULL, &d) == 0) {
        uint32_t addr;
        lq_json model;
        if (json_u32(d, "addr", &addr) != 0 || addr > 0x7F) continue;
        if ((lq_json_get(d, "model", &model) == 0 || lq_json_get(d, "driver", &model) == 0 ||
             lq_json_get(d, "type", &model) == 0) && lq_json_eq(model, "tmp105")) {
          lq_json init, t;
          add_tmp105(port, (uint8_t)addr);
          any_dev = 1;
          if (lq_json_get(d, "initial", &init) == 0 && lq_json_get(init, "temperature", &t) == 0) {
            char num[32];
            if (t.n < sizeof num) {
              memcpy(num, t.s, t.n);
              num[t.n] = 0;
              find_dev(port, (uint8_t)addr)->celsius = atof(num);
            }
          }
        }
      }
    }
  }
  if (!any_dev && index > 0) add_tmp105(first_bus, 0x48);
  return 0;
}

static pin *pin_named(const char *name) {
  int i;
  for (i = 0; i < MAX_PINS; i++)
    if (pins[i].used && !strcmp(pins[i].name, name)) return &pins[i];
  return NULL;
}

void posix_sim_control(const char *line) {
  char cmd[16], a[32], b[32];
  int n = sscanf(line, "%15s %31s %31s", cmd, a, b);
  if (n <= 0) return;
  if (!strcmp(cmd, "set") && n == 3) {
    pin *p = pin_named(a);
    if (!p) {
      printf("control error: no pin named %s\n", a);
    } else {
      p->external = atoi(b) ? 1 : 0;
      lq_runtime_pin_changed((uint32_t)(p - pins));
      printf("control ok: %s %d\n", a, p->external);
    }
  } else if (!strcmp(cmd, "temp") && n >= 2) {
    int i, addr = -1;
    const char *value = n == 3 ? b : a;
    if (n == 3) addr = (int)strtol(a, NULL, 0);
    for (i = 0; i < MAX_DEVS; i++)
      if (devs[i].used && (addr < 0 || devs[i].addr == addr)) break;
    if (i == MAX_DEVS) {
      printf("control error: no TMP105 there\n");
    } else {
      devs[i].celsius = atof(value);
      printf("control ok: tmp105 0x%02x %.4f\n", devs[i].addr, devs[i].celsius);
    }
  } else {
    printf("control error: unknown command '%s' (set NAME 0|1, temp [ADDR] CELSIUS)\n", line);
  }
  fflush(stdout);
}

/* ---- GPIO ---------------------------------------------------------------------------- */

int lq_port_gpio_configure(uint32_t p, int mode) {
  if (p >= MAX_PINS || !pins[p].used || mode < 0 || mode > 3) return LQ_PORT_EINVAL;
  pins[p].mode = mode;
  return 0;
}

int lq_port_gpio_write(uint32_t p, int value) {
  if (p >= MAX_PINS || !pins[p].used) return LQ_PORT_EINVAL;
  pins[p].driven = value ? 1 : 0;
  return 0;
}

int lq_port_gpio_read(uint32_t p) {
  if (p >= MAX_PINS || !pins[p].used) return LQ_PORT_EINVAL;
  if (pins[p].mode == LQ_PORT_PIN_OUTPUT) return pins[p].driven;
  if (pins[p].external >= 0) return pins[p].external;
  return pins[p].mode == LQ_PORT_PIN_INPUT_PULLUP ? 1 : 0;
}

int lq_port_gpio_notify(uint32_t p, int enable) {
  (void)enable;
  return p < MAX_PINS && pins[p].used ? 0 : LQ_PORT_EINVAL;
}

/* ---- I2C ----------------------------------------------------------------------------- */

static uint16_t tmp105_temp_reg(const tmp105 *d) {
  int bits = 9 + ((d->config >> 5) & 3); /* R1:R0 select 9..12 bits */
  long counts = lround(d->celsius * 16.0); /* 12-bit counts of 1/16 C */
  uint16_t reg;
  if (counts > 2047) counts = 2047;
  if (counts < -2048) counts = -2048;
  reg = (uint16_t)((counts & 0xFFF) << 4);
  return (uint16_t)(reg & (0xFFFFu << (16 - bits)));
}

static tmp105 *find_dev(uint32_t bus, uint8_t addr) {
  int i;
  for (i = 0; i < MAX_DEVS; i++)
    if (devs[i].used && devs[i].bus == bus && devs[i].addr == addr) return &devs[i];
  return NULL;
}

int lq_port_i2c_transfer(uint32_t bus, uint8_t addr, const uint8_t *w, size_t wlen, uint8_t *r,
                         size_t rlen) {
  tmp105 *d = find_dev(bus, addr);
  size_t i;
  if (bus >= MAX_BUSES) return LQ_PORT_EINVAL;
  if (!d) return LQ_PORT_ENACK;
  if (wlen >= 1) {
    if (w[0] > 3) return LQ_PORT_ENACK; /* the TMP105 refuses an unknown pointer */
    d->pointer = w[0];
    if (wlen >= 2) {
      if (d->pointer == 1) d->config = w[1];
      else if (d->pointer >= 2 && wlen >= 3) {
        uint16_t v = (uint16_t)((w[1] << 8) | w[2]);
        if (d->pointer == 2) d->tlow = v;
        else d->thigh = v;
      }
    }
  }
  for (i = 0; i < rlen; i++) {
    uint16_t v;
    switch (d->pointer) {
      case 0: v = tmp105_temp_reg(d); break;
      case 1: v = (uint16_t)(d->config << 8 | d->config); break;
      case 2: v = d->tlow; break;
      default: v = d->thigh; break;
    }
    r[i] = (uint8_t)(i % 2 == 0 ? v >> 8 : v);
  }
  return 0;
}
