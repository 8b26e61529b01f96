/*
 * liquid-vm: the engine's command-line runner on posix (and, for the spec tests, on a
 * Cortex-M4 under QEMU with semihosting: see arm/).
 *
 *   liquid-vm FILE.wasm [--invoke NAME [ARG...]] [--stub-imports] [--fuel N] [--stats]
 *   liquid-vm --spectest SCRIPT.json [SCRIPT.json...] [--fuel N] [--stats]
 *
 * Exit status: 0 ok; 1 usage error, unreadable file, unknown export or failed spec commands;
 * 2 invalid/malformed module or unresolvable import ("error: ..."); 3 trap ("trap: ...");
 * 4 fuel exhausted ("fuel: ..."). The format of values is in vm_values.h and docs/liquid-vm.md.
 */
#define _POSIX_C_SOURCE 199309L

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "liquid_engine.h"
#include "spec_runner.h"
#include "spectest_host.h"
#include "vm_alloc.h"
#include "vm_file.h"
#include "vm_exports.h"
#include "vm_values.h"

enum {
    EXIT_OK = 0,
    EXIT_USAGE = 1,
    EXIT_INVALID = 2,
    EXIT_TRAP = 3,
    EXIT_FUEL = 4
};

typedef struct options {
    const char *file;
    const char *invoke;
    char **args;
    int nargs;
    const char **scripts;
    int nscripts;
    int stub_imports;
    int stats;
    uint64_t fuel;
    lq_limits limits; /* zero fields: the engine's defaults */
} options;

static const char usage_text[] =
    "usage: liquid-vm FILE.wasm [--invoke NAME [ARG...]] [--stub-imports] [--fuel N] [--stats]\n"
    "                 [--limit NAME=N]...\n"
    "       liquid-vm --spectest SCRIPT.json [SCRIPT.json...] [--fuel N] [--stats] [--limit NAME=N]...\n"
    "--limit names: value-stack (8-byte slots), call-depth, memory-pages, table-size,\n"
    "               module-size (bytes), locals\n"
    "ARG and results: i32:-5  i64:7  f32:0x3fc00000  f64:0x3ff8000000000000 (floats as raw\n"
    "bits), funcref:null, externref:null, externref:N\n";

/* ---------------------------------------------------------------- timing */

#if defined(CLOCK_MONOTONIC) && defined(CLOCK_PROCESS_CPUTIME_ID)
static double clock_ms(clockid_t clock) {
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static double now_ms(void) {
    return clock_ms(CLOCK_MONOTONIC);
}

/* CPU time of this process: unlike wall time it does not grow when other jobs share the
 * cores, so benchmarks on a busy machine stay comparable. */
static double cpu_ms(void) {
    return clock_ms(CLOCK_PROCESS_CPUTIME_ID);
}
#else
/* Targets without POSIX clocks (the ARM build under QEMU): C99 clock() for both. */
static double now_ms(void) {
    return (double)clock() * 1e3 / CLOCKS_PER_SEC;
}

static double cpu_ms(void) {
    return now_ms();
}
#endif

/* ---------------------------------------------------------------- arguments */

static int usage_error(const char *fmt, const char *detail) {
    fprintf(stderr, "error: ");
    fprintf(stderr, fmt, detail);
    fprintf(stderr, "\n%s", usage_text);
    return EXIT_USAGE;
}

/* Applies `--limit NAME=N` to the engine limits; 0 when the name or number is bad. */
static int parse_limit(const char *text, lq_limits *limits) {
    static const struct {
        const char *name;
        size_t offset;
    } names[] = {
        {"value-stack", offsetof(lq_limits, value_stack_slots)},
        {"call-depth", offsetof(lq_limits, call_depth)},
        {"memory-pages", offsetof(lq_limits, max_memory_pages)},
        {"table-size", offsetof(lq_limits, max_table_size)},
        {"module-size", offsetof(lq_limits, max_module_size)},
        {"locals", offsetof(lq_limits, max_function_locals)},
    };
    const char *eq = strchr(text, '=');
    uint64_t value;
    if (eq == NULL || !vm_parse_u64(eq + 1, &value) || value == 0 || value > UINT32_MAX) return 0;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strlen(names[i].name) == (size_t)(eq - text) &&
            memcmp(names[i].name, text, (size_t)(eq - text)) == 0) {
            uint32_t v = (uint32_t)value;
            memcpy((char *)limits + names[i].offset, &v, sizeof v);
            return 1;
        }
    }
    return 0;
}

