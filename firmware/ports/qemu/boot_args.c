/*
 * boot_args.c — see boot_args.h. QEMU hands semihosting the kernel path followed by the
 * -append text; we look for key=value words and ignore the rest.
 */
#include "boot_args.h"

#include <string.h>

#include "semihosting.h"

static void copy_value(char *dst, size_t cap, const char *src, size_t len) {
  if (len >= cap) len = cap - 1;
  memcpy(dst, src, len);
  dst[len] = '\0';
}

void lq_boot_args_read(lq_boot_args *args) {
  static char line[256];
  memset(args, 0, sizeof *args);
  strcpy(args->id, "qemu-an386");
  if (lq_semihosting_cmdline(line, sizeof line) != 0) return;
  const char *p = line;
  while (*p) {
    while (*p == ' ') p++;
    const char *word = p;
    while (*p && *p != ' ') p++;
    size_t len = (size_t)(p - word);
    if (len > 6 && strncmp(word, "store=", 6) == 0) copy_value(args->store, sizeof args->store, word + 6, len - 6);
    else if (len > 3 && strncmp(word, "id=", 3) == 0) copy_value(args->id, sizeof args->id, word + 3, len - 3);
  }
}
