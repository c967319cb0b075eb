// Go's strconv for the template engine: formatting floats exactly as FormatFloat does, quoting
// strings and runes, and reading Go literals (quoted strings, character constants, numbers).
import { canonical, decodeRune, fromBytes, RUNE_ERROR, toBytes } from './utf8.js';

/** Decimal digits of a non-negative float: value = 0.d1d2d3… × 10^dp; no trailing zeros. */
interface Decimal {
  d: string;
  dp: number;
}

/** The shortest digits that read back as `x` (as Ryu and JS's Number#toString both find). */
function shortestDecimal(x: number): Decimal {
  if (x === 0) return { d: '', dp: 0 };
  const s = x.toExponential();
  const e = s.indexOf('e');
  const digits = s[1] === '.' ? (s[0] as string) + s.slice(2, e) : s.slice(0, e);
  return { d: digits, dp: Number(s.slice(e + 1)) + 1 };
}

const F64 = new Float64Array(1);
const U64 = new BigUint64Array(F64.buffer);

/** mant × 2^exp with mant < 2^53, the exact binary value of a finite float's magnitude. */
function binary(x: number): { mant: bigint; exp: number } {
  F64[0] = x;
  const bits = U64[0] as bigint;
  const biased = Number((bits >> 52n) & 0x7ffn);
  let mant = bits & ((1n << 52n) - 1n);
  let exp: number;
  if (biased === 0) exp = -1074;
  else {
    mant |= 1n << 52n;
    exp = biased - 1075;
  }
  return { mant, exp };
}

/** Every digit of a non-negative finite float. */
function exactDecimal(x: number): Decimal {
  if (x === 0) return { d: '', dp: 0 };
  const { mant, exp } = binary(x);
  let digits: string;
  let dp: number;
  if (exp >= 0) {
    digits = (mant << BigInt(exp)).toString();
    dp = digits.length;
  } else {
    digits = (mant * 5n ** BigInt(-exp)).toString();
    dp = digits.length + exp;
  }
  return { d: digits.replace(/0+$/, ''), dp };
}

/** decimal.Round(nd): to nd digits, half to even on an exact tie (the digits are exact). */
function roundDecimal(a: Decimal, nd: number): Decimal {
  if (nd < 0 || nd >= a.d.length) return a;
  const next = a.d.charCodeAt(nd) - 48;
  let up: boolean;
  if (next === 5 && nd + 1 === a.d.length) up = nd > 0 && (a.d.charCodeAt(nd - 1) - 48) % 2 === 1;
  else up = next >= 5;
  if (!up) return { d: a.d.slice(0, nd).replace(/0+$/, ''), dp: a.dp };
  for (let i = nd - 1; i >= 0; i--) {
    const c = a.d.charCodeAt(i);
    if (c < 57) return { d: a.d.slice(0, i) + String.fromCharCode(c + 1), dp: a.dp };
  }
  return { d: '1', dp: a.dp + 1 };
}

function fmtE(neg: boolean, d: Decimal, prec: number, verb: string): string {
  let out = neg ? '-' : '';
  out += d.d.length ? d.d[0] : '0';
  if (prec > 0) {
    out += '.';
    const m = Math.min(d.d.length, prec + 1);
    out += d.d.slice(1, m);
    out += '0'.repeat(Math.max(0, prec + 1 - Math.max(m, 1)));
  }
  out += verb;
  let exp = d.d.length === 0 ? 0 : d.dp - 1;
  out += exp < 0 ? '-' : '+';
  exp = Math.abs(exp);
  out += exp < 10 ? `0${exp}` : String(exp);
  return out;
}

function fmtF(neg: boolean, d: Decimal, prec: number): string {
  let out = neg ? '-' : '';
  if (d.dp > 0) {
    const m = Math.min(d.d.length, d.dp);
    out += d.d.slice(0, m) + '0'.repeat(d.dp - m);
  } else out += '0';
  if (prec > 0) {
    out += '.';
    for (let i = 1; i <= prec; i++) {
      const j = d.dp + i - 1;
      out += j >= 0 && j < d.d.length ? d.d[j] : '0';
    }
  }
  return out;
}

