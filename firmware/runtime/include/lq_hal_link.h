/*
 * lq_hal_link.h — linking app imports to the HAL: one engine host function per entry of the
 * generated dispatch table (firmware/hal/generated, from hal/hal.json), import checks at
 * install time. The generated wrappers bounds-check pointers and call the runtime's lq_hal_*
 * implementation (hal_impl.c).
 */
#ifndef LQ_HAL_LINK_H
#define LQ_HAL_LINK_H

#include <stddef.h>
#include <stdint.h>

#include "liquid_engine.h"
#include "lq_hal.h"

int lq_hal_link_init(lq_engine *engine);
void lq_hal_link_free(void);
/* Is this import a HAL function with the right type? Returns its capability bit (> 0), or 0
 * with a message. */
uint32_t lq_hal_link_check(const lq_import_info *im, char *msg, size_t cap);
lq_status lq_hal_link_resolve(const lq_import_info *im, lq_extern *out);

#endif
