#include "spec_runner.h"
#include "vm_file.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "json_reader.h"
#include "spectest_host.h"
#include "vm_exports.h"
#include "vm_values.h"

/* A module a script defined, kept while a later command can reach it (see
 * release_unreachable): later modules may import from it, and functions of a module whose
 * instantiation failed may already sit in a shared table (WebAssembly 2.0 keeps segment writes
 * made before the failure). */
typedef struct loaded_module {
    struct loaded_module *next;
    lq_module *module;
    lq_instance *instance;        /* NULL when instantiation failed */
    lq_instance *failed_instance; /* what a trapping instantiation left behind, or NULL */
    char *name;                   /* "$name" from the script, or NULL */
} loaded_module;

typedef struct registration {
    struct registration *next;
    char *as;
    size_t as_len;
    lq_instance *instance;
} registration;

typedef struct script_run {
    lq_engine *engine;
    const spec_options *options;
    spec_totals *totals;
    spectest_host spectest;
    const char *dir;      /* folder of the script, "" or ending in '/' */
    const char *script;   /* base name for messages */
    loaded_module *modules;
    registration *registrations;
    lq_instance *current;
    long line;
    const char *command;
} script_run;

/* ---------------------------------------------------------------- reporting */

static void pass(script_run *run) {
    run->totals->passed++;
}

static void skip(script_run *run) {
    run->totals->skipped++;
}

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void fail(script_run *run, const char *fmt, ...) {
    run->totals->failed++;
    FILE *out = run->options->out;
    fprintf(out, "%s:%ld: %s: ", run->script, run->line, run->command);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(out, fmt, ap);
    va_end(ap);
    fputc('\n', out);
}

/* ---------------------------------------------------------------- files and modules */