/** strconv.FormatFloat(x, verb, prec, 64); prec < 0 is the shortest representation. */
export function formatFloat(x: number, verb: string, prec: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Number.POSITIVE_INFINITY) return '+Inf';
  if (x === Number.NEGATIVE_INFINITY) return '-Inf';
  const neg = x < 0 || Object.is(x, -0);
  const abs = Math.abs(x);
  if (verb === 'b') return formatBinary(neg, abs);
  if (verb === 'x' || verb === 'X') return formatHex(neg, abs, verb, prec);
  const shortest = prec < 0;
  let d: Decimal;
  if (shortest) {
    d = shortestDecimal(abs);
    if (verb === 'e' || verb === 'E') prec = Math.max(d.d.length - 1, 0);
    else if (verb === 'f') prec = Math.max(d.d.length - d.dp, 0);
    else prec = d.d.length;
  } else {
    d = exactDecimal(abs);
    if (verb === 'e' || verb === 'E') d = roundDecimal(d, prec + 1);
    else if (verb === 'f') d = roundDecimal(d, d.dp + prec);
    else {
      if (prec === 0) prec = 1;
      d = roundDecimal(d, prec);
    }
  }
  if (verb === 'e' || verb === 'E') return fmtE(neg, d, prec, verb);
  if (verb === 'f') return fmtF(neg, d, prec);
  // %g, %G: %e for large exponents, %f otherwise.
  let eprec = prec;
  if (eprec > d.d.length && d.d.length >= d.dp) eprec = d.d.length;
  if (shortest) eprec = 6;
  const exp = d.dp - 1;
  if (exp < -4 || exp >= eprec) {
    if (prec > d.d.length) prec = d.d.length;
    return fmtE(neg, d, prec - 1, verb === 'g' ? 'e' : 'E');
  }
  if (prec > d.dp) prec = d.d.length;
  return fmtF(neg, d, Math.max(prec - d.dp, 0));
}

function formatBinary(neg: boolean, abs: number): string {
  const { mant, exp } = abs === 0 ? { mant: 0n, exp: -1074 } : binary(abs);
  return `${neg ? '-' : ''}${mant}p${exp >= 0 ? '+' : ''}${exp}`;
}

function formatHex(neg: boolean, abs: number, verb: string, prec: number): string {
  let mant: bigint;
  let exp: number;
  if (abs === 0) {
    mant = 0n;
    exp = 0;
  } else {
    const b = binary(abs);
    mant = b.mant;
    exp = b.exp + 52;
  }
  const ONE = 1n << 60n;
  mant <<= 8n;
  while (mant !== 0n && (mant & ONE) === 0n) {
    mant <<= 1n;
    exp--;
  }
  if (prec >= 0 && prec < 15) {
    const shift = BigInt(prec * 4);
    const extra = (mant << shift) & (ONE - 1n);
    mant >>= 60n - shift;
    if ((extra | (mant & 1n)) > 1n << 59n) mant++;
    mant <<= 60n - shift;
    if ((mant & (1n << 61n)) !== 0n) {
      mant >>= 1n;
      exp++;
    }
  }
  const hex = verb === 'X' ? '0123456789ABCDEF' : '0123456789abcdef';
  let out = `${neg ? '-' : ''}0${verb}${(mant >> 60n) & 1n}`;
  const MASK = (1n << 64n) - 1n;
  mant = (mant << 4n) & MASK;
  if (prec < 0 && mant !== 0n) {
    out += '.';
    while (mant !== 0n) {
      out += hex[Number((mant >> 60n) & 15n)];
      mant = (mant << 4n) & MASK;
    }
  } else if (prec > 0) {
    out += '.';
    for (let i = 0; i < prec; i++) {
      out += hex[Number((mant >> 60n) & 15n)];
      mant = (mant << 4n) & MASK;
    }
  }
  out += verb === 'X' ? 'P' : 'p';
  out += exp < 0 ? '-' : '+';
  exp = Math.abs(exp);
  out += exp < 10 ? `0${exp}` : String(exp);
  return out;
}

const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u;

/** strconv.IsPrint (= unicode.IsPrint): letters, marks, numbers, punctuation, symbols and ASCII space. */
export function isPrint(r: number): boolean {
  if (r < 0x7f) return r >= 0x20;
  if (r <= 0xff) return r >= 0xa1 && r !== 0xad;
  if (r > 0x10ffff || (r >= 0xd800 && r <= 0xdfff)) return false;
  return PRINTABLE.test(String.fromCodePoint(r));
}

