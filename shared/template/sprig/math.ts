// Sprig's arithmetic (numeric.go and functions.go): int64 math with Go's wrap-around and
// division panics, float math through shopspring/decimal as sprig does it, ranges, and rounding
// with Go's own math.Pow.
import { GoSlice, type Value } from '../value.js';
import { toFloat64, toInt64 } from './conversion.js';
import { bigint, checkItems, def, fail, float, goInt, goInt64, int, wrap64 } from './go.js';

// --- shopspring/decimal, the part sprig uses -----------------------------------------------------

interface Decimal {
  value: bigint;
  exp: number;
}

const pow10 = (n: number): bigint => 10n ** BigInt(n);

/** decimal.NewFromFloat: the shortest decimal that reads back as f. */
function fromFloat(f: number): Decimal {
  if (!Number.isFinite(f))
    fail(`Cannot create a Decimal from ${Number.isNaN(f) ? 'NaN' : f > 0 ? '+Inf' : '-Inf'}`);
  if (f === 0) return { value: 0n, exp: 0 };
  const [mant = '', e = '0'] = f.toExponential().split('e');
  const digits = mant.replace('-', '').replace('.', '');
  const value = BigInt(digits) * (f < 0 ? -1n : 1n);
  return { value, exp: Number(e) + 1 - digits.length };
}

function rescalePair(a: Decimal, b: Decimal): [bigint, bigint, number] {
  const exp = Math.min(a.exp, b.exp);
  return [a.value * pow10(a.exp - exp), b.value * pow10(b.exp - exp), exp];
}

const add = (a: Decimal, b: Decimal): Decimal => {
  const [x, y, exp] = rescalePair(a, b);
  return { value: x + y, exp };
};
const sub = (a: Decimal, b: Decimal): Decimal => {
  const [x, y, exp] = rescalePair(a, b);
  return { value: x - y, exp };
};
const mul = (a: Decimal, b: Decimal): Decimal => ({ value: a.value * b.value, exp: a.exp + b.exp });

const DIVISION_PRECISION = 16;

function div(d: Decimal, d2: Decimal): Decimal {
  if (d2.value === 0n) fail('decimal division by 0');
  const precision = DIVISION_PRECISION;
  const scale = -precision;
  const e = d.exp - d2.exp - scale;
  let aa: bigint;
  let bb: bigint;
  let scalerest: number;
  if (e < 0) {
    aa = d.value;
    bb = d2.value * pow10(-e);
    scalerest = d.exp;
  } else {
    aa = d.value * pow10(e);
    bb = d2.value;
    scalerest = scale + d2.exp;
  }
  const q: Decimal = { value: aa / bb, exp: scale };
  const r: Decimal = { value: aa % bb, exp: scalerest };
  const abs = (n: bigint) => (n < 0n ? -n : n);
  const r2: Decimal = { value: abs(r.value) * 2n, exp: r.exp + precision };
  const [x, y] = rescalePair(r2, { value: abs(d2.value), exp: d2.exp });
  if (x < y) return q;
  const one: Decimal = { value: 1n, exp: -precision };
  const negative = d.value < 0n !== d2.value < 0n && d.value !== 0n;
  return negative ? sub(q, one) : add(q, one);
}

const toFloat = (d: Decimal): number => Number(`${d.value}e${d.exp}`);

function decimalOp(a: Value, rest: Value[], op: (x: Decimal, y: Decimal) => Decimal): number {
  let acc = fromFloat(toFloat64(a));
  for (const x of rest) acc = op(acc, fromFloat(toFloat64(x)));
  return toFloat(acc);
}

// --- Go's math ------------------------------------------------------------------------------

function frexp(f: number): [number, number] {
  if (f === 0 || !Number.isFinite(f)) return [f, 0];
  let e = Math.max(-1073, Math.floor(Math.log2(Math.abs(f))) + 1);
  let frac = ldexp(f, -e);
  while (Math.abs(frac) < 0.5) {
    frac *= 2;
    e--;
  }
  while (Math.abs(frac) >= 1) {
    frac /= 2;
    e++;
  }
  return [frac, e];
}

function ldexp(frac: number, e: number): number {
  let x = frac;
  while (e > 1000) {
    x *= 2 ** 1000;
    e -= 1000;
    if (!Number.isFinite(x)) return x;
  }
  while (e < -1000) {
    x *= 2 ** -1000;
    e += 1000;
    if (x === 0) return x;
  }
  return x * 2 ** e;
}

