// The Go values a template sees and makes, modelled closely enough that printing, comparison,
// function-argument conversion, `typeOf`/`kindOf` and errors behave as in Go. This module (like
// the whole of shared/template) imports nothing from the rest of the project: it also runs in
// the browser.
//
//   Go                         here
//   invalid reflect.Value      undefined   (a missing map key; prints "<no value>")
//   nil (interface{})          null
//   bool                       boolean
//   string                     string
//   float64                    number      (every JSON number is a float64, as in encoding/json)
//   int, int64, uint8, …       GoInt       (exact, as bigint, with its Go type)
//   []T                        GoSlice     (T named, e.g. "interface {}", "string", "int")
//   map[string]T               GoMap       (iteration and printing in sorted key order)
//   anything else              GoObject    (time.Time, *semver.Version, certificates, …)
//
// Strings are Go's byte strings: see utf8.ts for how bytes that are not valid UTF-8 are kept
// (len, slicing and %x count bytes; utf8.ts has byteLength, sliceBytes, toBytes, fromBytes).

import { formatFloat } from './strconv.js';
import { fromBytes, wellFormed } from './utf8.js';

export type IntType =
  | 'int'
  | 'int8'
  | 'int16'
  | 'int32'
  | 'int64'
  | 'uint'
  | 'uint8'
  | 'uint16'
  | 'uint32'
  | 'uint64';

export class GoInt {
  constructor(
    readonly value: bigint,
    readonly type: IntType = 'int',
  ) {}
}

export class GoSlice {
  constructor(
    /** Go's name of the element type: "interface {}", "string", "int", "uint8", … */
    readonly elem: string,
    readonly items: Value[],
  ) {}
}

export class GoMap {
  constructor(
    /** Go's name of the element type: "interface {}" or "string". Keys are always strings. */
    readonly elem: string,
    readonly entries: Map<string, Value>,
  ) {}
}

/** A Go value of another type: a struct or pointer with fields and methods. */
export interface GoObject {
  /** Go's type name as `%T` prints it, e.g. "time.Time", "*semver.Version". */
  readonly goType: string;
  /** reflect.Kind name as sprig's kindOf prints it, e.g. "struct", "ptr". */
  readonly goKind: string;
  /** An exported field, or undefined when there is none. */
  field?(name: string): Value | undefined;
  /** An exported method, or undefined when there is none. */
  method?(name: string): GoFunc | undefined;
  /** What fmt's %v (and so template printing) prints for it. */
  format(): string;
  /**
   * Whether `if` finds it empty, as Go's truth test does for its kind (a zero number or
   * duration, an empty string, a nil pointer). Absent: never empty, like a struct.
   */
  isZero?(): boolean;
}

export type Value = undefined | null | boolean | string | number | GoInt | GoSlice | GoMap | GoObject;

/** Go parameter and result types a function declares; the engine converts arguments to them as Go's reflect would. */
export type GoType = string; // "string", "int", "int64", "float64", "bool", "interface {}", "[]interface {}", "[]string", "map[string]interface {}", …

/** A template function as Go's FuncMap holds it: a typed signature and an implementation. */
export interface GoFunc {
  readonly params: readonly GoType[];
  /** Element type of a trailing `...T` parameter, when the function is variadic. */
  readonly variadic?: GoType;
  /** The first result's type. */
  readonly result: GoType;
  /** Whether Go's function returns a second `error` result (thrown here as GoFuncError). */
  readonly canFail?: boolean;
  call(...args: Value[]): Value;
}

/** The error a GoFunc throws for Go's non-nil `error` result; the engine reports "error calling NAME: message". */
export class GoFuncError extends Error {}

/**
 * Go's value from a decoded JSON document, as encoding/json's Unmarshal into interface{} makes it
 * (lone surrogates, which Go's decoder cannot produce, become U+FFFD).
 */
export function fromJson(json: unknown): Value {
  if (json === null || json === undefined) return null;
  if (typeof json === 'string') return wellFormed(json);
  if (Array.isArray(json)) return new GoSlice('interface {}', json.map(fromJson));
  if (typeof json === 'object') {
    const entries = new Map<string, Value>();
    for (const [key, item] of Object.entries(json as Record<string, unknown>))
      entries.set(wellFormed(key), fromJson(item));
    return new GoMap('interface {}', entries);
  }
  if (typeof json === 'boolean' || typeof json === 'number') return json;
  throw new TypeError(`not a JSON value: ${typeof json}`);
}

/** complex128, what a template's imaginary constants (`2i`, `1+2i`) are. */
export class GoComplex implements GoObject {
  readonly goType = 'complex128';
  readonly goKind = 'complex128';
  constructor(
    readonly re: number,
    readonly im: number,
  ) {}
  format(): string {
    const im = formatFloat(this.im, 'g', -1);
    return `(${formatFloat(this.re, 'g', -1)}${im[0] === '-' || im[0] === '+' ? '' : '+'}${im}i)`;
  }
}

/** Whether a value is a GoObject (rather than one of the other kinds of Value). */
export function isGoObject(v: Value): v is GoObject {
  return (
    typeof v === 'object' &&
    v !== null &&
    !(v instanceof GoInt) &&
    !(v instanceof GoSlice) &&
    !(v instanceof GoMap)
  );
}

/** How deeply a JSON document may nest (Go's encoding/json allows 10000). */
export const MAX_JSON_DEPTH = 10000;

/**
 * Go's json.Unmarshal into interface{} of a document's bytes: throws a SyntaxError or RangeError
 * for what Go rejects (bad syntax, numbers beyond float64, nesting deeper than 10000 levels).
 */
export function decodeJson(bytes: Uint8Array): Value {
  const json: unknown = JSON.parse(fromBytes(bytes));
  const stack: Array<[unknown, number]> = [[json, 1]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop() as [unknown, number];
    if (typeof v === 'number' && !Number.isFinite(v))
      throw new RangeError('a number is out of the float64 range');
    if (typeof v === 'object' && v !== null) {
      if (depth > MAX_JSON_DEPTH) throw new RangeError(`nested deeper than ${MAX_JSON_DEPTH} levels`);
      for (const item of Object.values(v)) stack.push([item, depth + 1]);
    }
  }
  return fromJson(json);
}
