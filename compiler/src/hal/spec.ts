/**
 * The HAL spec (hal/hal.json) as typed data: loading, validation and the few derived views the
 * generators and `liquid build` need. Validation is strict because every target's bindings are
 * generated from this file: a typo here would otherwise surface as a confusing C or
 * AssemblyScript compile error three steps later.
 */
import { readFileSync } from "node:fs";

export type ValueType = "i32" | "i64" | "f32" | "f64";
const VALUE_TYPES: readonly string[] = ["i32", "i64", "f32", "f64"];

export interface HalParam {
  name: string;
  type: ValueType;
  /** This i32 is a pointer into the app's memory; its length is the parameter named `len`. */
  ptr?: boolean;
  len?: string;
  /** The host writes through this pointer (otherwise it only reads). */
  out?: boolean;
  doc?: string;
}

export interface HalFunction {
  module: string;
  name: string;
  capability: string;
  /** The parameter (a ptr/len string) naming the pin or bus this call opens, checked against grants. */
  resourceArg?: string;
  params: HalParam[];
  results: ValueType[];
  doc: string;
}

export interface HalNamedValue {
  name: string;
  value: number;
  doc: string;
}

export interface HalEntryPoint {
  name: string;
  params: { name: string; type: ValueType }[];
  doc: string;
}

export interface HalCapability {
  name: string;
  doc: string;
  /** Kind of named resource the capability's opener takes: "pin" or "bus". */
  resource?: "pin" | "bus";
}

export interface HalSpec {
  version: number;
  errors: HalNamedValue[];
  constants: HalNamedValue[];
  entryPoints: HalEntryPoint[];
  capabilities: HalCapability[];
  functions: HalFunction[];
}

/** A ptr parameter joined with its length parameter: what bindings expose as one buffer. */
export interface BufferArg {
  ptr: HalParam;
  len: HalParam;
  out: boolean;
}

/** One parameter as the friendly bindings see it: a scalar, or a buffer (ptr+len folded). */
export type LogicalParam = { kind: "scalar"; param: HalParam } | { kind: "buffer"; buffer: BufferArg };

export class HalSpecError extends Error {}

const IDENT = /^[a-z][a-z0-9_]*$/;
const CONST_IDENT = /^[A-Z][A-Z0-9_]*$/;

function fail(where: string, message: string): never {
  throw new HalSpecError(`hal spec: ${where}: ${message}`);
}

function asObject(value: unknown, where: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) fail(where, "must be an object");
  return value as Record<string, unknown>;
}

function asArray(value: unknown, where: string): unknown[] {
  if (!Array.isArray(value)) fail(where, "must be an array");
  return value;
}

function asString(value: unknown, where: string, pattern?: RegExp): string {
  if (typeof value !== "string" || value.length === 0) fail(where, "must be a non-empty string");
  if (pattern && !pattern.test(value)) fail(where, `'${value}' must match ${pattern}`);
  return value;
}

function asValueType(value: unknown, where: string): ValueType {
  if (typeof value !== "string" || !VALUE_TYPES.includes(value)) {
    fail(where, `type must be one of ${VALUE_TYPES.join(", ")} (got ${JSON.stringify(value)})`);
  }
  return value as ValueType;
}

function namedValues(value: unknown, where: string): HalNamedValue[] {
  const seen = new Set<string>();
  return asArray(value, where).map((raw, i) => {
    const o = asObject(raw, `${where}[${i}]`);
    const name = asString(o.name, `${where}[${i}].name`, CONST_IDENT);
    if (seen.has(name)) fail(`${where}[${i}]`, `duplicate name ${name}`);
    seen.add(name);
    if (typeof o.value !== "number" || !Number.isInteger(o.value)) fail(`${where}.${name}`, "value must be an integer");
    return { name, value: o.value, doc: asString(o.doc, `${where}.${name}.doc`) };
  });
}