static int parse_options(int argc, char **argv, options *o) {
    memset(o, 0, sizeof *o);
    o->fuel = LQ_FUEL_UNLIMITED;
    o->scripts = calloc((size_t)argc, sizeof(char *));
    if (o->scripts == NULL) return usage_error("%s", "out of memory");
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--invoke") == 0) {
            if (i + 1 >= argc) return usage_error("%s", "--invoke needs a function name");
            if (o->invoke) return usage_error("%s", "--invoke given twice");
            o->invoke = argv[++i];
            o->args = argv + i + 1;
            /* Values never start with "--" (negative numbers are i32:-5), so the argument
             * list runs to the next option. */
            while (i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0) {
                i++;
                o->nargs++;
            }
        } else if (strcmp(a, "--spectest") == 0) {
            if (i + 1 >= argc) return usage_error("%s", "--spectest needs a script (.json)");
            while (i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0) {
                o->scripts[o->nscripts++] = argv[++i];
            }
        } else if (strcmp(a, "--stub-imports") == 0) {
            o->stub_imports = 1;
        } else if (strcmp(a, "--stats") == 0) {
            o->stats = 1;
        } else if (strcmp(a, "--fuel") == 0) {
            uint64_t fuel;
            if (i + 1 >= argc || !vm_parse_u64(argv[i + 1], &fuel)) {
                return usage_error("%s", "--fuel needs a non-negative integer (units of fuel)");
            }
            o->fuel = fuel;
            i++;
        } else if (strcmp(a, "--limit") == 0) {
            if (i + 1 >= argc || !parse_limit(argv[i + 1], &o->limits)) {
                return usage_error("%s", "--limit needs NAME=N with N > 0 and NAME one of value-stack, "
                                         "call-depth, memory-pages, table-size, module-size, locals");
            }
            i++;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(usage_text, stdout);
            exit(EXIT_OK);
        } else if (strncmp(a, "--", 2) == 0) {
            return usage_error("unknown option '%s'", a);
        } else if (o->file == NULL) {
            o->file = a;
        } else {
            return usage_error("unexpected argument '%s' (arguments follow --invoke NAME)", a);
        }
    }
    if (o->nscripts > 0 && (o->file || o->invoke)) {
        return usage_error("%s", "--spectest runs scripts; do not also give a module or --invoke");
    }
    if (o->nscripts == 0 && o->file == NULL) return usage_error("%s", "no module given");
    return EXIT_OK;
}

/* ---------------------------------------------------------------- imports */

/* A stub for one missing function import: prints the call and returns zeros. */
typedef struct stub {
    struct stub *next;
    char *module;
    char *name;
    char *params;
    lq_func *func;
} stub;

typedef struct link_context {
    lq_engine *engine;
    spectest_host *spectest;
    int stub_imports;
    stub *stubs;
    char *failed_import; /* first import that could not be stubbed, for the message */
} link_context;

/* Prints `call MODULE.NAME(ARGS)` and returns zeros of the result types (which the engine
 * has already set in results[]). */
static lq_status stub_call(lq_instance *caller, void *user, const lq_value *args,
                           lq_value *results) {
    (void)caller;
    const stub *s = user;
    printf("call %s.%s(", s->module, s->name);
    for (size_t i = 0; s->params[i] != '\0'; i++) {
        char text[VM_VALUE_TEXT_MAX];
        vm_format_value(&args[i], text);
        printf("%s%s", i ? ", " : "", text);
    }
    printf(")\n");
    const char *params = NULL, *result_types = NULL;
    lq_func_type(s->func, &params, &result_types);
    for (size_t i = 0; result_types[i] != '\0'; i++) {
        uint8_t type = results[i].type;
        memset(&results[i], 0, sizeof results[i]);
        results[i].type = type;
    }
    return LQ_OK;
}

static char *dup_name(const char *s, uint32_t len) {
    char *p = malloc((size_t)len + 1);
    if (p == NULL) return NULL;
    /* Names print as text; bytes that are not printable would garble the terminal. */
    for (uint32_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        p[i] = (c >= 0x20 && c < 0x7F) ? (char)c : '?';
    }
    p[len] = '\0';
    return p;
}

static lq_status resolve_import(void *user, const lq_import_info *import, lq_extern *out) {
    link_context *ctx = user;
    if (import->module_len == 8 && memcmp(import->module, "spectest", 8) == 0 &&
        spectest_host_lookup(ctx->spectest, import->name, import->name_len, out) == LQ_OK) {
        return LQ_OK;
    }
    if (!ctx->stub_imports || import->type.kind != LQ_EXTERN_FUNC) return LQ_ERROR;
    stub *s = calloc(1, sizeof *s);
    if (s == NULL) return LQ_ERROR;
    s->module = dup_name(import->module, import->module_len);
    s->name = dup_name(import->name, import->name_len);
    s->params = dup_name(import->type.params, (uint32_t)strlen(import->type.params));
    s->next = ctx->stubs;
    ctx->stubs = s;
    if (s->module == NULL || s->name == NULL || s->params == NULL) return LQ_ERROR;
    if (lq_func_new_host(ctx->engine, import->type.params, import->type.results,
                         stub_call, s, &s->func, NULL) != LQ_OK) {
        return LQ_ERROR;
    }
    out->kind = LQ_EXTERN_FUNC;
    out->of.func = s->func;
    return LQ_OK;
}

