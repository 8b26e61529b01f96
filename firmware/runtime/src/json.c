#include "lq_json.h"

#include <string.h>

#define MAX_DEPTH 32

static const char *ws(const char *p, const char *e) {
  while (p < e && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
  return p;
}

static const char *skip_string(const char *p, const char *e) {
  p++; /* opening quote */
  while (p < e) {
    unsigned char c = (unsigned char)*p;
    if (c == '"') return p + 1;
    if (c < 0x20) return NULL;
    if (c == '\\') {
      p++;
      if (p >= e) return NULL;
      if (*p == 'u') {
        int i;
        for (i = 1; i <= 4; i++) {
          char h = p + i < e ? p[i] : 0;
          if (!((h >= '0' && h <= '9') || (h >= 'a' && h <= 'f') || (h >= 'A' && h <= 'F')))
            return NULL;
        }
        p += 4;
      } else if (!strchr("\"\\/bfnrt", *p)) {
        return NULL;
      }
    }
    p++;
  }
  return NULL;
}

static const char *skip_number(const char *p, const char *e) {
  const char *start;
  if (p < e && *p == '-') p++;
  start = p;
  while (p < e && *p >= '0' && *p <= '9') p++;
  if (p == start) return NULL;
  if (p < e && *p == '.') {
    start = ++p;
    while (p < e && *p >= '0' && *p <= '9') p++;
    if (p == start) return NULL;
  }
  if (p < e && (*p == 'e' || *p == 'E')) {
    p++;
    if (p < e && (*p == '+' || *p == '-')) p++;
    start = p;
    while (p < e && *p >= '0' && *p <= '9') p++;
    if (p == start) return NULL;
  }
  return p;
}

static const char *skip_value(const char *p, const char *e, int depth) {
  p = ws(p, e);
  if (p >= e || depth > MAX_DEPTH) return NULL;
  switch (*p) {
    case '"':
      return skip_string(p, e);
    case '{':
    case '[': {
      char close = *p == '{' ? '}' : ']';
      int first = 1;
      p = ws(p + 1, e);
      if (p < e && *p == close) return p + 1;
      for (;;) {
        if (!first) {
          p = ws(p, e);
          if (p < e && *p == close) return p + 1;
          if (p >= e || *p != ',') return NULL;
          p++;
        }
        first = 0;
        if (close == '}') {
          p = ws(p, e);
          if (p >= e || *p != '"') return NULL;
          p = skip_string(p, e);
          if (!p) return NULL;
          p = ws(p, e);
          if (p >= e || *p != ':') return NULL;
          p++;
        }
        p = skip_value(p, e, depth + 1);
        if (!p) return NULL;
      }
    }
    case 't':
      return e - p >= 4 && !memcmp(p, "true", 4) ? p + 4 : NULL;
    case 'f':
      return e - p >= 5 && !memcmp(p, "false", 5) ? p + 5 : NULL;
    case 'n':
      return e - p >= 4 && !memcmp(p, "null", 4) ? p + 4 : NULL;
    default:
      return skip_number(p, e);
  }
}

int lq_json_parse(const char *text, size_t len, lq_json *out) {
  const char *e = text + len, *p = ws(text, e), *end;
  end = skip_value(p, e, 0);
  if (!end || ws(end, e) != e) return -1;
  out->s = p;
  out->n = (size_t)(end - p);
  return 0;
}

char lq_json_kind(lq_json v) {
  if (!v.s || !v.n) return 0;
  switch (v.s[0]) {
    case '{': case '[': case '"': case 'n': case 't': case 'f': return v.s[0];
    default: return '0';
  }
}

int lq_json_next(lq_json c, size_t *pos, lq_json *key, lq_json *value) {
  const char *e = c.s + c.n, *p;
  char close;
  if (lq_json_kind(c) != '{' && lq_json_kind(c) != '[') return -1;
  close = c.s[0] == '{' ? '}' : ']';
  p = ws(c.s + (*pos ? *pos : 1), e);
  if (p >= e || *p == close) return -1;
  if (*p == ',') p = ws(p + 1, e);
  if (close == '}') {
    const char *k = p;
    p = skip_string(p, e);
    if (!p) return -1;
    if (key) { key->s = k; key->n = (size_t)(p - k); }
    p = ws(p, e) + 1; /* ':' (validated by lq_json_parse) */
  } else if (key) {
    key->s = NULL;
    key->n = 0;
  }
  p = ws(p, e);
  value->s = p;
  p = skip_value(p, e, 0);
  if (!p) return -1;
  value->n = (size_t)(p - value->s);
  *pos = (size_t)(p - c.s);
  return 0;
}

int lq_json_get(lq_json obj, const char *key, lq_json *out) {
  size_t pos = 0;
  lq_json k, v;
  if (lq_json_kind(obj) != '{') return -1;
  while (lq_json_next(obj, &pos, &k, &v) == 0)
    if (lq_json_eq(k, key)) {
      *out = v;
      return 0;
    }
  return -1;
}

static int hexval(char c) {
  return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}

int lq_json_string(lq_json v, char *buf, size_t cap) {
  const char *p, *e;
  size_t n = 0;
  if (lq_json_kind(v) != '"' || cap == 0) return -1;
  p = v.s + 1;
  e = v.s + v.n - 1;
  while (p < e) {
    unsigned long cp = (unsigned char)*p++;
    if (cp == '\\') {
      char c = *p++;
      switch (c) {
        case 'b': cp = 8; break;
        case 'f': cp = 12; break;
        case 'n': cp = 10; break;
        case 'r': cp = 13; break;
        case 't': cp = 9; break;
        case 'u':
          cp = (unsigned long)((hexval(p[0]) << 12) | (hexval(p[1]) << 8) | (hexval(p[2]) << 4) |
                               hexval(p[3]));
          p += 4;
          break;
        default: cp = (unsigned char)c;
      }
      if (cp >= 0x80) { /* encode as UTF-8 (surrogates kept as is: names are ASCII anyway) */
        char tmp[3];
        size_t k = 0, i;
        if (cp < 0x800) {
          tmp[k++] = (char)(0xC0 | (cp >> 6));
        } else {
          tmp[k++] = (char)(0xE0 | (cp >> 12));
          tmp[k++] = (char)(0x80 | ((cp >> 6) & 0x3F));
        }
        tmp[k++] = (char)(0x80 | (cp & 0x3F));
        for (i = 0; i < k; i++) {
          if (n + 1 >= cap) return -1;
          buf[n++] = tmp[i];
        }
        continue;
      }
    }
    if (n + 1 >= cap) return -1;
    buf[n++] = (char)cp;
  }
  buf[n] = 0;
  return (int)n;
}

int lq_json_eq(lq_json v, const char *s) {
  char buf[128];
  int n = lq_json_string(v, buf, sizeof buf);
  return n >= 0 && strcmp(buf, s) == 0;
}

int lq_json_int(lq_json v, long *out) {
  const char *p = v.s, *e = v.s + v.n;
  long r = 0;
  int neg = 0;
  if (lq_json_kind(v) != '0') return -1;
  if (*p == '-') { neg = 1; p++; }
  for (; p < e; p++) {
    if (*p < '0' || *p > '9') return -1;
    if (r > 100000000000L) return -1;
    r = r * 10 + (*p - '0');
  }
  *out = neg ? -r : r;
  return 0;
}

size_t lq_json_quote(const char *s, size_t n, char *buf, size_t cap) {
  static const char hex[] = "0123456789abcdef";
  size_t o = 0, i;
  if (cap < 3) {
    if (cap) buf[0] = 0;
    return 0;
  }
  buf[o++] = '"';
  for (i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    char esc[7];
    size_t k = 0;
    if (c == '"' || c == '\\') { esc[k++] = '\\'; esc[k++] = (char)c; }
    else if (c == '\n') { esc[k++] = '\\'; esc[k++] = 'n'; }
    else if (c < 0x20 || c == 0x7F) {
      esc[k++] = '\\'; esc[k++] = 'u'; esc[k++] = '0'; esc[k++] = '0';
      esc[k++] = hex[c >> 4]; esc[k++] = hex[c & 15];
    } else esc[k++] = (char)c;
    if (o + k + 2 > cap) break; /* keep room for the closing quote and the NUL */
    memcpy(buf + o, esc, k);
    o += k;
  }
  buf[o++] = '"';
  buf[o] = 0;
  return o;
}
