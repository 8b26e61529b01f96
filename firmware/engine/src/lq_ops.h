/* Internal opcodes of the translated code (generated list kept by hand: one X(name, code)
 * per line). Codes that mirror a WebAssembly opcode reuse its number; fused
 * instructions (docs/engine.md) use the rest and 0x100 upwards. */
#ifndef LQ_OPS_H
#define LQ_OPS_H
#include <stdint.h>
#define LQE_OPS(X) \
    X(UNREACHABLE, 0x00) \
    X(BR_IF_EQZ, 0x01) \
    X(ADDK_SET, 0x09) \
    X(ADDK_TEE, 0x0A) \
    X(GET_LOAD32, 0x0B) \
    X(GET_LOAD64, 0x0C) \
    X(STORE32_LL, 0x12) \
    X(STORE64_LL, 0x13) \
    X(BRC_EQ, 0xC5) \
    X(BRC_NE, 0xC6) \
    X(BRC_LT_S, 0xC7) \
    X(BRC_LT_U, 0xC8) \
    X(BRC_GT_S, 0xC9) \
    X(BRC_GT_U, 0xCA) \
    X(BRC_LE_S, 0xCB) \
    X(BRC_LE_U, 0xCC) \
    X(BRC_GE_S, 0xCD) \
    X(BRC_GE_U, 0xCE) \
    X(BRCK_EQ, 0xD3) \
    X(BRCK_NE, 0xD4) \
    X(BRCK_LT_S, 0xD5) \
    X(BRCK_LT_U, 0xD6) \
    X(BRCK_GT_S, 0xD7) \
    X(BRCK_GT_U, 0xD8) \
    X(BRCK_LE_S, 0xD9) \
    X(BRCK_LE_U, 0xDA) \
    X(BRCK_GE_S, 0xDB) \
    X(BRCK_GE_U, 0xDC) \
    X(JMP, 0x02) \
    X(BR_MOVE, 0x03) \
    X(JMP_IF_Z, 0x04) \
    X(BR_IF_MOVE, 0x05) \
    X(GET_GET, 0x07) \
    X(GET_CONST, 0x08) \
    X(BR_IF, 0x0D) \
    X(BR_TABLE, 0x0E) \
    X(RETURN, 0x0F) \
    X(CALL, 0x10) \
    X(CALL_INDIRECT, 0x11) \
    X(DROP, 0x1A) \
    X(SELECT, 0x1B) \
    X(LOCAL_GET, 0x20) \
    X(LOCAL_SET, 0x21) \
    X(LOCAL_TEE, 0x22) \
    X(GLOBAL_GET, 0x23) \
    X(GLOBAL_SET, 0x24) \
    X(TABLE_GET, 0x25) \
    X(TABLE_SET, 0x26) \
    X(I32_LOAD, 0x28) \
    X(I64_LOAD, 0x29) \
    X(F32_LOAD, 0x2A) \
    X(F64_LOAD, 0x2B) \
    X(I32_LOAD8_S, 0x2C) \
    X(I32_LOAD8_U, 0x2D) \
    X(I32_LOAD16_S, 0x2E) \
    X(I32_LOAD16_U, 0x2F) \
    X(I64_LOAD8_S, 0x30) \
    X(I64_LOAD8_U, 0x31) \
    X(I64_LOAD16_S, 0x32) \
    X(I64_LOAD16_U, 0x33) \
    X(I64_LOAD32_S, 0x34) \
    X(I64_LOAD32_U, 0x35) \
    X(I32_STORE, 0x36) \
    X(I64_STORE, 0x37) \
    X(F32_STORE, 0x38) \
    X(F64_STORE, 0x39) \
    X(I32_STORE8, 0x3A) \
    X(I32_STORE16, 0x3B) \
    X(I64_STORE8, 0x3C) \
    X(I64_STORE16, 0x3D) \
    X(I64_STORE32, 0x3E) \
    X(MEMORY_SIZE, 0x3F) \
    X(MEMORY_GROW, 0x40) \
    X(CONST32, 0x41) \
    X(CONST64, 0x42) \
    X(I32_EQZ, 0x45) \
    X(I32_EQ, 0x46) \
    X(I32_NE, 0x47) \
    X(I32_LT_S, 0x48) \
    X(I32_LT_U, 0x49) \
    X(I32_GT_S, 0x4A) \
    X(I32_GT_U, 0x4B) \
    X(I32_LE_S, 0x4C) \
    X(I32_LE_U, 0x4D) \
    X(I32_GE_S, 0x4E) \
    X(I32_GE_U, 0x4F) \
    X(I64_EQZ, 0x50) \
    X(I64_EQ, 0x51) \
    X(I64_NE, 0x52) \
    X(I64_LT_S, 0x53) \
    X(I64_LT_U, 0x54) \
    X(I64_GT_S, 0x55) \
    X(I64_GT_U, 0x56) \
    X(I64_LE_S, 0x57) \
    X(I64_LE_U, 0x58) \
    X(I64_GE_S, 0x59) \
    X(I64_GE_U, 0x5A) \
    X(F32_EQ, 0x5B) \
    X(F32_NE, 0x5C) \
    X(F32_LT, 0x5D) \
    X(F32_GT, 0x5E) \
    X(F32_LE, 0x5F) \
    X(F32_GE, 0x60) \
    X(F64_EQ, 0x61) \
    X(F64_NE, 0x62) \
    X(F64_LT, 0x63) \
    X(F64_GT, 0x64) \
    X(F64_LE, 0x65) \
    X(F64_GE, 0x66) \
    X(I32_CLZ, 0x67) \
    X(I32_CTZ, 0x68) \
    X(I32_POPCNT, 0x69) \
    X(I32_ADD, 0x6A) \
    X(I32_SUB, 0x6B) \
    X(I32_MUL, 0x6C) \
    X(I32_DIV_S, 0x6D) \
    X(I32_DIV_U, 0x6E) \
    X(I32_REM_S, 0x6F) \
    X(I32_REM_U, 0x70) \
    X(I32_AND, 0x71) \
    X(I32_OR, 0x72) \
    X(I32_XOR, 0x73) \
    X(I32_SHL, 0x74) \
    X(I32_SHR_S, 0x75) \
    X(I32_SHR_U, 0x76) \
    X(I32_ROTL, 0x77) \
    X(I32_ROTR, 0x78) \
    X(I64_CLZ, 0x79) \
    X(I64_CTZ, 0x7A) \
    X(I64_POPCNT, 0x7B) \
    X(I64_ADD, 0x7C) \
    X(I64_SUB, 0x7D) \
    X(I64_MUL, 0x7E) \
    X(I64_DIV_S, 0x7F) \
    X(I64_DIV_U, 0x80) \
    X(I64_REM_S, 0x81) \
    X(I64_REM_U, 0x82) \
    X(I64_AND, 0x83) \
    X(I64_OR, 0x84) \
    X(I64_XOR, 0x85) \
    X(I64_SHL, 0x86) \
    X(I64_SHR_S, 0x87) \
    X(I64_SHR_U, 0x88) \
    X(I64_ROTL, 0x89) \
    X(I64_ROTR, 0x8A) \
    X(F32_ABS, 0x8B) \
    X(F32_NEG, 0x8C) \
    X(F32_CEIL, 0x8D) \
    X(F32_FLOOR, 0x8E) \
    X(F32_TRUNC, 0x8F) \
    X(F32_NEAREST, 0x90) \
    X(F32_SQRT, 0x91) \
    X(F32_ADD, 0x92) \
    X(F32_SUB, 0x93) \
    X(F32_MUL, 0x94) \
    X(F32_DIV, 0x95) \
    X(F32_MIN, 0x96) \
    X(F32_MAX, 0x97) \
    X(F32_COPYSIGN, 0x98) \
    X(F64_ABS, 0x99) \
    X(F64_NEG, 0x9A) \
    X(F64_CEIL, 0x9B) \
    X(F64_FLOOR, 0x9C) \
    X(F64_TRUNC, 0x9D) \
    X(F64_NEAREST, 0x9E) \
    X(F64_SQRT, 0x9F) \
    X(F64_ADD, 0xA0) \
    X(F64_SUB, 0xA1) \
    X(F64_MUL, 0xA2) \
    X(F64_DIV, 0xA3) \
    X(F64_MIN, 0xA4) \
    X(F64_MAX, 0xA5) \
    X(F64_COPYSIGN, 0xA6) \
    X(I32_WRAP_I64, 0xA7) \
    X(I32_TRUNC_F32_S, 0xA8) \
    X(I32_TRUNC_F32_U, 0xA9) \
    X(I32_TRUNC_F64_S, 0xAA) \
    X(I32_TRUNC_F64_U, 0xAB) \
    X(I64_EXTEND_I32_S, 0xAC) \
    X(I64_EXTEND_I32_U, 0xAD) \
    X(I64_TRUNC_F32_S, 0xAE) \
    X(I64_TRUNC_F32_U, 0xAF) \
    X(I64_TRUNC_F64_S, 0xB0) \
    X(I64_TRUNC_F64_U, 0xB1) \
    X(F32_CONVERT_I32_S, 0xB2) \
    X(F32_CONVERT_I32_U, 0xB3) \
    X(F32_CONVERT_I64_S, 0xB4) \
    X(F32_CONVERT_I64_U, 0xB5) \
    X(F32_DEMOTE_F64, 0xB6) \
    X(F64_CONVERT_I32_S, 0xB7) \
    X(F64_CONVERT_I32_U, 0xB8) \
    X(F64_CONVERT_I64_S, 0xB9) \
    X(F64_CONVERT_I64_U, 0xBA) \
    X(F64_PROMOTE_F32, 0xBB) \
    X(I32_REINTERPRET_F32, 0xBC) \
    X(I64_REINTERPRET_F64, 0xBD) \
    X(F32_REINTERPRET_I32, 0xBE) \
    X(F64_REINTERPRET_I64, 0xBF) \
    X(I32_EXTEND8_S, 0xC0) \
    X(I32_EXTEND16_S, 0xC1) \
    X(I64_EXTEND8_S, 0xC2) \
    X(I64_EXTEND16_S, 0xC3) \
    X(I64_EXTEND32_S, 0xC4) \
    X(REF_IS_NULL, 0xD1) \
    X(REF_FUNC, 0xD2) \
    X(I32_TRUNC_SAT_F32_S, 0xE0) \
    X(I32_TRUNC_SAT_F32_U, 0xE1) \
    X(I32_TRUNC_SAT_F64_S, 0xE2) \
    X(I32_TRUNC_SAT_F64_U, 0xE3) \
    X(I64_TRUNC_SAT_F32_S, 0xE4) \
    X(I64_TRUNC_SAT_F32_U, 0xE5) \
    X(I64_TRUNC_SAT_F64_S, 0xE6) \
    X(I64_TRUNC_SAT_F64_U, 0xE7) \
    X(MEMORY_INIT, 0xE8) \
    X(DATA_DROP, 0xE9) \
    X(MEMORY_COPY, 0xEA) \
    X(MEMORY_FILL, 0xEB) \
    X(TABLE_INIT, 0xEC) \
    X(ELEM_DROP, 0xED) \
    X(TABLE_COPY, 0xEE) \
    X(TABLE_GROW, 0xEF) \
    X(TABLE_SIZE, 0xF0) \
    X(TABLE_FILL, 0xF1) \
    X(ADD32_SET, 0xF6) \
    X(OPK_ADD, 0x100) \
    X(OPK_SUB, 0x101) \
    X(OPK_MUL, 0x102) \
    X(OPK_AND, 0x103) \
    X(OPK_OR, 0x104) \
    X(OPK_XOR, 0x105) \
    X(OPK_SHL, 0x106) \
    X(OPK_SHR_S, 0x107) \
    X(OPK_SHR_U, 0x108) \
    X(OPLK_ADD, 0x109) \
    X(OPLK_SUB, 0x10A) \
    X(OPLK_MUL, 0x10B) \
    X(OPLK_AND, 0x10C) \
    X(OPLK_OR, 0x10D) \
    X(OPLK_XOR, 0x10E) \
    X(OPLK_SHL, 0x10F) \
    X(OPLK_SHR_S, 0x110) \
    X(OPLK_SHR_U, 0x111) \
    X(OPLL_ADD, 0x112) \
    X(OPLL_SUB, 0x113) \
    X(OPLL_MUL, 0x114) \
    X(OPLL_AND, 0x115) \
    X(OPLL_OR, 0x116) \
    X(OPLL_XOR, 0x117) \
    X(OPLL_SHL, 0x118) \
    X(OPLL_SHR_S, 0x119) \
    X(OPLL_SHR_U, 0x11A) \
    X(BRSK_EQ, 0x11B) \
    X(BRSK_NE, 0x11C) \
    X(BRSK_LT_S, 0x11D) \
    X(BRSK_LT_U, 0x11E) \
    X(BRSK_GT_S, 0x11F) \
    X(BRSK_GT_U, 0x120) \
    X(BRSK_LE_S, 0x121) \
    X(BRSK_LE_U, 0x122) \
    X(BRSK_GE_S, 0x123) \
    X(BRSK_GE_U, 0x124) \
    X(BRLL_EQ, 0x125) \
    X(BRLL_NE, 0x126) \
    X(BRLL_LT_S, 0x127) \
    X(BRLL_LT_U, 0x128) \
    X(BRLL_GT_S, 0x129) \
    X(BRLL_GT_U, 0x12A) \
    X(BRLL_LE_S, 0x12B) \
    X(BRLL_LE_U, 0x12C) \
    X(BRLL_GE_S, 0x12D) \
    X(BRLL_GE_U, 0x12E) \
    X(COPY, 0x12F) \
    X(LOADK32, 0x130) \
    X(LOADK64, 0x131) \
    X(LOADLK32, 0x132) \
    X(LOADLK64, 0x133) \
    X(ADD32_TEE, 0x134) \
    X(OPSL_ADD, 0x135) \
    X(OPSL_SUB, 0x136) \
    X(OPSL_MUL, 0x137) \
    X(OPSL_AND, 0x138) \
    X(OPSL_OR, 0x139) \
    X(OPSL_XOR, 0x13A) \
    X(OPSL_SHL, 0x13B) \
    X(OPSL_SHR_S, 0x13C) \
    X(OPSL_SHR_U, 0x13D) \
    X(F32_ADD_L, 0x13E) \
    X(F32_SUB_L, 0x13F) \
    X(F32_MUL_L, 0x140) \
    X(F64_ADD_L, 0x141) \
    X(F64_SUB_L, 0x142) \
    X(F64_MUL_L, 0x143) \
    X(F32_ADD_LL, 0x144) \
    X(F32_SUB_LL, 0x145) \
    X(F32_MUL_LL, 0x146) \
    X(F64_ADD_LL, 0x147) \
    X(F64_SUB_LL, 0x148) \
    X(F64_MUL_LL, 0x149) \
    X(SETK, 0x14A) \
    X(BR_IF_L, 0x14B) \
    X(STOREK8, 0x14C) \
    X(STOREK32, 0x14D) \

