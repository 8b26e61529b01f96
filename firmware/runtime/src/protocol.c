/*
 * The device protocol (docs/protocol.md): framing, replay cache and the commands.
 * Everything is static: one receive buffer of one maximal frame, one transmit buffer, one
 * remembered response. A frame is only acted upon once its CRC checked out, so garbage costs
 * nothing but the bytes.
 */
#include <stdio.h>
#include <string.h>

#include "liquid_port.h"
#include "lq_crc32.h"
#include "lq_linker.h"
#include "lq_runtime.h"
#include "lq_sha256.h"
#include "lq_store.h"

#define HDR 9u
#define TRAILER 4u
#define FLAG_RESPONSE 1u
#define FLAG_EVENT 2u
#define PARTIAL_TIMEOUT_US 500000u
#ifndef LQ_TX_FRAMES
#define LQ_TX_FRAMES 4u /* outgoing frames buffered; 256 KiB MCU ports use fewer (-D) */
#endif
#define TX_SIZE (LQ_TX_FRAMES * (HDR + LQ_MAX_PAYLOAD + TRAILER))

enum {
  ST_OK = 0, EUNKNOWN = 1, EBADREQ = 2, ENOTFOUND = 3, EEXISTS = 4, ENOSPACE = 5, EHASH = 6,
  EINVALID = 7, ERANGE_ = 8, EVERSION = 9, EBUSY = 10, EINTERNAL = 11
};

enum {
  C_HELLO = 0x01, C_INFO = 0x02, C_RESET = 0x03, C_PUT_BEGIN = 0x10, C_PUT_CHUNK = 0x11,
  C_PUT_END = 0x12, C_LIST = 0x13, C_START = 0x14, C_STOP = 0x15, C_REMOVE = 0x16,
  C_AUTOSTART = 0x17, C_LOGS = 0x20, C_SNAPSHOT = 0x40, C_SNAPSHOT_READ = 0x41,
  C_RESTORE_BEGIN = 0x42, C_RESTORE_CHUNK = 0x43, C_RESTORE_END = 0x44
};

static uint8_t rx[HDR + LQ_MAX_PAYLOAD + TRAILER];
static size_t rx_len, rx_start;
static uint64_t rx_last_us;
static uint8_t tx[TX_SIZE];
static size_t tx_len;
static int peer; /* a host has talked to us since the last disconnect */
static int follow;

/* replay cache: the last request (command, seq, frame CRC) and its response; the response
 * is built in place, so the cache costs no second buffer */
static struct {
  int valid;
  uint8_t cmd;
  uint16_t seq;
  uint32_t crc;
  size_t len;
  uint8_t payload[LQ_MAX_PAYLOAD];
} last;
#define resp last.payload
static size_t resp_len;

/* the upload in progress (PUT_*) */
static struct {
  int active, already_installed;
  char name[LQ_STORE_NAME_MAX + 1];
  uint8_t sha[32];
  uint32_t size, received;
  uint32_t manifest_len;
  char manifest[LQ_MAX_PAYLOAD];
} up;

int lq_reset_requested;

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static uint32_t get32(const uint8_t *p) {
  return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}

static void flush(void) {
  while (tx_len) {
    int n = lq_port_transport_write(tx, tx_len);
    if (n == LQ_PORT_ECLOSED) {
      tx_len = 0; /* nobody to talk to: drop */
      return;
    }
    if (n <= 0) return;
    memmove(tx, tx + n, tx_len - (size_t)n);
    tx_len -= (size_t)n;
  }
}

static void send_frame(uint8_t cmd, uint8_t flags, uint16_t seq, const void *payload, size_t len) {
  uint8_t *f;
  uint32_t crc;
  if (len > LQ_MAX_PAYLOAD) return;
  if (tx_len + HDR + len + TRAILER > sizeof tx) flush();
  if (tx_len + HDR + len + TRAILER > sizeof tx) return; /* the host is not reading: drop */
  f = tx + tx_len;
  f[0] = 0x4C; f[1] = 0x51; f[2] = LQ_PROTOCOL_VERSION; f[3] = cmd; f[4] = flags;
  put16(f + 5, seq);
  put16(f + 7, (uint16_t)len);
  if (len) memcpy(f + HDR, payload, len);
  crc = lq_crc32(0, f + 2, HDR - 2 + len);
  put32(f + HDR + len, crc);
  tx_len += HDR + len + TRAILER;
}

