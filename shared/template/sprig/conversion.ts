// Value conversions with spf13/cast's semantics (what sprig's int, int64, float64 and the math
// functions apply to interface{} arguments), and sprig's strval/strslice.
import { sprint } from '../fmt.js';
import { GoInt, GoSlice, type Value } from '../value.js';
import { def, goInt, goInt64, str, strings } from './go.js';
import { goAtoi, goParseFloat, goParseInt } from './strconv.js';

const MIN_INT64 = -(1n << 63n);

/** Go's float64 → int64 conversion on amd64: truncation, and 0x8000000000000000 when out of range. */
function floatToInt64(f: number): bigint {
  if (!Number.isFinite(f) || f >= 2 ** 63 || f < -(2 ** 63)) return MIN_INT64;
  return BigInt(Math.trunc(f));
}

// cast's trimZeroDecimal: "3.00" → "3", so "3.0" casts to an integer.
function trimZeroDecimal(s: string): string {
  let foundZero = false;
  for (let i = s.length; i > 0; i--) {
    const c = s[i - 1];
    if (c === '.') {
      if (foundZero) return s.slice(0, i - 1);
    } else if (c === '0') foundZero = true;
    else return s;
  }
  return s;
}

/** cast.ToInt64 (errors give 0). */
export function toInt64(v: Value): bigint {
  if (v instanceof GoInt) return BigInt.asIntN(64, v.value);
  if (typeof v === 'number') return floatToInt64(v);
  if (typeof v === 'string') {
    const parsed = goParseInt(trimZeroDecimal(v), 0, 64);
    return parsed === undefined || parsed.range ? 0n : parsed.value;
  }
  if (typeof v === 'boolean') return v ? 1n : 0n;
  return 0n;
}

/** cast.ToFloat64 (errors give 0). */
export function toFloat64(v: Value): number {
  if (typeof v === 'number') return v;
  if (v instanceof GoInt) return Number(v.value);
  if (typeof v === 'string') return goParseFloat(v) ?? 0;
  if (typeof v === 'boolean') return v ? 1 : 0;
  return 0;
}

/** sprig's strval: strings as they are, Stringers by String(), everything else as %v prints it. */
export function strval(v: Value): string {
  if (typeof v === 'string') return v;
  return sprint(v ?? null);
}

/** sprig's strslice: a list's non-nil items as strings; nil is empty; anything else one string. */
export function strslice(v: Value): string[] {
  if (v instanceof GoSlice) {
    if (v.elem === 'string') return v.items.map((s) => s as string);
    return v.items.filter((i) => i !== null && i !== undefined).map(strval);
  }
  if (v === null || v === undefined) return [];
  return [strval(v)];
}

export function conversionFuncs() {
  return {
    atoi: def(['string'], 'int', (s) => goInt(goAtoi(str(s))?.value ?? 0n)),
    int64: def(['interface {}'], 'int64', (v) => goInt64(toInt64(v))),
    int: def(['interface {}'], 'int', (v) => goInt(toInt64(v))),
    float64: def(['interface {}'], 'float64', (v) => toFloat64(v)),
    toDecimal: def(['interface {}'], 'int64', (v) => {
      const parsed = goParseInt(sprint(v ?? null), 8, 64);
      return goInt64(parsed === undefined || parsed.range ? 0n : parsed.value);
    }),
    toString: def(['interface {}'], 'string', (v) => strval(v)),
    toStrings: def(['interface {}'], '[]string', (v) => strings(strslice(v))),
  };
}
