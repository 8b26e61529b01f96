/*
 * Dispatch-heavy workload: a tiny stack-machine interpreter (switch dispatch, like the inner
 * loop of many embedded scripting engines) running a program that sums i*i mod 7 for i < n.
 */
#include "bench.h"

enum { OP_PUSH, OP_LOAD, OP_STORE, OP_ADD, OP_MUL, OP_MOD, OP_LT, OP_JZ, OP_JMP, OP_HALT };

/* Registers: r0 = i, r1 = sum, r2 = n. */
static const uint32_t program[] = {
    OP_PUSH, 0, OP_STORE, 0,                                 /* i = 0 */
    OP_PUSH, 0, OP_STORE, 1,                                 /* sum = 0 */
    /* 8: loop */
    OP_LOAD, 0, OP_LOAD, 2, OP_LT, OP_JZ, 37,                /* if !(i < n) goto end */
    OP_LOAD, 1, OP_LOAD, 0, OP_LOAD, 0, OP_MUL, OP_PUSH, 7, OP_MOD, OP_ADD, OP_STORE, 1,
    OP_LOAD, 0, OP_PUSH, 1, OP_ADD, OP_STORE, 0,             /* i = i + 1 */
    OP_JMP, 8,
    /* 37: end */
    OP_LOAD, 1, OP_HALT,
};

/* Unsigned arithmetic: i*i wraps for large n, and wrapping must be defined behaviour. */
static uint32_t execute(const uint32_t *code, uint32_t *regs) {
    uint32_t stack[16];
    int sp = 0;
    int pc = 0;
    for (;;) {
        switch (code[pc++]) {
        case OP_PUSH: stack[sp++] = code[pc++]; break;
        case OP_LOAD: stack[sp++] = regs[code[pc++]]; break;
        case OP_STORE: regs[code[pc++]] = stack[--sp]; break;
        case OP_ADD: sp--; stack[sp - 1] += stack[sp]; break;
        case OP_MUL: sp--; stack[sp - 1] *= stack[sp]; break;
        case OP_MOD: sp--; stack[sp - 1] %= stack[sp]; break;
        case OP_LT: sp--; stack[sp - 1] = stack[sp - 1] < stack[sp]; break;
        case OP_JZ: {
            uint32_t target = code[pc++];
            if (stack[--sp] == 0) pc = (int)target;
            break;
        }
        case OP_JMP: pc = (int)code[pc]; break;
        case OP_HALT: return stack[sp - 1];
        default: return 0xFFFFFFFFu;
        }
    }
}

int run(int n) {
    uint32_t regs[3] = {0, 0, (uint32_t)n};
    return (int)execute(program, regs);
}