void lq_protocol_event(uint8_t code, const char *json, size_t len) {
  if (!peer) return;
  send_frame(code, FLAG_EVENT, 0, json, len);
  flush();
}

int lq_protocol_follow_logs(void) { return peer && follow; }
int lq_protocol_connected(void) { return peer; }

void lq_protocol_init(void) {
  rx_len = rx_start = 0;
  tx_len = 0;
  peer = 0;
  follow = 0;
  last.valid = 0;
  memset(&up, 0, sizeof up);
  lq_reset_requested = 0;
}

/* ---- response builders --------------------------------------------------------------- */

static void ok(void) {
  resp[0] = ST_OK;
  resp_len = 1;
}
static void fail(uint8_t code, const char *fmt_text) {
  size_t n = strlen(fmt_text);
  if (n > sizeof resp - 1) n = sizeof resp - 1;
  resp[0] = code;
  memcpy(resp + 1, fmt_text, n);
  resp_len = 1 + n;
}
static void body(const void *p, size_t n) {
  if (resp_len + n > sizeof resp) n = sizeof resp - resp_len;
  memcpy(resp + resp_len, p, n);
  resp_len += n;
}
static void body_u32(uint32_t v) {
  uint8_t b[4];
  put32(b, v);
  body(b, 4);
}
static void body_str8(const char *s) {
  uint8_t n = (uint8_t)(strlen(s) > 255 ? 255 : strlen(s));
  body(&n, 1);
  body(s, n);
}

/* ---- request readers ------------------------------------------------------------------ */

typedef struct reader {
  const uint8_t *p;
  size_t n, at;
  int bad;
} reader;

static const uint8_t *take(reader *r, size_t n) {
  const uint8_t *p;
  if (r->bad || r->n - r->at < n) {
    r->bad = 1;
    return NULL;
  }
  p = r->p + r->at;
  r->at += n;
  return p;
}
static uint8_t rd_u8(reader *r) { const uint8_t *p = take(r, 1); return p ? p[0] : 0; }
static uint16_t rd_u16(reader *r) { const uint8_t *p = take(r, 2); return p ? get16(p) : 0; }
static uint32_t rd_u32(reader *r) { const uint8_t *p = take(r, 4); return p ? get32(p) : 0; }

/* An app name: 1..31 printable ASCII bytes, no quotes or slashes. */
static int rd_name(reader *r, char *out) {
  uint8_t n = rd_u8(r), i;
  const uint8_t *p = take(r, n);
  if (!p) return -1;
  if (n == 0 || n > LQ_STORE_NAME_MAX) { r->bad = 2; return -1; }
  for (i = 0; i < n; i++)
    if (p[i] <= 0x20 || p[i] >= 0x7F || p[i] == '"' || p[i] == '\\' || p[i] == '/') {
      r->bad = 2;
      return -1;
    }
  memcpy(out, p, n);
  out[n] = 0;
  return 0;
}

static int bad_request(reader *r, const char *what) {
  char msg[96];
  snprintf(msg, sizeof msg, r->bad == 2 ? "invalid app name in %s (1..31 printable bytes)"
                                        : "malformed %s request (truncated body)",
           what);
  fail(EBADREQ, msg);
  return -1;
}

static void store_failure(int r) {
  if (r == LQ_STORE_ENOSPACE) fail(ENOSPACE, lq_store_error());
  else if (r == LQ_STORE_ENOTFOUND) fail(ENOTFOUND, "no such app");
  else {
    char msg[160];
    snprintf(msg, sizeof msg, "store: %s", lq_store_error());
    fail(EINTERNAL, msg);
    /* a failed flash operation unmounts the store; mount again so that later requests work */
    lq_store_mount();
  }
}

/* ---- commands ---------------------------------------------------------------------------- */