static void free_stubs(stub *s) {
    while (s != NULL) {
        stub *next = s->next;
        if (s->func) lq_func_free(s->func);
        free(s->module);
        free(s->name);
        free(s->params);
        free(s);
        s = next;
    }
}

/* ---------------------------------------------------------------- modes */

typedef struct run_stats {
    double load_ms, instantiate_ms, call_ms, call_cpu_ms;
} run_stats;

static void print_stats(const run_stats *t, const vm_alloc_stats *mem) {
    fprintf(stderr, "stats: load %.3f ms, instantiate %.3f ms, call %.3f ms\n", t->load_ms,
            t->instantiate_ms, t->call_ms);
    fprintf(stderr, "stats: call cpu %.3f ms\n", t->call_cpu_ms);
    fprintf(stderr, "stats: peak engine memory %lu bytes\n", (unsigned long)mem->peak);
}

/* Parses the --invoke arguments against the function's parameter types. */
static int build_args(const options *o, const char *params, lq_value *args) {
    size_t want = strlen(params);
    if ((size_t)o->nargs != want) {
        fprintf(stderr, "error: function '%s' takes %lu argument%s (", o->invoke, (unsigned long)want,
                want == 1 ? "" : "s");
        for (size_t i = 0; i < want; i++) {
            fprintf(stderr, "%s%s", i ? ", " : "", vm_type_name(vm_type_from_letter(params[i])));
        }
        fprintf(stderr, "), got %d\n", o->nargs);
        return 0;
    }
    for (size_t i = 0; i < want; i++) {
        char err[300];
        if (!vm_parse_value(o->args[i], &args[i], err, sizeof err)) {
            fprintf(stderr, "error: %s\n", err);
            return 0;
        }
        uint8_t type = vm_type_from_letter(params[i]);
        if (args[i].type != type) {
            fprintf(stderr, "error: argument %lu of '%s' must be %s, got '%s'\n", (unsigned long)(i + 1),
                    o->invoke, vm_type_name(type), o->args[i]);
            return 0;
        }
    }
    return 1;
}

/* The engine settings both modes use: counting allocations in `mem`, the command line's limits. */
static lq_config engine_config(const options *o, vm_alloc_stats *mem) {
    lq_config config;
    memset(&config, 0, sizeof config);
    config.alloc = vm_alloc;
    config.alloc_user = mem;
    config.limits = o->limits;
    return config;
}

