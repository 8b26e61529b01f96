#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "liquid_port.h"
#include "lq_runtime.h"

/* The last LOG_KEEP records stay in RAM for LOGS; older ones are gone (seq tells the gap). */
#ifndef LOG_KEEP
#ifndef LQ_LOG_KEEP
#define LQ_LOG_KEEP 64
#endif
#define LOG_KEEP LQ_LOG_KEEP /* 256 KiB MCU ports keep fewer (-DLOG_KEEP=...) */
#endif
#define LOG_MSG_MAX 160

typedef struct record {
  uint32_t seq;
  uint64_t t_ms;
  uint8_t level;
  char app[32];
  char msg[LOG_MSG_MAX];
} record;

static record ring[LOG_KEEP];
static uint32_t next_seq = 1;

static const char *level_name(int level) {
  static const char *names[] = {"debug", "info", "warn", "error"};
  return level >= 0 && level <= 3 ? names[level] : "info";
}

void lq_log_reset(void) {
  memset(ring, 0, sizeof ring);
  next_seq = 1;
}

uint32_t lq_log_next_seq(void) { return next_seq; }

size_t lq_log_record_json(uint32_t seq, char *buf, size_t cap) {
  const record *r = &ring[seq % LOG_KEEP];
  char app[48], msg[LOG_MSG_MAX * 2];
  int n;
  if (r->seq != seq || seq == 0) return 0;
  if (r->app[0]) lq_json_quote(r->app, strlen(r->app), app, sizeof app);
  else strcpy(app, "null");
  lq_json_quote(r->msg, strlen(r->msg), msg, sizeof msg);
  n = snprintf(buf, cap, "{\"seq\":%lu,\"t\":%llu,\"level\":\"%s\",\"app\":%s,\"msg\":%s}",
               (unsigned long)r->seq, (unsigned long long)r->t_ms, level_name(r->level), app, msg);
  return n < 0 ? 0 : (size_t)n;
}

void lq_log_text(int level, const char *app, const char *text, size_t len) {
  record *r = &ring[next_seq % LOG_KEEP];
  char json[LOG_MSG_MAX * 2 + 128], trace[LOG_MSG_MAX + 64];
  size_t n;
  memset(r, 0, sizeof *r);
  r->seq = next_seq++;
  r->t_ms = lq_now_ms();
  r->level = (uint8_t)(level < 0 || level > 3 ? 1 : level);
  if (app) snprintf(r->app, sizeof r->app, "%s", app);
  if (len >= LOG_MSG_MAX) len = LOG_MSG_MAX - 1;
  memcpy(r->msg, text, len);
  r->msg[len] = 0;
  snprintf(trace, sizeof trace, "log %llu %s %s: %s", (unsigned long long)r->t_ms,
           level_name(r->level), app ? app : "-", r->msg);
  for (n = 0; trace[n]; n++) /* one record, one line: control bytes become '?' */
    if ((unsigned char)trace[n] < 0x20 || trace[n] == 0x7F) trace[n] = '?';
  lq_port_trace(trace);
  if (lq_protocol_follow_logs()) {
    n = lq_log_record_json(r->seq, json, sizeof json);
    if (n && n < sizeof json) lq_protocol_event(0x80, json, n);
  }
}

void lq_log(int level, const char *app, const char *fmt, ...) {
  char text[LOG_MSG_MAX];
  va_list ap;
  int n;
  va_start(ap, fmt);
  n = vsnprintf(text, sizeof text, fmt, ap);
  va_end(ap);
  if (n < 0) n = 0;
  if ((size_t)n >= sizeof text) n = (int)sizeof text - 1;
  lq_log_text(level, app, text, (size_t)n);
}

size_t lq_log_json(uint32_t first, char *buf, size_t cap) {
  uint32_t seq = next_seq > LOG_KEEP ? next_seq - LOG_KEEP : 1;
  size_t o = 1;
  char rec[LOG_MSG_MAX * 2 + 128];
  if (cap < 3) return 0;
  buf[0] = '[';
  if (first > seq) seq = first;
  for (; seq < next_seq; seq++) {
    size_t n = lq_log_record_json(seq, rec, sizeof rec);
    if (!n || n >= sizeof rec) continue;
    if (o + n + 2 > cap) break; /* as many as fit */
    if (o > 1) buf[o++] = ',';
    memcpy(buf + o, rec, n);
    o += n;
  }
  buf[o++] = ']';
  return o;
}