static void cmd_hello(reader *r) {
  uint8_t b[3];
  rd_u8(r);
  if (r->bad) { bad_request(r, "HELLO"); return; }
  ok();
  b[0] = LQ_PROTOCOL_VERSION;
  put16(b + 1, LQ_MAX_PAYLOAD);
  body(b, 3);
  body_str8(LQ_FIRMWARE_NAME);
  body_str8(LQ_FIRMWARE_VERSION);
  body_str8(lq_port_device_id());
}

static void cmd_info(void) {
  size_t n;
  ok();
  n = lq_board_info_json((char *)resp + 1, sizeof resp - 1);
  if (n >= sizeof resp - 1) fail(EINTERNAL, "capability document larger than a frame");
  else resp_len = 1 + n;
}

/*
 * The store key of an upload (docs/linking.md, "One version per major"): a library (manifest
 * "kind": "library") is stored as NAME@MAJOR, so that versions of different majors live side
 * by side and a newer build of the same major replaces the older one; an app is stored under
 * its name, which must not contain '@'. The host may send NAME or the key itself. Rewrites
 * `name` in place; on refusal sets the answer and returns -1.
 */
static int store_key(char *name, lq_json doc) {
  lq_json v;
  char version[24], key[LQ_STORE_NAME_MAX + 1], msg[160];
  const char *at = strchr(name, '@');
  size_t n = at ? (size_t)(at - name) : strlen(name), digits = 0;
  if (lq_json_get(doc, "kind", &v) != 0 || !lq_json_eq(v, "library")) {
    if (!at) return 0;
    snprintf(msg, sizeof msg, "invalid app name '%s': '@' only appears in a library's store key NAME@MAJOR", name);
    fail(EBADREQ, msg);
    return -1;
  }
  if (lq_json_get(doc, "version", &v) != 0 || lq_json_string(v, version, sizeof version) < 0) version[0] = 0;
  while (version[digits] >= '0' && version[digits] <= '9') digits++;
  if (n == 0 || digits == 0 || digits > 6 || version[digits] != '.') {
    snprintf(msg, sizeof msg, "library '%.*s': its manifest has no version MAJOR.MINOR.PATCH", (int)n, name);
    fail(EINVALID, msg);
    return -1;
  }
  if (n + 1 + digits > LQ_STORE_NAME_MAX) {
    snprintf(msg, sizeof msg, "library name '%.*s' too long: its store key NAME@MAJOR must fit in %d bytes", (int)n, name,
             LQ_STORE_NAME_MAX);
    fail(EBADREQ, msg);
    return -1;
  }
  snprintf(key, sizeof key, "%.*s@%.*s", (int)n, name, (int)digits, version);
  if (at && strcmp(key, name) != 0) {
    snprintf(msg, sizeof msg, "PUT of '%s' but the library's manifest says version %s (store key %s)", name, version, key);
    fail(EBADREQ, msg);
    return -1;
  }
  memcpy(name, key, strlen(key) + 1);
  return 0;
}