/** math.Pow as Go computes it (repeated squaring for the integer part of y). */
function goPow(x: number, y: number): number {
  if (y === 0 || x === 1) return 1;
  if (y === 1) return x;
  if (Number.isNaN(x) || Number.isNaN(y)) return Number.NaN;
  if (x === 0 || !Number.isFinite(y) || !Number.isFinite(x)) return x ** y;
  if (y === 0.5) return Math.sqrt(x);
  if (y === -0.5) return 1 / Math.sqrt(x);
  let yi = Math.trunc(Math.abs(y));
  let yf = Math.abs(y) - yi;
  if (yf !== 0 && x < 0) return Number.NaN;
  if (yi >= 2 ** 63) return x ** y;
  let a1 = 1.0;
  let ae = 0;
  if (yf !== 0) {
    if (yf > 0.5) {
      yf--;
      yi++;
    }
    a1 = Math.exp(yf * Math.log(x));
  }
  let [x1, xe] = frexp(x);
  for (let i = BigInt(yi); i !== 0n; i >>= 1n) {
    if (xe < -(1 << 12) || 1 << 12 < xe) {
      ae += xe;
      break;
    }
    if ((i & 1n) === 1n) {
      a1 *= x1;
      ae += xe;
    }
    x1 *= x1;
    xe <<= 1;
    if (x1 < 0.5) {
      x1 += x1;
      xe--;
    }
  }
  if (y < 0) {
    a1 = 1 / a1;
    ae = -ae;
  }
  return ldexp(a1, ae);
}

// int64 maximum and minimum (Math.max does not take bigints).
const bigMax = (m: bigint, b: bigint): bigint => (b > m ? b : m);
const bigMin = (m: bigint, b: bigint): bigint => (b < m ? b : m);

/** math.Max, whose +Inf wins over NaN. */
function goMax(x: number, y: number): number {
  if (x === Infinity || y === Infinity) return Infinity;
  if (Number.isNaN(x) || Number.isNaN(y)) return Number.NaN;
  if (x === 0 && x === y) return Object.is(x, -0) ? y : x;
  return Math.max(x, y);
}

/** math.Min, whose -Inf wins over NaN. */
function goMin(x: number, y: number): number {
  if (x === -Infinity || y === -Infinity) return -Infinity;
  if (Number.isNaN(x) || Number.isNaN(y)) return Number.NaN;
  if (x === 0 && x === y) return Object.is(x, -0) ? x : y;
  return Math.min(x, y);
}

function round(a: Value, p: number, roundOn: number): number {
  const val = toFloat64(a);
  const pow = goPow(10, p);
  const digit = pow * val;
  const frac = Number.isFinite(digit) ? digit - Math.trunc(digit) : Number.NaN;
  const r = frac >= roundOn ? Math.ceil(digit) : Math.floor(digit);
  return r / pow;
}

// --- ranges ---------------------------------------------------------------------------------------

/** sprig's untilStep, refusing ranges over the item limit. */
function untilStep(start: bigint, stop: bigint, step: bigint): bigint[] {
  let count = 0n;
  if (stop < start) {
    if (step >= 0n) return [];
    count = (start - stop + (-step - 1n)) / -step;
  } else {
    if (step <= 0n) return [];
    count = (stop - start + (step - 1n)) / step;
  }
  checkItems(Number(count), 'range');
  const n = Number(count);
  const out = new Array<bigint>(n);
  const safe = (x: bigint) => x >= BigInt(Number.MIN_SAFE_INTEGER) && x <= BigInt(Number.MAX_SAFE_INTEGER);
  if (safe(start) && safe(stop) && safe(step)) {
    // BigInt arithmetic allocates on every step; numbers are exact in this range.
    const s0 = Number(start);
    const d = Number(step);
    for (let i = 0; i < n; i++) out[i] = BigInt(s0 + i * d);
  } else {
    for (let i = 0, v = start; i < n; i++, v += step) out[i] = v;
  }
  return out;
}

const intSlice = (ns: bigint[]): GoSlice =>
  new GoSlice(
    'int',
    ns.map((n) => goInt(n)),
  );