const HEX = '0123456789abcdef';

function escapedRune(r: number, quote: number, asciiOnly: boolean): string {
  if (r === quote || r === 0x5c) return `\\${String.fromCharCode(r)}`;
  if (asciiOnly) {
    if (r < 0x80 && isPrint(r)) return String.fromCharCode(r);
  } else if (isPrint(r)) return String.fromCodePoint(r);
  switch (r) {
    case 7:
      return '\\a';
    case 8:
      return '\\b';
    case 12:
      return '\\f';
    case 10:
      return '\\n';
    case 13:
      return '\\r';
    case 9:
      return '\\t';
    case 11:
      return '\\v';
  }
  if (r < 0x20 || r === 0x7f) return `\\x${HEX[r >> 4]}${HEX[r & 15]}`;
  if (r > 0x10ffff || (r >= 0xd800 && r <= 0xdfff)) r = RUNE_ERROR;
  if (r < 0x10000) return `\\u${r.toString(16).padStart(4, '0')}`;
  return `\\U${r.toString(16).padStart(8, '0')}`;
}

/** strconv.Quote / QuoteToASCII. */
export function quote(s: string, asciiOnly = false): string {
  const b = toBytes(canonical(s));
  let out = '"';
  for (let i = 0; i < b.length; ) {
    const c = b[i] as number;
    if (c < 0x80) {
      out += escapedRune(c, 0x22, asciiOnly);
      i++;
      continue;
    }
    const [r, size] = decodeRune(b, i);
    if (size === 1 && r === RUNE_ERROR) out += `\\x${HEX[c >> 4]}${HEX[c & 15]}`;
    else out += escapedRune(r, 0x22, asciiOnly);
    i += size;
  }
  return `${out}"`;
}

/** strconv.QuoteRune / QuoteRuneToASCII. */
export function quoteRune(r: number, asciiOnly = false): string {
  if (r > 0x10ffff || r < 0 || (r >= 0xd800 && r <= 0xdfff)) r = RUNE_ERROR;
  return `'${escapedRune(r, 0x27, asciiOnly)}'`;
}

/** strconv.CanBackquote. */
export function canBackquote(s: string): boolean {
  const b = toBytes(canonical(s));
  for (let i = 0; i < b.length; ) {
    const [r, size] = decodeRune(b, i);
    i += size;
    if (size > 1) {
      if (r === 0xfeff) return false;
      continue;
    }
    if (r === RUNE_ERROR) return false;
    if ((r < 0x20 && r !== 9) || r === 0x60 || r === 0x7f) return false;
  }
  return true;
}

/** The error strconv reports for a malformed literal. */
export class LiteralError extends Error {}