static void cmd_put_begin(reader *r) {
  char name[LQ_STORE_NAME_MAX + 1];
  uint32_t size;
  const uint8_t *sha;
  uint16_t mlen;
  const uint8_t *man;
  const lq_store_entry *e;
  lq_json doc;
  int rc;
  if (rd_name(r, name) != 0) { bad_request(r, "PUT_BEGIN"); return; }
  size = rd_u32(r);
  sha = take(r, 32);
  mlen = rd_u16(r);
  man = take(r, mlen);
  if (r->bad) { bad_request(r, "PUT_BEGIN"); return; }
  if (size == 0 || size > LQ_MODULE_MAX) {
    char msg[96];
    snprintf(msg, sizeof msg, "module size %lu not accepted: this device takes 1..%lu bytes",
             (unsigned long)size, (unsigned long)LQ_MODULE_MAX);
    fail(ENOSPACE, msg);
    return;
  }
  if (lq_json_parse((const char *)man, mlen, &doc) != 0 || lq_json_kind(doc) != '{') {
    fail(EBADREQ, "the manifest is not a JSON object");
    return;
  }
  /* from here on (resume, store, answer) the upload goes by its store key */
  if (store_key(name, doc) != 0) return;
  /* Resume: the same module is being uploaded, or is already installed under this name. */
  if (up.active && !strcmp(up.name, name) && !memcmp(up.sha, sha, 32) && up.size == size) {
    ok();
    body_u32(up.received);
    return;
  }
  /* After a reboot: the store still records the upload and the bytes already on flash. */
  if (!up.active) {
    lq_store_entry pend;
    uint32_t held;
    if (lq_store_upload_pending(&pend, &held) && !strcmp(pend.name, name) &&
        !memcmp(pend.sha256, sha, 32) && pend.wasm_len == size &&
        pend.manifest_len < sizeof up.manifest &&
        lq_store_read_manifest(&pend, 0, up.manifest, pend.manifest_len) == 0) {
      up.active = 1;
      up.already_installed = 0;
      memcpy(up.name, name, sizeof name);
      memcpy(up.sha, sha, 32);
      up.size = size;
      up.received = held;
      up.manifest_len = pend.manifest_len; /* the manifest stored with the bytes counts */
      ok();
      body_u32(held);
      return;
    }
  }
  memset(&up, 0, sizeof up);
  e = lq_store_find(name);
  if (e && !memcmp(e->sha256, sha, 32) && e->wasm_len == size) {
    up.already_installed = 1;
    lq_store_upload_abort(); /* one upload at a time: an older interrupted one is dropped */
  } else {
    rc = lq_store_upload_begin(name, sha, size, (const char *)man, mlen);
    if (rc != 0) { store_failure(rc); return; }
  }
  up.active = 1;
  memcpy(up.name, name, sizeof name);
  memcpy(up.sha, sha, 32);
  up.size = size;
  up.received = up.already_installed ? size : 0;
  memcpy(up.manifest, man, mlen);
  up.manifest_len = mlen;
  ok();
  body_u32(up.received);
}

static int upload_matches(const uint8_t *sha) {
  if (!up.active || memcmp(up.sha, sha, 32) != 0) {
    fail(EBADREQ, "no upload of this module in progress (send PUT_BEGIN first)");
    return 0;
  }
  return 1;
}

static void cmd_put_chunk(reader *r) {
  const uint8_t *sha = take(r, 32), *data;
  uint32_t off = rd_u32(r), len, end;
  if (r->bad) { bad_request(r, "PUT_CHUNK"); return; }
  if (!upload_matches(sha)) return;
  len = (uint32_t)(r->n - r->at);
  data = r->p + r->at;
  if (off > up.received) {
    char msg[64];
    snprintf(msg, sizeof msg, "chunk out of order: expected offset %lu", (unsigned long)up.received);
    fail(ERANGE_, msg);
    return;
  }
  if (off > up.size || len > up.size - off) {
    fail(EBADREQ, "chunk beyond the announced module size");
    return;
  }
  end = off + len;
  if (end > up.received) { /* write only the bytes not yet held (duplicates are skipped) */
    int rc = lq_store_upload_write(up.received, data + (up.received - off), end - up.received);
    if (rc != 0) {
      up.active = 0;
      store_failure(rc);
      return;
    }
    up.received = end;
  }
  ok();
  body_u32(up.received);
}