/** Validates parsed JSON as a HAL spec; throws HalSpecError naming the offending entry. */
export function validateHalSpec(json: unknown): HalSpec {
  const root = asObject(json, "root");
  if (root.version !== 1) fail("version", `unsupported HAL spec version ${JSON.stringify(root.version)} (this toolchain knows 1)`);
  const errors = namedValues(root.errors, "errors");
  const constants = namedValues(root.constants, "constants");

  const capabilities = asArray(root.capabilities, "capabilities").map((raw, i) => {
    const o = asObject(raw, `capabilities[${i}]`);
    const cap: HalCapability = { name: asString(o.name, `capabilities[${i}].name`, IDENT), doc: asString(o.doc, `capabilities[${i}].doc`) };
    if (o.resource !== undefined) {
      if (o.resource !== "pin" && o.resource !== "bus") fail(`capabilities.${cap.name}.resource`, "must be \"pin\" or \"bus\"");
      cap.resource = o.resource;
    }
    return cap;
  });
  const capNames = new Set(capabilities.map((c) => c.name));

  const entryPoints = asArray(root.entryPoints, "entryPoints").map((raw, i) => {
    const o = asObject(raw, `entryPoints[${i}]`);
    const name = asString(o.name, `entryPoints[${i}].name`, IDENT);
    const params = asArray(o.params, `entryPoints.${name}.params`).map((p, j) => {
      const po = asObject(p, `entryPoints.${name}.params[${j}]`);
      return { name: asString(po.name, `entryPoints.${name}.params[${j}].name`, IDENT), type: asValueType(po.type, `entryPoints.${name}.params[${j}]`) };
    });
    return { name, params, doc: asString(o.doc, `entryPoints.${name}.doc`) };
  });

  const seenFns = new Set<string>();
  const functions = asArray(root.functions, "functions").map((raw, i) => {
    const o = asObject(raw, `functions[${i}]`);
    const module = asString(o.module, `functions[${i}].module`, IDENT);
    const name = asString(o.name, `functions[${i}].name`, IDENT);
    const where = `functions.${module}.${name}`;
    if (seenFns.has(`${module}.${name}`)) fail(where, "defined twice");
    seenFns.add(`${module}.${name}`);
    const capability = asString(o.capability, `${where}.capability`, IDENT);
    if (!capNames.has(capability)) fail(where, `capability '${capability}' is not declared in "capabilities"`);
    const params: HalParam[] = asArray(o.params, `${where}.params`).map((p, j) => {
      const po = asObject(p, `${where}.params[${j}]`);
      const param: HalParam = { name: asString(po.name, `${where}.params[${j}].name`, IDENT), type: asValueType(po.type, `${where}.params[${j}]`) };
      if (po.ptr !== undefined) {
        if (po.ptr !== true) fail(`${where}.${param.name}`, "ptr must be true when present");
        param.ptr = true;
        param.len = asString(po.len, `${where}.${param.name}.len`, IDENT);
        if (param.type !== "i32") fail(`${where}.${param.name}`, "a pointer must be an i32");
        if (po.out !== undefined) {
          if (typeof po.out !== "boolean") fail(`${where}.${param.name}.out`, "must be a boolean");
          param.out = po.out;
        }
      } else if (po.len !== undefined || po.out !== undefined) {
        fail(`${where}.${param.name}`, "len/out are only meaningful with ptr: true");
      }
      if (po.doc !== undefined) param.doc = asString(po.doc, `${where}.${param.name}.doc`);
      return param;
    });
    const names = new Set<string>();
    for (const p of params) {
      if (names.has(p.name)) fail(where, `duplicate parameter ${p.name}`);
      names.add(p.name);
    }
    const lenUsers = new Set<string>();
    params.forEach((p, j) => {
      if (!p.ptr) return;
      const lenIndex = params.findIndex((q) => q.name === p.len);
      if (lenIndex < 0) fail(`${where}.${p.name}`, `length parameter '${p.len}' does not exist`);
      const lenParam = params[lenIndex]!;
      if (lenParam.type !== "i32" || lenParam.ptr) fail(`${where}.${p.name}`, `length parameter '${p.len}' must be a plain i32`);
      if (lenIndex !== j + 1) fail(`${where}.${p.name}`, `length parameter '${p.len}' must directly follow its pointer`);
      if (lenUsers.has(lenParam.name)) fail(`${where}.${p.name}`, `length parameter '${p.len}' is shared by two pointers`);
      lenUsers.add(lenParam.name);
    });
    const results = asArray(o.results, `${where}.results`).map((r, j) => asValueType(r, `${where}.results[${j}]`));
    if (results.length > 1) fail(where, "at most one result is supported");
    const fn: HalFunction = { module, name, capability, params, results, doc: asString(o.doc, `${where}.doc`) };
    if (o.resourceArg !== undefined) {
      const arg = asString(o.resourceArg, `${where}.resourceArg`, IDENT);
      const p = params.find((q) => q.name === arg);
      if (!p || !p.ptr || p.out) fail(`${where}.resourceArg`, `'${arg}' must name an input pointer parameter`);
      if (!capabilities.find((c) => c.name === capability)?.resource) {
        fail(`${where}.resourceArg`, `capability '${capability}' declares no resource kind`);
      }
      fn.resourceArg = arg;
    }
    return fn;
  });

  return { version: 1, errors, constants, entryPoints, capabilities, functions };
}

/** Reads and validates a hal.json file. */
export function loadHalSpec(path: string): HalSpec {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new HalSpecError(`cannot read HAL spec ${path}: ${(err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new HalSpecError(`HAL spec ${path} is not valid JSON: ${(err as Error).message}`);
  }
  return validateHalSpec(json);
}

/** The parameters with each ptr/len pair folded into one buffer argument, in order. */
export function logicalParams(fn: HalFunction): LogicalParam[] {
  const out: LogicalParam[] = [];
  for (let i = 0; i < fn.params.length; i++) {
    const p = fn.params[i]!;
    if (p.ptr) {
      out.push({ kind: "buffer", buffer: { ptr: p, len: fn.params[i + 1]!, out: p.out === true } });
      i++;
    } else {
      out.push({ kind: "scalar", param: p });
    }
  }
  return out;
}

/** `module.name`, the key apps import by. */
export function qualifiedName(fn: HalFunction): string {
  return `${fn.module}.${fn.name}`;
}

/** The wasm signature in the compact form the C dispatch table uses, e.g. "ii:i" or ":I". */
export function signatureString(fn: HalFunction): string {
  const code = (t: ValueType) => ({ i32: "i", i64: "I", f32: "f", f64: "F" })[t];
  return `${fn.params.map((p) => code(p.type)).join("")}:${fn.results.map(code).join("")}`;
}

/** The modules in the order they first appear in the spec (generators keep this order). */
export function modulesOf(spec: HalSpec): string[] {
  const seen: string[] = [];
  for (const fn of spec.functions) if (!seen.includes(fn.module)) seen.push(fn.module);
  return seen;
}
