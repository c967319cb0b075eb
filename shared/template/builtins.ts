// The functions every template has (Go's text/template funcs.go): and, or, not, len, index,
// slice, call, print, printf, println, html, js, urlquery, and the comparisons.
import { compareStrings, sprint, sprintf, sprintln, typeName } from './fmt.js';
import { isPrint } from './strconv.js';
import { byteAt, byteLength, isAscii, runes, sliceBytes, toBytes } from './utf8.js';
import { GoComplex, type GoFunc, GoFuncError, GoInt, GoMap, GoSlice, type Value } from './value.js';

/** The parameter type of a builtin that takes the operand as it is (Go's reflect.Value). */
export const REFLECT_VALUE = 'reflect.Value';

const UNSIGNED = new Set(['uint', 'uint8', 'uint16', 'uint32', 'uint64', 'uintptr']);

/** exec's isTrue: whether `if` takes the value as true (every kind of Value has a truth). */
export function isTrue(v: Value): boolean {
  if (v === undefined || v === null) return false;
  switch (typeof v) {
    case 'boolean':
      return v;
    case 'string':
      return v.length > 0;
    case 'number':
      return v !== 0;
  }
  if (v instanceof GoInt) return v.value !== 0n;
  if (v instanceof GoSlice) return v.items.length > 0;
  if (v instanceof GoMap) return v.entries.size > 0;
  if (v instanceof GoComplex) return v.re !== 0 || v.im !== 0;
  return v.isZero === undefined ? true : !v.isZero();
}

/** The zero value of a Go type, as reflect.Zero makes it. */
export function zeroValue(typ: string): Value {
  switch (typ) {
    case 'string':
      return '';
    case 'bool':
      return false;
    case 'float64':
    case 'float32':
      return 0;
    case 'int':
    case 'int8':
    case 'int16':
    case 'int32':
    case 'int64':
    case 'uint':
    case 'uint8':
    case 'uint16':
    case 'uint32':
    case 'uint64':
      return new GoInt(0n, typ);
  }
  if (typ.startsWith('[]')) return new GoSlice(typ.slice(2), []);
  if (typ.startsWith('map[string]')) return new GoMap(typ.slice('map[string]'.length), new Map());
  return null;
}

// --- comparison (funcs.go: eq, ne, lt, le, gt, ge) ---

enum Kind {
  Invalid,
  Bool,
  Complex,
  Int,
  Float,
  String,
  Uint,
}

function basicKind(v: Value): Kind {
  switch (typeof v) {
    case 'boolean':
      return Kind.Bool;
    case 'number':
      return Kind.Float;
    case 'string':
      return Kind.String;
  }
  if (v instanceof GoInt) return UNSIGNED.has(v.type) ? Kind.Uint : Kind.Int;
  if (v instanceof GoComplex) return Kind.Complex;
  return Kind.Invalid;
}

const BAD_TYPE = 'invalid type for comparison';
const INCOMPATIBLE = 'incompatible types for comparison';

function intValue(v: Value): bigint {
  return (v as GoInt).value;
}

function eq(arg1: Value, ...arg2: Value[]): boolean {
  if (arg1 === null) arg1 = undefined;
  if (arg2.length === 0) throw new GoFuncError('missing argument for comparison');
  const k1 = basicKind(arg1);
  for (let arg of arg2) {
    if (arg === null) arg = undefined;
    const k2 = basicKind(arg);
    let t = false;
    if (k1 !== k2) {
      if (k1 === Kind.Int && k2 === Kind.Uint) t = intValue(arg1) >= 0n && intValue(arg1) === intValue(arg);
      else if (k1 === Kind.Uint && k2 === Kind.Int)
        t = intValue(arg) >= 0n && intValue(arg1) === intValue(arg);
      else if (arg1 !== undefined && arg !== undefined) throw new GoFuncError(INCOMPATIBLE);
    } else {
      switch (k1) {
        case Kind.Bool:
        case Kind.Float:
        case Kind.String:
          t = arg1 === arg;
          break;
        case Kind.Int:
        case Kind.Uint:
          t = intValue(arg1) === intValue(arg);
          break;
        case Kind.Complex:
          t =
            (arg1 as GoComplex).re === (arg as GoComplex).re &&
            (arg1 as GoComplex).im === (arg as GoComplex).im;
          break;
        default: {
          const kind1 = kindOf(arg1);
          const kind2 = kindOf(arg);
          if (kind1 !== kind2 && kind1 !== 'invalid' && kind2 !== 'invalid') {
            throw new GoFuncError(
              `non-comparable types ${sprint(arg1)}: ${typeName(arg1)}, ${typeName(arg)}: ${sprint(arg)}`,
            );
          }
          if (arg1 === undefined || arg === undefined) t = arg1 === arg;
          else {
            if (arg instanceof GoSlice || arg instanceof GoMap) {
              throw new GoFuncError(`non-comparable type ${sprint(arg)}: ${typeName(arg)}`);
            }
            if (arg1 instanceof GoSlice || arg1 instanceof GoMap) {
              throw new GoFuncError(`comparing uncomparable type ${typeName(arg1)}`);
            }
            t = arg1 === arg;
          }
        }
      }
    }
    if (t) return true;
  }
  return false;
}