static void cmd_put_end(reader *r) {
  const uint8_t *sha = take(r, 32);
  uint8_t flags = rd_u8(r);
  char msg[200];
  int rc;
  if (r->bad) { bad_request(r, "PUT_END"); return; }
  if (!upload_matches(sha)) return;
  if (up.received != up.size) {
    snprintf(msg, sizeof msg, "upload incomplete: %lu of %lu bytes received",
             (unsigned long)up.received, (unsigned long)up.size);
    fail(ERANGE_, msg);
    return;
  }
  if (!up.already_installed) {
    uint8_t digest[32];
    lq_sha256 h;
    if (lq_store_upload_read(0, lq_module_buf, up.size) != 0) {
      up.active = 0;
      store_failure(LQ_STORE_EIO);
      return;
    }
    lq_sha256_init(&h);
    lq_sha256_update(&h, lq_module_buf, up.size);
    lq_sha256_final(&h, digest);
    if (memcmp(digest, up.sha, 32) != 0) {
      char hex[65];
      lq_sha256_hex(digest, hex);
      snprintf(msg, sizeof msg, "sha256 mismatch: received bytes hash to %s", hex);
      up.active = 0;
      lq_store_upload_abort();
      fail(EHASH, msg);
      return;
    }
    if (lq_apps_validate(lq_module_buf, up.size, up.manifest, up.manifest_len, msg, sizeof msg)) {
      up.active = 0;
      lq_store_upload_abort();
      fail(EINVALID, msg);
      return;
    }
    lq_apps_unload(up.name);
    rc = lq_store_upload_commit((flags & 2) ? LQ_STORE_AUTOSTART : 0);
    if (rc != 0) {
      up.active = 0;
      store_failure(rc);
      return;
    }
    lq_log(LQ_LOG_INFO, NULL, "installed %s (%lu bytes)", up.name, (unsigned long)up.size);
    lq_linker_library_installed(up.name);
  } else {
    rc = lq_store_set_autostart(up.name, (flags & 2) != 0);
    if (rc != 0) { up.active = 0; store_failure(rc); return; }
  }
  up.active = 0;
  if (flags & 1) {
    const char *err;
    if (lq_apps_state(up.name, &err) == LQ_APP_RUNNING) lq_apps_unload(up.name);
    lq_apps_start(up.name, msg, sizeof msg); /* a failure is reported as APP_STATE trapped */
  }
  ok();
  body_str8(up.name);
}

static void cmd_list(void) {
  int i;
  char *out = (char *)resp + 1;
  size_t cap = sizeof resp - 1, o = 0;
  char *man = lq_scratch;
  ok();
  out[o++] = '[';
  for (i = 0; i < lq_store_count(); i++) {
    const lq_store_entry *e = lq_store_at(i);
    char hex[65], version[40] = "0.0.0", kind[16] = "", qname[80], qversion[96], qerr[200], item[512];
    const char *state_names[] = {"stopped", "running", "trapped"}, *err = NULL;
    int state = lq_apps_state(e->name, &err), n;
    lq_json doc, v;
    if (e->manifest_len < LQ_SCRATCH_SIZE && lq_store_read_manifest(e, 0, man, e->manifest_len) == 0 &&
        lq_json_parse(man, e->manifest_len, &doc) == 0) {
      if (lq_json_get(doc, "version", &v) == 0) lq_json_string(v, version, sizeof version);
      if (lq_json_get(doc, "kind", &v) == 0) lq_json_string(v, kind, sizeof kind);
    }
    lq_sha256_hex(e->sha256, hex);
    lq_json_quote(e->name, strlen(e->name), qname, sizeof qname);
    lq_json_quote(version, strlen(version), qversion, sizeof qversion);
    n = snprintf(item, sizeof item,
                 "%s{\"name\":%s,\"version\":%s,\"sha256\":\"%s\",\"size\":%lu,\"state\":\"%s\","
                 "\"autostart\":%s%s",
                 i ? "," : "", qname, qversion, hex, (unsigned long)e->wasm_len, state_names[state],
                 (e->flags & LQ_STORE_AUTOSTART) ? "true" : "false",
                 strcmp(kind, "library") == 0 ? ",\"kind\":\"library\"" : "");
    if (err && state == LQ_APP_TRAPPED) {
      int with;
      lq_json_quote(err, strlen(err), qerr, sizeof qerr);
      with = n + snprintf(item + n, sizeof item - (size_t)n, ",\"error\":%s}", qerr);
      /* every app must be listed: drop an error text that would not fit in the frame */
      if (o + (size_t)with + 1 + (size_t)(lq_store_count() - i - 1) * 240 < cap) n = with;
      else n += snprintf(item + n, sizeof item - (size_t)n, "}");
    } else {
      n += snprintf(item + n, sizeof item - (size_t)n, "}");
    }
    if (o + (size_t)n + 1 >= cap) break;
    memcpy(out + o, item, (size_t)n);
    o += (size_t)n;
  }
  out[o++] = ']';
  resp_len = 1 + o;
}