enum lqe_op {
#define LQE_OP_ENUM(n, c) OP_##n = c,
    LQE_OPS(LQE_OP_ENUM)
#undef LQE_OP_ENUM
    OP_COUNT_ = OP_STOREK32 + 1   /* keep STOREK32 the highest code */
};
/* Number of immediate words after each opcode word (walks translated code). */
static inline uint32_t lqe_op_imms(uint32_t op, const uint32_t *imm) {
    if (op == OP_BR_TABLE) return 2 + 2 * (imm[0] + 1);
    if ((op >= OP_I32_LOAD && op <= OP_I64_STORE32) || (op >= OP_BRC_EQ && op <= OP_BRC_GE_U) ||
        (op >= OP_OPK_ADD && op <= OP_OPK_SHR_U) || (op >= OP_OPSL_ADD && op <= OP_F64_MUL_L))
        return 1;
    if ((op >= OP_OPLK_ADD && op <= OP_OPLL_SHR_U) || (op >= OP_BRSK_EQ && op <= OP_BRSK_GE_U) ||
        (op >= OP_F32_ADD_LL && op <= OP_F64_MUL_LL) || op == OP_LOADK32 || op == OP_LOADK64 ||
        (op >= OP_SETK && op <= OP_STOREK32))
        return 2;
    if ((op >= OP_BRCK_EQ && op <= OP_BRCK_GE_U) || (op >= OP_BRLL_EQ && op <= OP_BRLL_GE_U)) return 3;
    switch (op) {
    case OP_JMP: case OP_JMP_IF_Z: case OP_BR_IF: case OP_BR_IF_EQZ: case OP_CALL:
    case OP_LOCAL_GET: case OP_LOCAL_SET: case OP_LOCAL_TEE: case OP_GLOBAL_GET: case OP_GLOBAL_SET:
    case OP_TABLE_GET: case OP_TABLE_SET: case OP_CONST32: case OP_REF_FUNC: case OP_MEMORY_INIT:
    case OP_DATA_DROP: case OP_ELEM_DROP: case OP_TABLE_GROW: case OP_TABLE_SIZE: case OP_TABLE_FILL:
        return 1;
    case OP_CONST64: case OP_GET_GET: case OP_GET_CONST: case OP_CALL_INDIRECT: case OP_GET_LOAD32:
    case OP_GET_LOAD64: case OP_TABLE_INIT: case OP_TABLE_COPY: case OP_COPY:
        return 2;
    case OP_BR_MOVE: case OP_BR_IF_MOVE: case OP_ADD32_SET: case OP_ADDK_SET: case OP_ADDK_TEE:
    case OP_STORE32_LL: case OP_STORE64_LL: case OP_LOADLK32: case OP_LOADLK64: case OP_ADD32_TEE:
        return 3;
    default:
        return 0;
    }
}
#endif
