/*
 * Links app imports to the HAL: one engine host function per entry of the generated dispatch
 * table (lq_hal_functions), shared by every app; the calling app is found from the instance.
 */
#include <stdio.h>
#include <string.h>

#include "lq_hal_link.h"

static lq_func *funcs[LQ_HAL_FUNCTION_COUNT];

int lq_hal_link_init(lq_engine *engine) {
  int i;
  for (i = 0; i < LQ_HAL_FUNCTION_COUNT; i++) {
    const lq_hal_function *f = &lq_hal_functions[i];
    lq_error err;
    if (lq_func_new_host(engine, f->params, f->results, f->wrapper, NULL, &funcs[i], &err) != LQ_OK)
      return -1;
  }
  return 0;
}

void lq_hal_link_free(void) {
  int i;
  for (i = 0; i < LQ_HAL_FUNCTION_COUNT; i++) {
    if (funcs[i]) lq_func_free(funcs[i]);
    funcs[i] = NULL;
  }
}

uint32_t lq_hal_link_check(const lq_import_info *im, char *msg, size_t cap) {
  const lq_hal_function *f = lq_hal_find(im->module, im->module_len, im->name, im->name_len);
  if (!f) {
    snprintf(msg, cap, "unknown import %.*s.%.*s: not a function of the HAL", (int)im->module_len,
             im->module, (int)im->name_len, im->name);
    return 0;
  }
  if (im->type.kind != LQ_EXTERN_FUNC || strcmp(im->type.params, f->params) != 0 ||
      strcmp(im->type.results, f->results) != 0) {
    snprintf(msg, cap, "import %s.%s has the wrong type (the HAL has %s)", f->module, f->name,
             f->signature);
    return 0;
  }
  return f->capability;
}

lq_status lq_hal_link_resolve(const lq_import_info *im, lq_extern *out) {
  const lq_hal_function *f = lq_hal_find(im->module, im->module_len, im->name, im->name_len);
  if (!f) return LQ_ERROR;
  out->kind = LQ_EXTERN_FUNC;
  out->of.func = funcs[f - lq_hal_functions];
  return LQ_OK;
}