/* RM NAME where NAME is no store entry: every stored version (NAME@MAJOR) of library NAME.
 * Returns how many were removed (0: none), or -1 with the answer set. */
static int remove_library_versions(const char *name) {
  char keys[LQ_STORE_MAX_APPS][LQ_STORE_NAME_MAX + 1];
  size_t len = strlen(name);
  int i, n = 0, rc;
  if (strchr(name, '@')) return 0;
  for (i = 0; i < lq_store_count(); i++) {
    const lq_store_entry *e = lq_store_at(i);
    if (strncmp(e->name, name, len) == 0 && e->name[len] == '@') memcpy(keys[n++], e->name, sizeof keys[0]);
  }
  for (i = 0; i < n; i++) {
    rc = lq_store_remove(keys[i]);
    if (rc) { store_failure(rc); return -1; }
    lq_log(LQ_LOG_INFO, NULL, "removed %s", keys[i]);
  }
  if (n) lq_log(LQ_LOG_INFO, NULL, "removed every version of library %s (%d)", name, n);
  return n;
}

static void cmd_app(uint8_t cmd, reader *r) {
  char name[LQ_STORE_NAME_MAX + 1], msg[200];
  const char *err;
  uint8_t on = 0;
  int rc;
  static const char *names[] = {"START", "STOP", "REMOVE", "AUTOSTART"};
  if (rd_name(r, name) == 0 && cmd == C_AUTOSTART) on = rd_u8(r);
  if (r->bad) { bad_request(r, names[cmd - C_START]); return; }
  if (!lq_store_find(name)) {
    if (cmd == C_REMOVE && (rc = remove_library_versions(name)) != 0) {
      if (rc > 0) ok();
      return;
    }
    snprintf(msg, sizeof msg, "no app named '%s'", name);
    fail(ENOTFOUND, msg);
    return;
  }
  switch (cmd) {
    case C_START:
      if (lq_apps_state(name, &err) == LQ_APP_RUNNING) {
        snprintf(msg, sizeof msg, "app '%s' is already running", name);
        fail(EEXISTS, msg);
        return;
      }
      rc = lq_apps_start(name, msg, sizeof msg);
      if (rc) { fail((uint8_t)rc, msg); return; }
      break;
    case C_STOP:
      rc = lq_apps_stop(name, msg, sizeof msg);
      if (rc) { fail((uint8_t)rc, msg); return; }
      break;
    case C_REMOVE:
      lq_apps_unload(name);
      rc = lq_store_remove(name);
      if (rc) { store_failure(rc); return; }
      lq_log(LQ_LOG_INFO, NULL, "removed %s", name);
      break;
    default:
      rc = lq_store_set_autostart(name, on);
      if (rc) { store_failure(rc); return; }
  }
  ok();
}

/* FETCH sent by the host (not an event): the answer to a FETCH event it could not serve.
 * Body: str8 name, str8 range, str16 message (docs/protocol.md). */
static void cmd_fetch_fail(reader *r) {
  char name[LQ_STORE_NAME_MAX + 1], range[64], message[120];
  uint8_t n;
  uint16_t m;
  const uint8_t *p;
  if (rd_name(r, name) != 0) { bad_request(r, "FETCH"); return; }
  n = rd_u8(r);
  p = take(r, n);
  if (!p || n >= sizeof range) { bad_request(r, "FETCH"); return; }
  memcpy(range, p, n);
  range[n] = 0;
  m = rd_u16(r);
  p = take(r, m);
  if (!p || r->bad) { bad_request(r, "FETCH"); return; }
  if (m >= sizeof message) m = sizeof message - 1;
  memcpy(message, p, m);
  message[m] = 0;
  lq_linker_fetch_failed(name, range, message);
  ok();
}

static void cmd_logs(reader *r) {
  uint32_t first = rd_u32(r);
  uint8_t f = rd_u8(r);
  if (r->bad) { bad_request(r, "LOGS"); return; }
  ok();
  resp_len = 1 + lq_log_json(first, (char *)resp + 1, sizeof resp - 1);
  follow = f ? 1 : 0;
}