function kindOf(v: Value): string {
  if (v === undefined || v === null) return 'invalid';
  if (v instanceof GoSlice) return 'slice';
  if (v instanceof GoMap) return 'map';
  if (typeof v === 'object' && !(v instanceof GoInt)) return v.goKind;
  return typeof v;
}

function lt(arg1: Value, arg2: Value): boolean {
  if (arg1 === null) arg1 = undefined;
  if (arg2 === null) arg2 = undefined;
  const k1 = basicKind(arg1);
  if (k1 === Kind.Invalid) throw new GoFuncError(BAD_TYPE);
  const k2 = basicKind(arg2);
  if (k2 === Kind.Invalid) throw new GoFuncError(BAD_TYPE);
  if (k1 !== k2) {
    if (k1 === Kind.Int && k2 === Kind.Uint) return intValue(arg1) < 0n || intValue(arg1) < intValue(arg2);
    if (k1 === Kind.Uint && k2 === Kind.Int) return intValue(arg2) >= 0n && intValue(arg1) < intValue(arg2);
    throw new GoFuncError(INCOMPATIBLE);
  }
  switch (k1) {
    case Kind.Bool:
    case Kind.Complex:
      throw new GoFuncError(BAD_TYPE);
    case Kind.Float:
      return (arg1 as number) < (arg2 as number);
    case Kind.String:
      return compareStrings(arg1 as string, arg2 as string) < 0;
    default:
      return intValue(arg1) < intValue(arg2);
  }
}

function le(arg1: Value, arg2: Value): boolean {
  return lt(arg1, arg2) || eq(arg1, arg2);
}

// --- index, slice, len ---

function indexArg(index: Value, cap: number): number {
  let x: bigint;
  if (index instanceof GoInt) x = index.value;
  else if (index === undefined) throw new GoFuncError('cannot index slice/array with nil');
  else
    throw new GoFuncError(
      `cannot index slice/array with type ${index === null ? 'interface {}' : typeName(index)}`,
    );
  if (x < 0n || x > BigInt(cap)) throw new GoFuncError(`index out of range: ${x}`);
  return Number(x);
}

function index(item: Value, ...indexes: Value[]): Value {
  if (item === null) item = undefined;
  if (item === undefined) throw new GoFuncError('index of untyped nil');
  for (let ix of indexes) {
    if (ix === null) ix = undefined;
    if (item === null || item === undefined) throw new GoFuncError('index of nil pointer');
    if (typeof item === 'string') {
      const n = byteLength(item);
      const x = indexArg(ix, n);
      if (x >= n) throw new GoFuncError(`reflect: string index out of range`);
      item = new GoInt(BigInt(byteAt(item, x)), 'uint8');
    } else if (item instanceof GoSlice) {
      const x = indexArg(ix, item.items.length);
      if (x >= item.items.length) throw new GoFuncError('reflect: slice index out of range');
      item = item.items[x];
    } else if (item instanceof GoMap) {
      if (ix === undefined) throw new GoFuncError('value is nil; should be of type string');
      if (typeof ix !== 'string') throw new GoFuncError(`value has type ${typeName(ix)}; should be string`);
      item = item.entries.has(ix) ? item.entries.get(ix) : zeroValue(item.elem);
    } else throw new GoFuncError(`can't index item of type ${typeName(item)}`);
  }
  return item;
}

function slice(item: Value, ...indexes: Value[]): Value {
  if (item === null) item = undefined;
  if (item === undefined) throw new GoFuncError('slice of untyped nil');
  if (indexes.length > 3) throw new GoFuncError(`too many slice indexes: ${indexes.length}`);
  let cap: number;
  let len: number;
  if (typeof item === 'string') {
    if (indexes.length === 3) throw new GoFuncError('cannot 3-index slice a string');
    cap = len = byteLength(item);
  } else if (item instanceof GoSlice) cap = len = item.items.length;
  else throw new GoFuncError(`can't slice item of type ${typeName(item)}`);
  const idx = [0, len, 0];
  indexes.forEach((ix, i) => {
    idx[i] = indexArg(ix, cap);
  });
  const [i, j, k] = idx as [number, number, number];
  if (i > j) throw new GoFuncError(`invalid slice index: ${i} > ${j}`);
  if (indexes.length === 3 && j > k) throw new GoFuncError(`invalid slice index: ${j} > ${k}`);
  if (typeof item === 'string') return sliceBytes(item, i, j);
  return new GoSlice(item.elem, item.items.slice(i, j));
}