function unhex(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/** strconv.UnquoteChar on bytes: the value, whether it is a multibyte rune, and the bytes consumed. */
function unquoteChar(
  b: Uint8Array,
  i: number,
  quoteChar: number,
): [value: number, multibyte: boolean, next: number] {
  if (i >= b.length) throw new LiteralError('invalid syntax');
  const c = b[i] as number;
  if (c === quoteChar && (quoteChar === 0x27 || quoteChar === 0x22)) throw new LiteralError('invalid syntax');
  if (c >= 0x80) {
    const [r, size] = decodeRune(b, i);
    return [r, true, i + size];
  }
  if (c !== 0x5c) return [c, false, i + 1];
  if (i + 1 >= b.length) throw new LiteralError('invalid syntax');
  const e = b[i + 1] as number;
  let j = i + 2;
  switch (e) {
    case 0x61:
      return [7, false, j];
    case 0x62:
      return [8, false, j];
    case 0x66:
      return [12, false, j];
    case 0x6e:
      return [10, false, j];
    case 0x72:
      return [13, false, j];
    case 0x74:
      return [9, false, j];
    case 0x76:
      return [11, false, j];
    case 0x78:
    case 0x75:
    case 0x55: {
      const n = e === 0x78 ? 2 : e === 0x75 ? 4 : 8;
      if (j + n > b.length) throw new LiteralError('invalid syntax');
      let v = 0;
      for (let k = 0; k < n; k++) {
        const x = unhex(b[j + k] as number);
        if (x < 0) throw new LiteralError('invalid syntax');
        v = v * 16 + x;
      }
      j += n;
      if (e === 0x78) return [v, false, j];
      if (v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) throw new LiteralError('invalid syntax');
      return [v, true, j];
    }
    case 0x5c:
      return [0x5c, false, j];
    case 0x27:
    case 0x22:
      if (e !== quoteChar) throw new LiteralError('invalid syntax');
      return [e, false, j];
  }
  if (e >= 0x30 && e <= 0x37) {
    let v = e - 0x30;
    if (j + 2 > b.length) throw new LiteralError('invalid syntax');
    for (let k = 0; k < 2; k++) {
      const x = (b[j + k] as number) - 0x30;
      if (x < 0 || x > 7) throw new LiteralError('invalid syntax');
      v = (v << 3) | x;
    }
    if (v > 255) throw new LiteralError('invalid syntax');
    return [v, false, j + 2];
  }
  throw new LiteralError('invalid syntax');
}

function appendRune(out: number[], r: number): void {
  if (r < 0x80) out.push(r);
  else if (r < 0x800) out.push(0xc0 | (r >> 6), 0x80 | (r & 0x3f));
  else if (r < 0x10000) out.push(0xe0 | (r >> 12), 0x80 | ((r >> 6) & 0x3f), 0x80 | (r & 0x3f));
  else out.push(0xf0 | (r >> 18), 0x80 | ((r >> 12) & 0x3f), 0x80 | ((r >> 6) & 0x3f), 0x80 | (r & 0x3f));
}

/** strconv.Unquote for a template's string token ("…" or `…`). */
export function unquote(text: string): string {
  const q = text.charCodeAt(0);
  if (text.length < 2 || text.charCodeAt(text.length - 1) !== q) throw new LiteralError('invalid syntax');
  if (q === 0x60) {
    const inner = text.slice(1, -1);
    if (inner.includes('`')) throw new LiteralError('invalid syntax');
    return inner.replaceAll('\r', '');
  }
  if (q !== 0x22) throw new LiteralError('invalid syntax');
  // Go's fast path: nothing to unescape and valid UTF-8 (no escaped bytes).
  if (!/[\\\n\udc80-\udcff]/.test(text)) return text.slice(1, -1);
  const b = toBytes(text);
  const out: number[] = [];
  let i = 1;
  const end = b.length - 1;
  while (i < end) {
    if (b[i] === 0x0a) throw new LiteralError('invalid syntax');
    const [r, multibyte, next] = unquoteChar(b.subarray(0, end), i, q);
    if (r < 0x80 || !multibyte) out.push(r);
    else appendRune(out, r);
    i = next;
  }
  if (i !== end) throw new LiteralError('invalid syntax');
  return fromBytes(Uint8Array.from(out));
}

/** The rune of a character constant token ('a', '\n', '\u00e9'), as parse.newNumber reads it. */
export function unquoteCharConstant(text: string): number {
  const b = toBytes(text);
  const [r, , next] = unquoteChar(b, 1, 0x27);
  if (next !== b.length - 1 || b[next] !== 0x27)
    throw new LiteralError(`malformed character constant: ${text}`);
  return r;
}

/** Go's rules for '_' in a number literal (strconv's underscoreOK). */
function underscoreOK(s: string): boolean {
  let saw = '^';
  let i = 0;
  if (s.length >= 1 && (s[0] === '-' || s[0] === '+')) s = s.slice(1);
  let hex = false;
  if (s.length >= 2 && s[0] === '0' && 'bBoOxX'.includes(s[1] as string)) {
    i = 2;
    saw = '0';
    hex = s[1] === 'x' || s[1] === 'X';
  }
  for (; i < s.length; i++) {
    const c = s[i] as string;
    if ((c >= '0' && c <= '9') || (hex && /[a-fA-F]/.test(c))) {
      saw = '0';
      continue;
    }
    if (c === '_') {
      if (saw !== '0') return false;
      saw = '_';
      continue;
    }
    if (saw === '_') return false;
    saw = '!';
  }
  return saw !== '_';
}

/** strconv.ParseInt(s, 0, 64) / ParseUint(s, 0, 64): the value, or undefined when Go fails. */
export function parseInteger(s: string, unsigned: boolean): bigint | undefined {
  let body = s;
  let neg = false;
  if (body[0] === '+' || body[0] === '-') {
    if (unsigned) return undefined;
    neg = body[0] === '-';
    body = body.slice(1);
  }
  if (body === '') return undefined;
  let base = 10;
  let digits = body;
  if (body[0] === '0' && body.length > 1) {
    const p = (body[1] as string).toLowerCase();
    if (p === 'x') base = 16;
    else if (p === 'o') base = 8;
    else if (p === 'b') base = 2;
    if (base !== 10) digits = body.slice(2);
    else {
      base = 8;
      digits = body.slice(1);
    }
  }
  if (digits.includes('_')) {
    if (!underscoreOK(body)) return undefined;
    digits = digits.replaceAll('_', '');
  }
  if (digits === '') return undefined;
  const valid =
    base === 16 ? /^[0-9a-fA-F]+$/ : base === 10 ? /^[0-9]+$/ : base === 8 ? /^[0-7]+$/ : /^[01]+$/;
  if (!valid.test(digits)) return undefined;
  const prefix = base === 16 ? '0x' : base === 8 ? '0o' : base === 2 ? '0b' : '';
  let v = BigInt(prefix + digits);
  if (neg) v = -v;
  if (unsigned ? v > 0xffffffffffffffffn : v > 0x7fffffffffffffffn || v < -0x8000000000000000n)
    return undefined;
  return v;
}

/** strconv.ParseFloat(s, 64): the value, or undefined when Go fails (out of range included). */
export function parseFloat64(s: string): number | undefined {
  let body = s;
  let sign = 1;
  if (body[0] === '+' || body[0] === '-') {
    sign = body[0] === '-' ? -1 : 1;
    body = body.slice(1);
  }
  const lower = body.toLowerCase();
  if (lower === 'inf' || lower === 'infinity') return sign * Number.POSITIVE_INFINITY;
  if (lower === 'nan') return Number.NaN;
  if (body.includes('_')) {
    if (!underscoreOK(body)) return undefined;
    body = body.replaceAll('_', '');
  }
  let value: number;
  if (/^0[xX]/.test(body)) {
    const m = /^0[xX]([0-9a-fA-F]*)(?:\.([0-9a-fA-F]*))?[pP]([+-]?[0-9]+)$/.exec(body);
    if (!m) return undefined;
    const int = m[1] ?? '';
    const frac = m[2] ?? '';
    if (int === '' && frac === '') return undefined;
    const mant = BigInt(`0x${int}${frac}`);
    const exp = Number(m[3]) - 4 * frac.length;
    value = hexToFloat(mant, exp);
  } else {
    if (!/^(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$/.test(body)) return undefined;
    value = Number(body);
  }
  if (!Number.isFinite(value)) return undefined;
  return sign * value;
}

/** mant × 2^exp rounded to the nearest float64 (ties to even). */
function hexToFloat(mant: bigint, exp: number): number {
  if (mant === 0n) return 0;
  // Normalise to 64+ significant bits, then let a division by a power of two round correctly.
  let bits = mant.toString(2).length;
  while (bits > 1100) {
    mant >>= 1n;
    exp++;
    bits--;
  }
  const top = bits + exp; // value < 2^top
  if (top > 1025) return Number.POSITIVE_INFINITY;
  if (top < -1080) return 0;
  // Keep 54 bits and a sticky bit, round to 53 (or fewer for subnormals).
  const keep = Math.min(53, top + 1074);
  if (keep <= 0) return top + 1074 === 0 && mant > 1n << BigInt(bits - 1) ? 2 ** -1074 : 0;
  const drop = bits - keep;
  let m: bigint;
  if (drop > 0) {
    const half = 1n << BigInt(drop - 1);
    const rest = mant & ((1n << BigInt(drop)) - 1n);
    m = mant >> BigInt(drop);
    if (rest > half || (rest === half && (m & 1n) === 1n)) m++;
  } else m = mant << BigInt(-drop);
  return Number(m) * 2 ** (exp + Math.max(drop, 0) + Math.min(drop, 0));
}