static void cmd_snapshot(uint8_t cmd, reader *r) {
  char name[LQ_STORE_NAME_MAX + 1], msg[200];
  int rc = 0;
  if (cmd == C_RESTORE_CHUNK) {
    uint32_t off = rd_u32(r), next;
    if (r->bad) { bad_request(r, "RESTORE_CHUNK"); return; }
    rc = lq_apps_restore_chunk(off, r->p + r->at, (uint32_t)(r->n - r->at), &next, msg, sizeof msg);
    if (rc) { fail((uint8_t)rc, msg); return; }
    ok();
    body_u32(next);
    return;
  }
  if (cmd == C_RESTORE_END) {
    uint8_t flags = rd_u8(r);
    if (r->bad) { bad_request(r, "RESTORE_END"); return; }
    rc = lq_apps_restore_end(flags & 3, msg, sizeof msg);
    if (rc) { fail((uint8_t)rc, msg); return; }
    ok();
    return;
  }
  if (rd_name(r, name) != 0) {
    bad_request(r, cmd == C_SNAPSHOT ? "SNAPSHOT" : cmd == C_SNAPSHOT_READ ? "SNAPSHOT_READ" : "RESTORE_BEGIN");
    return;
  }
  if (cmd == C_SNAPSHOT) {
    uint8_t flags = rd_u8(r), sha[32];
    uint32_t size;
    if (r->bad) { bad_request(r, "SNAPSHOT"); return; }
    rc = lq_apps_snapshot(name, flags & 3, &size, sha, msg, sizeof msg);
    if (rc) { fail((uint8_t)rc, msg); return; }
    ok();
    body_u32(size);
    body(sha, 32);
  } else if (cmd == C_SNAPSHOT_READ) {
    uint32_t off = rd_u32(r), n;
    uint16_t max = rd_u16(r);
    const uint8_t *data;
    if (r->bad) { bad_request(r, "SNAPSHOT_READ"); return; }
    if (max > LQ_MAX_PAYLOAD - 1) max = LQ_MAX_PAYLOAD - 1;
    rc = lq_apps_snapshot_read(name, off, max, &data, &n, msg, sizeof msg);
    if (rc) { fail((uint8_t)rc, msg); return; }
    ok();
    body(data, n);
  } else {
    uint32_t size = rd_u32(r), held;
    const uint8_t *sha = take(r, 32);
    if (r->bad) { bad_request(r, "RESTORE_BEGIN"); return; }
    rc = lq_apps_restore_begin(name, size, sha, &held, msg, sizeof msg);
    if (rc) { fail((uint8_t)rc, msg); return; }
    ok();
    body_u32(held);
  }
}

static void cmd_reset(reader *r) {
  uint8_t mode = rd_u8(r);
  if (r->bad) { bad_request(r, "RESET"); return; }
  if (mode > 1) { fail(EBADREQ, "RESET mode must be 0 (reboot) or 1 (factory reset)"); return; }
  ok();
  lq_reset_requested = mode ? 2 : 1;
}