static char *dup_bytes(const char *s, size_t len) {
    char *p = malloc(len + 1);
    if (p == NULL) return NULL;
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

static lq_status resolve_import(void *user, const lq_import_info *import, lq_extern *out) {
    script_run *run = user;
    if (import->module_len == 8 && memcmp(import->module, "spectest", 8) == 0) {
        return spectest_host_lookup(&run->spectest, import->name, import->name_len, out);
    }
    for (registration *r = run->registrations; r != NULL; r = r->next) {
        if (r->as_len == import->module_len && memcmp(r->as, import->module, r->as_len) == 0) {
            return vm_find_export(r->instance, import->name, import->name_len, out, NULL);
        }
    }
    return LQ_ERROR;
}

typedef enum { STAGE_READ, STAGE_LOAD, STAGE_INSTANTIATE, STAGE_DONE } module_stage;

/*
 * Reads, loads and instantiates the module file named by `command`. Returns the stage that
 * failed (STAGE_DONE on success) with the status and message in *err. The module is kept in
 * run->modules whenever it loaded.
 */
static module_stage load_module(script_run *run, const json_node *command, loaded_module **out,
                                lq_error *err) {
    memset(err, 0, sizeof *err);
    const char *filename = json_get_string(command, "filename", NULL);
    if (filename == NULL) {
        snprintf(err->message, sizeof err->message, "command has no filename");
        return STAGE_READ;
    }
    size_t path_len = strlen(run->dir) + strlen(filename) + 1;
    char *path = malloc(path_len);
    if (path == NULL) return STAGE_READ;
    snprintf(path, path_len, "%s%s", run->dir, filename);
    size_t size = 0;
    unsigned char *bytes = vm_read_file(path, &size);
    if (bytes == NULL) {
        snprintf(err->message, sizeof err->message, "cannot read %s: %s", path, strerror(errno));
        free(path);
        return STAGE_READ;
    }
    free(path);
    lq_module *module = NULL;
    lq_status status = lq_module_load(run->engine, bytes, size, &module, err);
    free(bytes);
    if (status != LQ_OK) return STAGE_LOAD;
    loaded_module *entry = calloc(1, sizeof *entry);
    if (entry == NULL) {
        lq_module_free(module);
        snprintf(err->message, sizeof err->message, "out of memory");
        return STAGE_LOAD;
    }
    entry->module = module;
    entry->next = run->modules;
    run->modules = entry;
    *out = entry;
    lq_instance *instance = NULL;
    status = lq_instantiate(module, resolve_import, run, &instance, err);
    if (status != LQ_OK) {
        /* After a trap the engine still hands out the instance: its functions may sit in
         * an imported table. It is kept (unusable otherwise) until the script ends. */
        entry->failed_instance = instance;
        return STAGE_INSTANTIATE;
    }
    entry->instance = instance;
    return STAGE_DONE;
}

static lq_instance *find_named(script_run *run, const char *name) {
    for (loaded_module *m = run->modules; m != NULL; m = m->next) {
        if (m->name != NULL && strcmp(m->name, name) == 0) return m->instance;
    }
    return NULL;
}

static int is_registered(const script_run *run, const lq_instance *instance) {
    for (const registration *r = run->registrations; r != NULL; r = r->next) {
        if (r->instance == instance) return 1;
    }
    return 0;
}

/* Could this module have handed references to its own functions to another instance? Only
 * through an imported table, an imported mutable global or an imported function that takes a
 * funcref; other imports (functions of numbers, memories, immutable globals) cannot. */
static int may_leak_functions(const lq_module *module) {
    uint32_t n = lq_module_import_count(module);
    for (uint32_t i = 0; i < n; i++) {
        lq_import_info info;
        if (lq_module_import(module, i, &info) != LQ_OK) return 1;
        switch (info.type.kind) {
        case LQ_EXTERN_TABLE: return 1;
        case LQ_EXTERN_GLOBAL:
            if (info.type.mutable_) return 1;
            break;
        case LQ_EXTERN_FUNC:
            if (strchr(info.type.params, 'r') != NULL) return 1;
            break;
        default: break;
        }
    }
    return 0;
}

/*
 * Frees the modules no later command can reach: not the current one, not named, not
 * registered, and unable to have put its functions anywhere else (see above). Scripts such
 * as memory_copy or imports define dozens of modules in turn; keeping only what is reachable
 * bounds the runner's memory, which matters on a microcontroller.
 */
static void release_unreachable(script_run *run) {
    loaded_module **link = &run->modules;
    while (*link != NULL) {
        loaded_module *m = *link;
        int reachable = m->name != NULL || may_leak_functions(m->module) ||
                        (m->instance != NULL &&
                         (m->instance == run->current || is_registered(run, m->instance)));
        if (reachable) {
            link = &m->next;
            continue;
        }
        *link = m->next;
        if (m->instance) lq_instance_free(m->instance);
        if (m->failed_instance) lq_instance_free(m->failed_instance);
        lq_module_free(m->module);
        free(m);
    }
}

/* ---------------------------------------------------------------- values */

static void format_list(const lq_value *values, size_t count, char *out, size_t out_size) {
    size_t n = 0;
    out[0] = '\0';
    n += (size_t)snprintf(out + n, out_size - n, "[");
    for (size_t i = 0; i < count && n < out_size; i++) {
        char text[VM_VALUE_TEXT_MAX];
        vm_format_value(&values[i], text);
        n += (size_t)snprintf(out + n, out_size - n, "%s%s", i ? ", " : "", text);
    }
    if (n < out_size) snprintf(out + n, out_size - n, "]");
}

/* Reads a wast2json value ({"type": "i32", "value": "4294967295"}) as an argument. */
static int parse_json_value(const json_node *node, lq_value *out) {
    size_t type_len = 0;
    const char *type = json_get_string(node, "type", &type_len);
    const char *text = json_get_string(node, "value", NULL);
    if (type == NULL || text == NULL) return 0;
    uint8_t vt = vm_type_from_name(type, type_len);
    uint64_t bits = 0;
    int is_null = strcmp(text, "null") == 0;
    if (!is_null && !vm_parse_u64(text, &bits)) return 0;
    switch (vt) {
    case LQ_I32: *out = lq_i32((int32_t)(uint32_t)bits); return 1;
    case LQ_I64: *out = lq_i64((int64_t)bits); return 1;
    case LQ_F32: *out = lq_f32_bits((uint32_t)bits); return 1;
    case LQ_F64: *out = lq_f64_bits(bits); return 1;
    case LQ_FUNCREF:
        /* Scripts only pass null funcrefs: there is no syntax for a function value. */
        if (!is_null) return 0;
        *out = lq_ref(LQ_FUNCREF, NULL);
        return 1;
    case LQ_EXTERNREF:
        *out = lq_ref(LQ_EXTERNREF, is_null ? NULL : vm_externref_from_number(bits));
        return 1;
    default: return 0;
    }
}

/* Does `got` satisfy the expectation `node`? Writes the expectation's text to `want`. */
static int value_matches(const json_node *node, const lq_value *got, char *want, size_t want_size) {
    size_t type_len = 0;
    const char *type = json_get_string(node, "type", &type_len);
    const char *text = json_get_string(node, "value", NULL);
    uint8_t vt = type ? vm_type_from_name(type, type_len) : 0;
    if (vt == 0) {
        snprintf(want, want_size, "<unsupported expectation type>");
        return 0;
    }
    if (text == NULL) {
        /* A type without a value (e.g. any funcref): only the type is checked. */
        snprintf(want, want_size, "%s:any", vm_type_name(vt));
        return got->type == vt;
    }
    if (strncmp(text, "nan:", 4) == 0 && (vt == LQ_F32 || vt == LQ_F64)) {
        snprintf(want, want_size, "%s:%s", vm_type_name(vt), text);
        if (got->type != vt) return 0;
        int canonical = strcmp(text, "nan:canonical") == 0;
        if (vt == LQ_F32) {
            uint32_t b = got->of.f32;
            return canonical ? (b & 0x7FFFFFFFu) == 0x7FC00000u
                             : (b & 0x7FC00000u) == 0x7FC00000u;
        }
        uint64_t b = got->of.f64;
        const uint64_t quiet = UINT64_C(0x7FF8000000000000);
        return canonical ? (b & UINT64_C(0x7FFFFFFFFFFFFFFF)) == quiet : (b & quiet) == quiet;
    }
    lq_value expected;
    if (!parse_json_value(node, &expected)) {
        snprintf(want, want_size, "<unreadable %s value '%s'>", vm_type_name(vt), text);
        return 0;
    }
    vm_format_value(&expected, want);
    if (got->type != vt) return 0;
    switch (vt) {
    case LQ_I32:
    case LQ_F32: return got->of.i32 == expected.of.i32;
    case LQ_I64:
    case LQ_F64: return got->of.i64 == expected.of.i64;
    default: return got->of.ref == expected.of.ref;
    }
}

/* ---------------------------------------------------------------- actions */

typedef struct action_result {
    lq_status status;
    lq_error err;
    lq_value *values;
    size_t count;
    char description[256];
} action_result;

/* Runs an invoke or get action. Returns 0 when the action could not be performed (it was
 * counted as failed), else 1 with the engine's outcome in *result. */
static int perform(script_run *run, const json_node *action, action_result *result) {
    memset(result, 0, sizeof *result);
    size_t field_len = 0;
    const char *type = json_get_string(action, "type", NULL);
    const char *field = json_get_string(action, "field", &field_len);
    const char *module_name = json_get_string(action, "module", NULL);
    if (type == NULL || field == NULL) {
        fail(run, "action without type or field");
        return 0;
    }
    char quoted[96];
    vm_quote_name(field, field_len, quoted, sizeof quoted);
    lq_instance *instance = module_name ? find_named(run, module_name) : run->current;
    if (instance == NULL) {
        snprintf(result->description, sizeof result->description, "%s \"%s\"", type, quoted);
        fail(run, "%s: no instantiated module %s", result->description,
             module_name ? module_name : "(the last module failed or there is none)");
        return 0;
    }
    lq_extern ext;
    lq_error err;
    if (vm_find_export(instance, field, field_len, &ext, &err) != LQ_OK) {
        snprintf(result->description, sizeof result->description, "%s \"%s\"", type, quoted);
        fail(run, "%s: %s", result->description, err.message);
        return 0;
    }
    if (strcmp(type, "get") == 0) {
        snprintf(result->description, sizeof result->description, "get \"%s\"", quoted);
        if (ext.kind != LQ_EXTERN_GLOBAL) {
            fail(run, "%s: export is not a global", result->description);
            return 0;
        }
        result->values = malloc(sizeof(lq_value));
        if (result->values == NULL) return 0;
        result->values[0] = lq_global_get(ext.of.global);
        result->count = 1;
        result->status = LQ_OK;
        return 1;
    }
    if (strcmp(type, "invoke") != 0) {
        fail(run, "unknown action type '%s'", type);
        return 0;
    }
    if (ext.kind != LQ_EXTERN_FUNC) {
        snprintf(result->description, sizeof result->description, "invoke \"%s\"", quoted);
        fail(run, "%s: export is not a function", result->description);
        return 0;
    }
    const json_node *args_node = json_get(action, "args");
    size_t nargs = args_node ? args_node->child_count : 0;
    lq_value *args = calloc(nargs ? nargs : 1, sizeof(lq_value));
    if (args == NULL) return 0;
    size_t i = 0;
    for (const json_node *a = args_node ? args_node->first_child : NULL; a; a = a->next, i++) {
        if (!parse_json_value(a, &args[i])) {
            free(args);
            fail(run, "invoke \"%s\": unsupported argument %lu", quoted, (unsigned long)i);
            return 0;
        }
    }
    char arg_text[120];
    format_list(args, nargs, arg_text, sizeof arg_text);
    snprintf(result->description, sizeof result->description, "invoke \"%s\" %s", quoted,
             arg_text);
    const char *params = NULL, *results = NULL;
    lq_func_type(ext.of.func, &params, &results);
    result->count = strlen(results);
    result->values = calloc(result->count ? result->count : 1, sizeof(lq_value));
    if (result->values == NULL) {
        free(args);
        return 0;
    }
    /* Each action starts with the full budget (fuel belongs to the instance). */
    if (run->options->fuel != LQ_FUEL_UNLIMITED) lq_set_fuel(instance, run->options->fuel);
    result->status = lq_call(ext.of.func, args, (uint32_t)nargs, result->values,
                             (uint32_t)result->count, &result->err);
    free(args);
    if (result->status == LQ_SUSPENDED) {
        /* Fuel ran out: the call is dropped so the instance can take the next command. */
        lq_abort(instance);
    }
    return 1;
}

static const char *status_text(const action_result *r, char *buf, size_t size) {
    switch (r->status) {
    case LQ_OK: format_list(r->values, r->count, buf, size); break;
    case LQ_TRAP: snprintf(buf, size, "trap \"%s\"", r->err.message); break;
    case LQ_SUSPENDED: snprintf(buf, size, "fuel exhausted"); break;
    default: snprintf(buf, size, "error \"%s\"", r->err.message); break;
    }
    return buf;
}

/* ---------------------------------------------------------------- commands */

static void run_module_command(script_run *run, const json_node *command) {
    loaded_module *entry = NULL;
    lq_error err;
    module_stage stage = load_module(run, command, &entry, &err);
    const char *name = json_get_string(command, "name", NULL);
    if (entry != NULL && name != NULL) entry->name = dup_bytes(name, strlen(name));
    if (stage != STAGE_DONE) {
        static const char *const stages[] = {"reading", "loading", "instantiating"};
        run->current = NULL;
        fail(run, "%s the module failed: %s", stages[stage], err.message);
    } else {
        run->current = entry->instance;
        pass(run);
    }
    release_unreachable(run);
}

static void run_register(script_run *run, const json_node *command) {
    size_t as_len = 0;
    const char *as = json_get_string(command, "as", &as_len);
    const char *name = json_get_string(command, "name", NULL);
    lq_instance *instance = name ? find_named(run, name) : run->current;
    if (as == NULL || instance == NULL) {
        fail(run, "nothing to register as '%s'", as ? as : "?");
        return;
    }
    registration *r = calloc(1, sizeof *r);
    if (r == NULL || (r->as = dup_bytes(as, as_len)) == NULL) {
        free(r);
        fail(run, "out of memory");
        return;
    }
    r->as_len = as_len;
    r->instance = instance;
    r->next = run->registrations;
    run->registrations = r;
    pass(run);
}

static void run_action_command(script_run *run, const json_node *command, const char *kind) {
    action_result r;
    if (!perform(run, json_get(command, "action"), &r)) {
        free(r.values);
        return;
    }
    char got[200];
    if (strcmp(kind, "assert_return") == 0 || strcmp(kind, "action") == 0) {
        if (r.status != LQ_OK) {
            fail(run, "%s: expected a result, got %s", r.description,
                 status_text(&r, got, sizeof got));
        } else if (strcmp(kind, "action") == 0) {
            pass(run);
        } else {
            const json_node *expected = json_get(command, "expected");
            size_t want_count = expected ? expected->child_count : 0;
            int ok = want_count == r.count;
            char want[200];
            size_t n = (size_t)snprintf(want, sizeof want, "[");
            size_t i = 0;
            for (const json_node *e = expected ? expected->first_child : NULL; e;
                 e = e->next, i++) {
                char one[VM_VALUE_TEXT_MAX + 32];
                if (i >= r.count || !value_matches(e, &r.values[i], one, sizeof one)) ok = 0;
                if (n < sizeof want) n += (size_t)snprintf(want + n, sizeof want - n, "%s%s",
                                                           i ? ", " : "", one);
            }
            if (n < sizeof want) snprintf(want + n, sizeof want - n, "]");
            if (ok) pass(run);
            else fail(run, "%s: expected %s, got %s", r.description, want,
                      status_text(&r, got, sizeof got));
        }
    } else {
        /* assert_trap and assert_exhaustion: the call must end in a trap. The spec's
         * message texts are not compared: engines word their traps differently. */
        const char *text = json_get_string(command, "text", NULL);
        if (r.status == LQ_TRAP) pass(run);
        else fail(run, "%s: expected trap \"%s\", got %s", r.description, text ? text : "",
                  status_text(&r, got, sizeof got));
    }
    free(r.values);
}

static void run_module_assertion(script_run *run, const json_node *command, const char *kind) {
    const char *module_type = json_get_string(command, "module_type", NULL);
    const char *text = json_get_string(command, "text", NULL);
    if (module_type != NULL && strcmp(module_type, "text") == 0) {
        /* Text-format modules test a .wat parser; the engine only reads binaries. */
        skip(run);
        return;
    }
    loaded_module *entry = NULL;
    lq_error err;
    module_stage stage = load_module(run, command, &entry, &err);
    const char *filename = json_get_string(command, "filename", NULL);
    if (stage == STAGE_READ) {
        fail(run, "%s: %s", filename ? filename : "?", err.message);
        return;
    }
    module_stage want_stage;
    lq_status want_status;
    if (strcmp(kind, "assert_invalid") == 0 || strcmp(kind, "assert_malformed") == 0) {
        want_stage = STAGE_LOAD;
        want_status = LQ_ERROR;
    } else if (strcmp(kind, "assert_unlinkable") == 0) {
        want_stage = STAGE_INSTANTIATE;
        want_status = LQ_ERROR;
    } else {
        want_stage = STAGE_INSTANTIATE;
        want_status = LQ_TRAP;
    }
    /* The outcome is decided; a module loaded here is never current, named or registered. */
    release_unreachable(run);
    if (stage == want_stage && err.status == want_status) {
        pass(run);
        return;
    }
    static const char *const outcome[] = {"unreadable", "load error", "instantiation failure",
                                          "success"};
    const char *got = outcome[stage];
    if (stage == STAGE_INSTANTIATE && err.status == LQ_TRAP) got = "instantiation trap";
    fail(run, "%s: expected %s \"%s\", got %s%s%s%s", filename ? filename : "?",
         want_stage == STAGE_LOAD ? "load error" : want_status == LQ_TRAP ? "instantiation trap"
                                                                          : "link error",
         text ? text : "", got, stage == STAGE_DONE ? "" : " \"",
         stage == STAGE_DONE ? "" : err.message, stage == STAGE_DONE ? "" : "\"");
}

static void run_command(script_run *run, const json_node *command) {
    const char *type = json_get_string(command, "type", NULL);
    run->line = json_get_long(command, "line", 0);
    run->command = type ? type : "?";
    if (type == NULL) {
        fail(run, "command without a type");
    } else if (strcmp(type, "module") == 0) {
        run_module_command(run, command);
    } else if (strcmp(type, "register") == 0) {
        run_register(run, command);
    } else if (strcmp(type, "action") == 0 || strcmp(type, "assert_return") == 0 ||
               strcmp(type, "assert_trap") == 0 || strcmp(type, "assert_exhaustion") == 0) {
        run_action_command(run, command, type);
    } else if (strcmp(type, "assert_invalid") == 0 || strcmp(type, "assert_malformed") == 0 ||
               strcmp(type, "assert_unlinkable") == 0 ||
               strcmp(type, "assert_uninstantiable") == 0) {
        run_module_assertion(run, command, type);
    } else {
        /* Commands newer than this runner (e.g. from proposals) are counted, not failed. */
        skip(run);
    }
}

/* ---------------------------------------------------------------- script */

static void free_run(script_run *run) {
    /* Newest first: an instance is freed before the instances it imported from. */
    for (loaded_module *m = run->modules; m != NULL; m = m->next) {
        if (m->instance) lq_instance_free(m->instance);
        if (m->failed_instance) lq_instance_free(m->failed_instance);
        m->instance = m->failed_instance = NULL;
    }
    /* Modules go after every instance: a failed instantiation may have left a module's
     * functions in a table that an older instance owns. */
    while (run->modules != NULL) {
        loaded_module *m = run->modules;
        run->modules = m->next;
        lq_module_free(m->module);
        free(m->name);
        free(m);
    }
    while (run->registrations != NULL) {
        registration *r = run->registrations;
        run->registrations = r->next;
        free(r->as);
        free(r);
    }
    spectest_host_free(&run->spectest);
}

int spec_run_script(lq_engine *engine, const char *path, const spec_options *options,
                    spec_totals *totals, char *err, size_t err_size) {
    size_t size = 0;
    unsigned char *text = vm_read_file(path, &size);
    if (text == NULL) {
        snprintf(err, err_size, "cannot read script %s: %s", path, strerror(errno));
        return -1;
    }
    char json_err[200];
    json_cursor cursor;
    if (!json_cursor_enter_array(&cursor, (const char *)text, size, "commands", json_err,
                                 sizeof json_err)) {
        snprintf(err, err_size, "%s is not a wast2json script: %s", path, json_err);
        free(text);
        return -1;
    }
    script_run run;
    memset(&run, 0, sizeof run);
    run.engine = engine;
    run.options = options;
    run.totals = totals;
    const char *slash = strrchr(path, '/');
    char *dir = dup_bytes(path, slash ? (size_t)(slash - path) + 1 : 0);
    run.dir = dir ? dir : "";
    run.script = slash ? slash + 1 : path;
    lq_error lerr;
    if (dir == NULL || spectest_host_init(&run.spectest, engine, 0, &lerr) != LQ_OK) {
        snprintf(err, err_size, "cannot create the spectest host module: %s",
                 dir ? lerr.message : "out of memory");
        free(dir);
        free(text);
        return -1;
    }
    /* One command at a time: parse, run, free. */
    int result = 0;
    for (;;) {
        json_document *doc = NULL;
        const json_node *command = NULL;
        int more = json_cursor_next(&cursor, &doc, &command, json_err, sizeof json_err);
        if (more == 0) break;
        if (more < 0) {
            snprintf(err, err_size, "%s is not valid JSON: %s", path, json_err);
            result = -1;
            break;
        }
        run_command(&run, command);
        json_free(doc);
    }
    free_run(&run);
    free(dir);
    free(text);
    return result;
}