function seq(params: bigint[]): string {
  let list: bigint[];
  switch (params.length) {
    case 1: {
      const end = params[0] ?? 0n;
      const inc = end < 1n ? -1n : 1n;
      list = untilStep(1n, end + inc, inc);
      break;
    }
    case 2: {
      const [start = 0n, end = 0n] = params;
      const step = end < start ? -1n : 1n;
      list = untilStep(start, end + step, step);
      break;
    }
    case 3: {
      const [start = 0n, step = 0n, end = 0n] = params;
      let inc = 1n;
      if (end < start) {
        inc = -1n;
        if (step > 0n) return '';
      }
      list = untilStep(start, end + inc, step);
      break;
    }
    default:
      return '';
  }
  return list.join(' ');
}

export function mathFuncs() {
  const i64 = (n: bigint) => goInt64(wrap64(n));
  const floatOp = (op: (x: Decimal, y: Decimal) => Decimal) =>
    def(['interface {}'], 'float64', (a, ...rest) => decimalOp(a, rest, op), { variadic: 'interface {}' });
  const maxInt = def(
    ['interface {}'],
    'int64',
    (a, ...rest) => goInt64(rest.map(toInt64).reduce(bigMax, toInt64(a))),
    { variadic: 'interface {}' },
  );
  return {
    add1: def(['interface {}'], 'int64', (a) => i64(toInt64(a) + 1n)),
    add: def([], 'int64', (...xs) => i64(xs.reduce((s: bigint, x) => wrap64(s + toInt64(x)), 0n)), {
      variadic: 'interface {}',
    }),
    sub: def(['interface {}', 'interface {}'], 'int64', (a, b) => i64(toInt64(a) - toInt64(b))),
    div: def(['interface {}', 'interface {}'], 'int64', (a, b) => {
      const y = toInt64(b);
      if (y === 0n) fail('runtime error: integer divide by zero');
      return i64(toInt64(a) / y);
    }),
    mod: def(['interface {}', 'interface {}'], 'int64', (a, b) => {
      const y = toInt64(b);
      if (y === 0n) fail('runtime error: integer divide by zero');
      return i64(toInt64(a) % y);
    }),
    mul: def(
      ['interface {}'],
      'int64',
      (a, ...rest) => i64(rest.reduce((p: bigint, x) => wrap64(p * toInt64(x)), toInt64(a))),
      { variadic: 'interface {}' },
    ),
    randInt: def(['int', 'int'], 'int', (lo, hi) => {
      const min = bigint(lo);
      const n = wrap64(bigint(hi) - min);
      if (n <= 0n) fail('invalid argument to Intn');
      const r = BigInt(Math.floor(Math.random() * Number(n)));
      return goInt(wrap64((r < n ? r : n - 1n) + min));
    }),
    add1f: def(['interface {}'], 'float64', (a) => decimalOp(a, [goInt(1)], add)),
    addf: def([], 'float64', (...xs) => decimalOp(0, xs, add), { variadic: 'interface {}' }),
    subf: floatOp(sub),
    divf: floatOp(div),
    mulf: floatOp(mul),
    biggest: maxInt,
    max: maxInt,
    min: def(
      ['interface {}'],
      'int64',
      (a, ...rest) => goInt64(rest.map(toInt64).reduce(bigMin, toInt64(a))),
      { variadic: 'interface {}' },
    ),
    maxf: def(['interface {}'], 'float64', (a, ...rest) => rest.map(toFloat64).reduce(goMax, toFloat64(a)), {
      variadic: 'interface {}',
    }),
    minf: def(['interface {}'], 'float64', (a, ...rest) => rest.map(toFloat64).reduce(goMin, toFloat64(a)), {
      variadic: 'interface {}',
    }),
    ceil: def(['interface {}'], 'float64', (a) => Math.ceil(toFloat64(a))),
    floor: def(['interface {}'], 'float64', (a) => Math.floor(toFloat64(a))),
    round: def(
      ['interface {}', 'int'],
      'float64',
      (a, p, ...opt) => round(a, int(p), opt.length > 0 ? float(opt[0] ?? 0) : 0.5),
      {
        variadic: 'float64',
      },
    ),
    seq: def([], 'string', (...ps) => seq(ps.map(bigint)), { variadic: 'int' }),
    until: def(['int'], '[]int', (c) => {
      const count = bigint(c);
      return intSlice(untilStep(0n, count, count < 0n ? -1n : 1n));
    }),
    untilStep: def(['int', 'int', 'int'], '[]int', (a, b, c) =>
      intSlice(untilStep(bigint(a), bigint(b), bigint(c))),
    ),
  };
}
