/*
 * lq_hal_link.h — linking app imports to the HAL: host functions for every entry of the HAL
 * dispatch table, import checks at install time, and the call context the HAL
 * implementation (hal_impl.c) receives.
 */
#ifndef LQ_HAL_LINK_H
#define LQ_HAL_LINK_H

#include <stddef.h>
#include <stdint.h>

#include "liquid_engine.h"

#ifdef LQ_HAVE_GENERATED_HAL
#include "lq_hal.h"
#else
/* The context of one HAL call: the calling instance, and a trap raised by the implementation. */
typedef struct lq_hal_call {
  lq_instance *instance;
  const char *trap;
  char trap_message[LQ_MESSAGE_MAX];
} lq_hal_call;
#endif

/* Makes the implementation's call trap with `message` once it returns; returns 0. */
int32_t lq_hal_trap(lq_hal_call *call, const char *message);

int lq_hal_link_init(lq_engine *engine);
void lq_hal_link_free(void);
/* Is this import a HAL function with the right type? 0, or -1 with a message. */
int lq_hal_link_check(const lq_import_info *im, char *msg, size_t cap);
lq_status lq_hal_link_resolve(const lq_import_info *im, lq_extern *out);

#endif