static void handle(uint8_t cmd, uint16_t seq, const uint8_t *payload, size_t len, uint32_t crc) {
  reader r;
  int hello = 0;
  if (last.valid && last.cmd == cmd && last.seq == seq && last.crc == crc) {
    send_frame(cmd, FLAG_RESPONSE, seq, last.payload, last.len); /* a retry: answer again */
    return;
  }
  r.p = payload; r.n = len; r.at = 0; r.bad = 0;
  resp_len = 0;
  last.valid = 0;
  switch (cmd) {
    case C_HELLO: cmd_hello(&r); hello = 1; break;
    case C_INFO: cmd_info(); break;
    case C_RESET: cmd_reset(&r); break;
    case C_PUT_BEGIN: cmd_put_begin(&r); break;
    case C_PUT_CHUNK: cmd_put_chunk(&r); break;
    case C_PUT_END: cmd_put_end(&r); break;
    case C_LIST: cmd_list(); break;
    case C_START: case C_STOP: case C_REMOVE: case C_AUTOSTART: cmd_app(cmd, &r); break;
    case C_LOGS: cmd_logs(&r); break;
    case 0x30: cmd_fetch_fail(&r); break;
    case C_SNAPSHOT: case C_SNAPSHOT_READ: case C_RESTORE_BEGIN: case C_RESTORE_CHUNK:
    case C_RESTORE_END: cmd_snapshot(cmd, &r); break;
    default: {
      char msg[96];
      if (cmd >= 0x50 && cmd <= 0x52)
        snprintf(msg, sizeof msg, "command 0x%02x is not supported by this firmware yet", cmd);
      else
        snprintf(msg, sizeof msg, "unknown command 0x%02x", cmd);
      fail(EUNKNOWN, msg);
    }
  }
  last.valid = 1;
  last.cmd = cmd;
  last.seq = seq;
  last.crc = crc;
  last.len = resp_len;
  send_frame(cmd, FLAG_RESPONSE, seq, resp, resp_len);
  /* a host starts its session with HELLO (on a UART the only sign of a new one): after the
   * answer, the FETCHes nobody answered yet go to it */
  if (hello) lq_linker_host_connected();
}

/*
 * Consumes complete frames from rx[rx_start..rx_len); drops garbage one byte at a time. The
 * start offset moves instead of the bytes, so a buffer full of noise costs linear time; the
 * bytes are moved down once per read.
 */
static void parse(void) {
  for (;;) {
    const uint8_t *f = rx + rx_start;
    size_t avail = rx_len - rx_start, len, total;
    uint32_t crc;
    if (avail == 0) break;
    if (f[0] != 0x4C || (avail >= 2 && f[1] != 0x51)) {
      size_t i = 1;
      while (i < avail && f[i] != 0x4C) i++; /* skip to the next possible magic */
      rx_start += i;
      continue;
    }
    if (avail < HDR) break;
    len = get16(f + 7);
    if (len > LQ_MAX_PAYLOAD) { rx_start++; continue; }
    total = HDR + len + TRAILER;
    if (avail < total) break;
    crc = get32(f + HDR + len);
    if (lq_crc32(0, f + 2, HDR - 2 + len) != crc) { rx_start++; continue; }
    peer = 1;
    rx_start += total;
    if (!(f[4] & (FLAG_RESPONSE | FLAG_EVENT))) { /* the host sends requests only */
      if (f[2] != LQ_PROTOCOL_VERSION) {
        char msg[80];
        snprintf(msg, sizeof msg, "unsupported protocol version %u (this device speaks 1)", f[2]);
        last.valid = 0; /* the answer is built in the replay buffer */
        fail(EVERSION, msg);
        send_frame(f[3], FLAG_RESPONSE, get16(f + 5), resp, resp_len);
      } else {
        handle(f[3], get16(f + 5), f + HDR, len, crc);
      }
    }
    if (lq_reset_requested) break;
  }
  if (rx_start == rx_len) rx_start = rx_len = 0;
}

int lq_protocol_poll(uint64_t now_us) {
  int did = 0;
  for (;;) {
    int n;
    if (rx_start) { /* make room: move the unparsed tail down once */
      memmove(rx, rx + rx_start, rx_len - rx_start);
      rx_len -= rx_start;
      rx_start = 0;
    }
    n = lq_port_transport_read(rx + rx_len, sizeof rx - rx_len);
    if (n == LQ_PORT_ECLOSED) {
      lq_apps_snapshot_host_gone();
      rx_len = rx_start = 0;
      peer = 0;
      follow = 0;
      last.valid = 0;
      tx_len = 0;
      did = 1;
      continue;
    }
    if (n <= 0) break;
    rx_len += (size_t)n;
    rx_last_us = now_us;
    did = 1;
    parse();
    flush();
    if (lq_reset_requested) break; /* stop reading: the device reboots after this answer */
  }
  if (rx_len && now_us - rx_last_us > PARTIAL_TIMEOUT_US) rx_len = rx_start = 0; /* stale partial */
  flush();
  return did;
}

/* Pending output must leave before a reboot. */
int lq_protocol_tx_pending(void) { return tx_len != 0; }