function length(item: Value): Value {
  if (item === null) throw new GoFuncError('len of nil pointer');
  if (item === undefined) throw new GoFuncError('reflect: call of reflect.Value.Type on zero Value');
  if (typeof item === 'string') return new GoInt(BigInt(byteLength(item)));
  if (item instanceof GoSlice) return new GoInt(BigInt(item.items.length));
  if (item instanceof GoMap) return new GoInt(BigInt(item.entries.size));
  throw new GoFuncError(`len of type ${typeName(item)}`);
}

// --- escapers ---

/** evalArgs: one string operand as it is, anything else printed as Sprint prints it. */
function evalArgs(args: Value[]): string {
  if (args.length === 1 && typeof args[0] === 'string') return args[0];
  return sprint(...args.map((a) => (a === null || a === undefined ? '<no value>' : a)));
}

const HTML_ESCAPES: Record<string, string> = {
  '\0': '\ufffd',
  '"': '&#34;',
  "'": '&#39;',
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
};

/** template.HTMLEscapeString. */
export function htmlEscape(s: string): string {
  return s.replace(/[\0"'&<>]/g, (c) => HTML_ESCAPES[c] as string);
}

const JS_ESCAPES: Record<string, string> = {
  '\\': '\\\\',
  "'": "\\'",
  '"': '\\"',
  '<': '\\u003C',
  '>': '\\u003E',
  '&': '\\u0026',
  '=': '\\u003D',
};

/** template.JSEscapeString. */
export function jsEscape(s: string): string {
  let out = '';
  for (const r of runes(s)) {
    const c = r.rune;
    if (r.invalid) {
      // An invalid byte decodes as U+FFFD, which is printable: Go writes the byte back.
      out += r.text;
    } else if (c < 0x80) {
      const ch = String.fromCharCode(c);
      const e = JS_ESCAPES[ch];
      if (e !== undefined) out += e;
      else if (c < 0x20) out += `\\u00${c.toString(16).toUpperCase().padStart(2, '0')}`;
      else out += ch;
    } else if (isPrint(c)) out += r.text;
    else out += `\\u${c.toString(16).toUpperCase().padStart(4, '0')}`;
  }
  return out;
}

const URL_UNRESERVED = /^[A-Za-z0-9\-_.~]$/;

/** url.QueryEscape. */
export function queryEscape(s: string): string {
  if (isAscii(s) && /^[A-Za-z0-9\-_.~]*$/.test(s)) return s;
  let out = '';
  for (const b of toBytes(s)) {
    const c = String.fromCharCode(b);
    if (b < 0x80 && URL_UNRESERVED.test(c)) out += c;
    else if (c === ' ') out += '+';
    else out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

const RV = REFLECT_VALUE;
const ANY = 'interface {}';

function unreachable(): never {
  throw new Error('and/or are evaluated by the executor');
}

/** The builtin functions, by name. `and` and `or` are evaluated lazily by the executor. */
export function builtinFuncs(): Record<string, GoFunc> {
  return {
    and: { params: [RV], variadic: RV, result: RV, call: unreachable },
    or: { params: [RV], variadic: RV, result: RV, call: unreachable },
    call: {
      params: [RV],
      variadic: RV,
      result: RV,
      canFail: true,
      call: (fn: Value) => {
        if (fn === null || fn === undefined) throw new GoFuncError('call of nil');
        throw new GoFuncError(`non-function of type ${typeName(fn)}`);
      },
    },
    html: { params: [], variadic: ANY, result: 'string', call: (...a: Value[]) => htmlEscape(evalArgs(a)) },
    index: { params: [RV], variadic: RV, result: RV, canFail: true, call: index },
    slice: { params: [RV], variadic: RV, result: RV, canFail: true, call: slice },
    js: { params: [], variadic: ANY, result: 'string', call: (...a: Value[]) => jsEscape(evalArgs(a)) },
    len: { params: [RV], result: 'int', canFail: true, call: length },
    not: { params: [RV], result: 'bool', call: (a: Value) => !isTrue(a) },
    print: { params: [], variadic: ANY, result: 'string', call: (...a: Value[]) => sprint(...a) },
    printf: {
      params: ['string'],
      variadic: ANY,
      result: 'string',
      call: (f: Value, ...a: Value[]) => sprintf(f as string, ...a),
    },
    println: { params: [], variadic: ANY, result: 'string', call: (...a: Value[]) => sprintln(...a) },
    urlquery: {
      params: [],
      variadic: ANY,
      result: 'string',
      call: (...a: Value[]) => queryEscape(evalArgs(a)),
    },
    eq: { params: [RV], variadic: RV, result: 'bool', canFail: true, call: eq },
    ge: { params: [RV, RV], result: 'bool', canFail: true, call: (a: Value, b: Value) => !lt(a, b) },
    gt: { params: [RV, RV], result: 'bool', canFail: true, call: (a: Value, b: Value) => !le(a, b) },
    le: { params: [RV, RV], result: 'bool', canFail: true, call: le },
    lt: { params: [RV, RV], result: 'bool', canFail: true, call: lt },
    ne: { params: [RV, RV], result: 'bool', canFail: true, call: (a: Value, b: Value) => !eq(a, b) },
  };
}
