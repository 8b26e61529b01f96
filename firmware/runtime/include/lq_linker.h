/*
 * lq_linker.h — libraries linked into apps at run time (docs/linking.md).
 *
 * An app import whose module is "NAME@RANGE" (e.g. "tmp105@^1") is a function of a library:
 * a module in the store whose manifest says "kind": "library" and whose "version" satisfies
 * the semver RANGE. The runtime links an app's libraries when the app starts, before start()
 * runs: each library gets its own instance (isolated: own memory) that calls the HAL with the
 * app's grants and handles, and runs on the app's fuel. Internal to the runtime.
 */
#ifndef LQ_LINKER_H
#define LQ_LINKER_H

#include <stddef.h>
#include <stdint.h>

#include "liquid_engine.h"
#include "lq_app.h"

#ifndef LQ_LINKER_MAX
#define LQ_LINKER_MAX 8 /* library instances alive at once, over all apps */
#endif
#ifndef LQ_LINKER_LAZY_MAX
#define LQ_LINKER_LAZY_MAX 16 /* library imports waiting for their first call, over all apps */
#endif
#ifndef LQ_LINKER_FETCH_MAX
#define LQ_LINKER_FETCH_MAX 8 /* FETCH requests remembered */
#endif
#ifndef LQ_LINKER_CALL_FUEL
#define LQ_LINKER_CALL_FUEL 1000000u /* fuel of one call into a library linked after its app started */
#endif
#ifndef LQ_LINKER_DEPTH_MAX
#define LQ_LINKER_DEPTH_MAX 4 /* trampoline calls nested in one another (a library calling a library ...) */
#endif
#ifndef LQ_LINKER_FETCH_WAIT_MS
#define LQ_LINKER_FETCH_WAIT_MS 3000u /* how long start() waits for the host to answer FETCHes */
#endif
/* Engine stacks of a library instance. A library runs one nested call from a trampoline
 * (bounded by LQ_LINKER_CALL_FUEL) or a call from its app's table, not a whole app, so it gets
 * much less than an app's LQ_VALUE_STACK_SLOTS / LQ_CALL_DEPTH: these are most of what a
 * loaded library costs (docs/linking.md, "Figures"). App code a shared library calls back
 * runs on these stacks too. MCU ports lower them further (cortex_m_build.cmake). */
#ifndef LQ_LIBRARY_STACK_SLOTS
#define LQ_LIBRARY_STACK_SLOTS 1024u /* 8-byte slots: 8 KiB */
#endif
#ifndef LQ_LIBRARY_CALL_DEPTH
#define LQ_LIBRARY_CALL_DEPTH 128u
#endif
#define LQ_EVENT_FETCH 0x30

/* True when the import names a library ("NAME@RANGE") rather than the HAL. */
int lq_linker_is_library_import(const lq_import_info *im);

/* True for what a shared-everything library imports from its app rather than the HAL
 * (docs/linking.md, ABI v2): env.memory, env.__memory_base, env.table, env.__table_base,
 * env.__lq_alloc, env.__lq_realloc, env.__lq_free. */
int lq_linker_is_app_memory_import(const lq_import_info *im);

/* Resolves one library import of `app` (called from the app's import resolver): loads and
 * instantiates the library on first use by this app, then hands out its export. On failure
 * returns LQ_ERROR and leaves a message naming the library in lq_linker_error(). */
lq_status lq_linker_resolve(lq_app *app, const lq_import_info *im, lq_extern *out);
const char *lq_linker_error(void);
void lq_linker_clear_error(void);

/* The runtime's engine (apps.c), and the one library modules are loaded with (same arena,
 * library-sized stacks). */
lq_engine *lq_app_engine(void);
lq_engine *lq_library_engine(void);

/* The host's answer that it could not fetch NAME@RANGE (FETCH request from the host): calls
 * into it then trap with `message`. */
void lq_linker_fetch_failed(const char *name, const char *range, const char *message);

/* A host connected (HELLO, or the first frame after a disconnect): FETCHes no host has
 * answered yet are sent to it. */
void lq_linker_host_connected(void);

/* A library was just installed under store key NAME@MAJOR: apps linked to that key switch to
 * it at the first call of their next event (hot swap), if it fits their range; apps on another
 * major of the library are not touched. FETCHes of NAME count as answered. */
void lq_linker_library_installed(const char *key);

/* True while `app` should not run start() yet: a library it imports was asked for (FETCH)
 * less than LQ_LINKER_FETCH_WAIT_MS ago and the host has not answered. */
int lq_linker_waiting(const lq_app *app, uint64_t now_ms);

/* Frees every library instance linked into `app` (its instance must be freed first). */
void lq_linker_release(lq_app *app);

/* Nonzero (with the reason in msg) when `app` cannot be snapshotted because its function
 * table holds entries of a shared library linked into it: those are functions of another
 * instance, which a snapshot cannot carry (docs/linking.md, docs/migration.md). */
int lq_linker_snapshot_refused(const lq_app *app, char *msg, size_t cap);

/* How many library instances `app` holds now. */
int lq_linker_count(const lq_app *app);

/* Semver: does VERSION ("1.4.2") satisfy RANGE ("^1", "~1.4", "1.4.2", "1.x", "*", ">=1.2.0")? */
int lq_semver_satisfies(const char *version, const char *range, size_t range_len);

#endif
