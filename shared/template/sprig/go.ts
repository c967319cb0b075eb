// What every sprig function is built from: Go signatures as GoFuncs, the argument conversions
// sprig's Go parameters imply, Go's byte-oriented strings, and the limits that keep hostile
// templates from exhausting memory.
import { byteLength, fromBytes, isAscii, sliceBytes, toBytes } from '../utf8.js';
import { type GoFunc, GoFuncError, GoInt, GoMap, GoSlice, type GoType, type Value } from '../value.js';

/** Largest string a sprig function builds (UTF-16 code units, about bytes for ASCII). */
export const MAX_OUTPUT = 16 * 1024 * 1024;
/** Largest list a sprig function builds. */
export const MAX_ITEMS = 1_000_000;

interface Extra {
  variadic?: GoType;
  canFail?: boolean;
}

/** A sprig function: a Go signature and its implementation (nil arrives as null). */
class SprigFunc implements GoFunc {
  readonly variadic: GoType | undefined;
  readonly canFail: boolean;

  constructor(
    readonly params: readonly GoType[],
    readonly result: GoType,
    private readonly impl: (...args: Value[]) => Value,
    extra: Extra,
  ) {
    this.variadic = extra.variadic;
    this.canFail = extra.canFail === true;
  }

  call(...args: Value[]): Value {
    for (let i = 0; i < args.length; i++) if (args[i] === undefined) args[i] = null;
    return this.impl(...args);
  }
}

const NO_EXTRA: Extra = {};

/** A GoFunc; the engine has converted each argument to its declared Go type. */
export function def(
  params: readonly GoType[],
  result: GoType,
  call: (...args: Value[]) => Value,
  extra: Extra = NO_EXTRA,
): GoFunc {
  return new SprigFunc(params, result, call, extra);
}

/** Go's `panic` or returned error inside a function: the template stops with it. */
export function fail(message: string): never {
  throw new GoFuncError(message);
}

export function checkSize(s: string, what: string): string {
  if (s.length > MAX_OUTPUT) fail(`${what}: result larger than ${MAX_OUTPUT} bytes`);
  return s;
}

export function checkLength(n: number, what: string): void {
  if (n > MAX_OUTPUT) fail(`${what}: result larger than ${MAX_OUTPUT} bytes`);
}

export function checkItems(n: number, what: string): void {
  if (n > MAX_ITEMS) fail(`${what}: more than ${MAX_ITEMS} items`);
}

// --- arguments already converted to their Go parameter types -----------------------------------

export function str(v: Value): string {
  if (typeof v === 'string') return v;
  throw new TypeError(`sprig: expected a string argument, got ${describe(v)}`);
}

/** A Go `int` argument as a JS number (exact up to 2^53; larger ones only feed limits). */
export function int(v: Value): number {
  if (v instanceof GoInt) return Number(v.value);
  if (typeof v === 'number') return Math.trunc(v);
  throw new TypeError(`sprig: expected an int argument, got ${describe(v)}`);
}

export function bigint(v: Value): bigint {
  if (v instanceof GoInt) return v.value;
  if (typeof v === 'number') return BigInt(Math.trunc(v));
  throw new TypeError(`sprig: expected an int argument, got ${describe(v)}`);
}

export function bool(v: Value): boolean {
  if (typeof v === 'boolean') return v;
  throw new TypeError(`sprig: expected a bool argument, got ${describe(v)}`);
}

export function float(v: Value): number {
  if (typeof v === 'number') return v;
  if (v instanceof GoInt) return Number(v.value);
  throw new TypeError(`sprig: expected a float64 argument, got ${describe(v)}`);
}

/** A `map[string]interface{}` argument; nil is Go's nil map (reads as empty). */
export function dictArg(v: Value): GoMap {
  if (v instanceof GoMap) return v;
  if (v === null) return new GoMap('interface {}', new Map());
  throw new TypeError(`sprig: expected a map argument, got ${describe(v)}`);
}

function describe(v: Value): string {
  if (v === null || v === undefined) return String(v);
  if (typeof v === 'object') return v.constructor?.name ?? 'object';
  return typeof v;
}

// --- results ------------------------------------------------------------------------------------

export const goInt = (n: number | bigint): GoInt => new GoInt(BigInt(n), 'int');
export const goInt64 = (n: bigint): GoInt => new GoInt(n, 'int64');
export const strings = (items: readonly string[]): GoSlice => new GoSlice('string', [...items]);
export const ifaces = (items: Value[]): GoSlice => new GoSlice('interface {}', items);

/** int64 arithmetic wraps around as Go's does. */
export const wrap64 = (n: bigint): bigint => BigInt.asIntN(64, n);

// --- Go strings are UTF-8 bytes (see ../utf8.ts: bytes that are not UTF-8 are kept as escapes) ---

export { byteLength } from '../utf8.js';
export const utf8 = (s: string): Uint8Array => toBytes(s);
export const fromUtf8 = (b: Uint8Array): string => fromBytes(b);

/** s[start:end] in Go (byte offsets); out-of-range bounds are Go's runtime panic. */
export function byteSlice(s: string, start: number, end?: number): string {
  const len = byteLength(s);
  const e = end ?? len;
  if (start < 0 || e > len || start > e) {
    fail(`runtime error: slice bounds out of range [${start}:${e}] with length ${len}`);
  }
  return sliceBytes(s, start, e);
}

/** strings.Repeat with the output limit. */
export function repeat(s: string, count: number, what: string): string {
  if (count < 0) fail('strings: negative Repeat count');
  if (s.length === 0 || count === 0) return '';
  checkLength(s.length * count, what);
  return s.repeat(count);
}

/** strings.Split(s, sep) (sep "" splits into UTF-8 sequences, i.e. runes). */
export function split(s: string, sep: string, n = -1): string[] {
  if (n === 0) return [];
  if (sep === '') {
    const rs = Array.from(s);
    if (n < 0 || n >= rs.length) return rs;
    return [...rs.slice(0, n - 1), rs.slice(n - 1).join('')];
  }
  const parts: string[] = [];
  let from = 0;
  while (n < 0 || parts.length < n - 1) {
    const at = s.indexOf(sep, from);
    if (at < 0) break;
    parts.push(s.slice(from, at));
    from = at + sep.length;
  }
  parts.push(s.slice(from));
  return parts;
}

/** Makes a GoMap of strings (map[string]string). */
export function stringMap(entries: Iterable<[string, string]>): GoMap {
  return new GoMap('string', new Map<string, Value>(entries));
}

// --- bytes as a "binary string": one char per UTF-8 byte, so Go's byte indexing ports directly ---

export function toBinary(s: string): string {
  if (isAscii(s)) return s;
  const bytes = toBytes(s);
  let out = '';
  for (let i = 0; i < bytes.length; i += 8192) out += String.fromCharCode(...bytes.subarray(i, i + 8192));
  return out;
}

export function fromBinary(b: string): string {
  if (isAscii(b)) return b;
  const bytes = new Uint8Array(b.length);
  for (let i = 0; i < b.length; i++) bytes[i] = b.charCodeAt(i);
  return fromBytes(bytes);
}