static int run_module(const options *o) {
    int code = EXIT_OK;
    size_t size = 0;
    unsigned char *bytes = vm_read_file(o->file, &size);
    if (bytes == NULL) {
        fprintf(stderr, "error: cannot read %s: %s\n", o->file, strerror(errno));
        return EXIT_USAGE;
    }
    vm_alloc_stats mem = {0, 0, 0};
    lq_config config = engine_config(o, &mem);
    lq_engine *engine = NULL;
    lq_module *module = NULL;
    lq_instance *instance = NULL;
    lq_value *args = NULL, *results = NULL;
    spectest_host spectest;
    memset(&spectest, 0, sizeof spectest);
    link_context link = {NULL, &spectest, o->stub_imports, NULL, NULL};
    run_stats t = {0, 0, 0, 0};
    lq_error err;
    memset(&err, 0, sizeof err);

    if (lq_engine_new(&config, &engine, &err) != LQ_OK ||
        spectest_host_init(&spectest, engine, 1, &err) != LQ_OK) {
        fprintf(stderr, "error: cannot start the engine: %s\n", err.message);
        code = EXIT_USAGE;
        goto done;
    }
    link.engine = engine;

    double t0 = now_ms();
    lq_status status = lq_module_load(engine, bytes, size, &module, &err);
    t.load_ms = now_ms() - t0;
    if (status != LQ_OK) {
        fprintf(stderr, "error: %s\n", err.message);
        code = EXIT_INVALID;
        goto done;
    }

    t0 = now_ms();
    status = lq_instantiate(module, resolve_import, &link, &instance, &err);
    t.instantiate_ms = now_ms() - t0;
    if (status == LQ_TRAP) {
        /* The engine returns what it built even after a trap; nothing else uses it here. */
        fprintf(stderr, "trap: %s\n", err.message);
        code = EXIT_TRAP;
        goto done;
    }
    if (status != LQ_OK) {
        fprintf(stderr, "error: %s%s\n", err.message,
                o->stub_imports || strstr(err.message, "unknown import") == NULL
                    ? ""
                    : " (--stub-imports satisfies missing function imports)");
        code = EXIT_INVALID;
        goto done;
    }
    if (o->invoke == NULL) goto done;

    lq_extern ext;
    if (vm_find_export(instance, o->invoke, strlen(o->invoke), &ext, &err) != LQ_OK) {
        fprintf(stderr, "error: %s\n", err.message);
        code = EXIT_USAGE;
        goto done;
    }
    if (ext.kind != LQ_EXTERN_FUNC) {
        static const char *const kinds[] = {"function", "table", "memory", "global"};
        fprintf(stderr, "error: export '%s' is a %s, not a function\n", o->invoke,
                ext.kind < 4 ? kinds[ext.kind] : "non-function");
        code = EXIT_USAGE;
        goto done;
    }
    const char *params = NULL, *result_types = NULL;
    lq_func_type(ext.of.func, &params, &result_types);
    size_t nresults = strlen(result_types);
    args = calloc(strlen(params) + 1, sizeof(lq_value));
    results = calloc(nresults + 1, sizeof(lq_value));
    if (args == NULL || results == NULL) {
        fprintf(stderr, "error: out of memory\n");
        code = EXIT_USAGE;
        goto done;
    }
    if (!build_args(o, params, args)) {
        code = EXIT_USAGE;
        goto done;
    }
    if (o->fuel != LQ_FUEL_UNLIMITED) lq_set_fuel(instance, o->fuel);
    t0 = now_ms();
    double c0 = cpu_ms();
    status = lq_call(ext.of.func, args, (uint32_t)strlen(params), results, (uint32_t)nresults,
                     &err);
    t.call_cpu_ms = cpu_ms() - c0;
    t.call_ms = now_ms() - t0;
    fflush(stdout);
    switch (status) {
    case LQ_OK:
        for (size_t i = 0; i < nresults; i++) {
            char text[VM_VALUE_TEXT_MAX];
            vm_format_value(&results[i], text);
            printf("%s\n", text);
        }
        break;
    case LQ_TRAP:
        fprintf(stderr, "trap: %s\n", err.message);
        code = EXIT_TRAP;
        break;
    case LQ_SUSPENDED:
        fprintf(stderr, "fuel: exhausted after %llu units (--fuel %llu)\n",
                (unsigned long long)(o->fuel - lq_fuel(instance)), (unsigned long long)o->fuel);
        lq_abort(instance);
        code = EXIT_FUEL;
        break;
    default:
        fprintf(stderr, "error: %s\n", err.message);
        code = EXIT_USAGE;
        break;
    }

done:
    fflush(stdout);
    if (o->stats && engine != NULL) print_stats(&t, &mem);
    free(args);
    free(results);
    if (instance) lq_instance_free(instance);
    if (module) lq_module_free(module);
    free_stubs(link.stubs);
    spectest_host_free(&spectest);
    if (engine) lq_engine_free(engine);
    free(bytes);
    return code;
}

static int run_scripts(const options *o) {
    vm_alloc_stats mem = {0, 0, 0};
    lq_config config = engine_config(o, &mem);
    lq_engine *engine = NULL;
    lq_error err;
    if (lq_engine_new(&config, &engine, &err) != LQ_OK) {
        fprintf(stderr, "error: cannot start the engine: %s\n", err.message);
        return EXIT_USAGE;
    }
    spec_totals totals = {0, 0, 0};
    spec_options so = {stdout, o->fuel};
    int code = EXIT_OK;
    double t0 = now_ms();
    for (int i = 0; i < o->nscripts; i++) {
        char msg[400];
        if (spec_run_script(engine, o->scripts[i], &so, &totals, msg, sizeof msg) != 0) {
            fprintf(stderr, "error: %s\n", msg);
            code = EXIT_USAGE;
        }
    }
    double elapsed = now_ms() - t0;
    printf("%lu passed, %lu failed, %lu skipped\n", totals.passed, totals.failed, totals.skipped);
    fflush(stdout);
    if (o->stats) {
        fprintf(stderr, "stats: scripts %.3f ms\n", elapsed);
        fprintf(stderr, "stats: peak engine memory %lu bytes\n", (unsigned long)mem.peak);
    }
    lq_engine_free(engine);
    if (code == EXIT_OK && totals.failed > 0) code = 1;
    return code;
}

int main(int argc, char **argv) {
    options o;
    int code = parse_options(argc, argv, &o);
    if (code == EXIT_OK) code = o.nscripts > 0 ? run_scripts(&o) : run_module(&o);
    free(o.scripts);
    return code;
}
