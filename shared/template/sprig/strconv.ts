// Go's strconv parsers as sprig and spf13/cast call them: ParseInt (with base 0 prefixes and
// underscores), Atoi and ParseFloat, each answering undefined where Go returns an error.

const lower = (c: string): string => c.toLowerCase();

// Go's rule for `_` digit separators (strconv.underscoreOK).
function underscoreOK(s: string): boolean {
  let saw = '^';
  let i = 0;
  if (s.length >= 1 && (s[0] === '-' || s[0] === '+')) s = s.slice(1);
  let hex = false;
  if (s.length >= 2 && s[0] === '0' && 'box'.includes(lower(s[1] ?? ''))) {
    i = 2;
    saw = '0';
    hex = lower(s[1] ?? '') === 'x';
  }
  for (; i < s.length; i++) {
    const c = s[i] ?? '';
    if ((c >= '0' && c <= '9') || (hex && lower(c) >= 'a' && lower(c) <= 'f')) {
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

interface IntResult {
  value: bigint;
  /** Go's ErrRange: value is then clamped to the type's limit. */
  range?: boolean;
}

/** strconv.ParseUint; undefined is a syntax error. */
export function goParseUint(s: string, base: number, bitSize = 64): IntResult | undefined {
  if (s === '') return undefined;
  const base0 = base === 0;
  const s0 = s;
  if (base0) {
    base = 10;
    if (s[0] === '0') {
      const p = lower(s[1] ?? '');
      if (s.length >= 3 && p === 'b') {
        base = 2;
        s = s.slice(2);
      } else if (s.length >= 3 && p === 'o') {
        base = 8;
        s = s.slice(2);
      } else if (s.length >= 3 && p === 'x') {
        base = 16;
        s = s.slice(2);
      } else {
        base = 8;
        s = s.slice(1);
      }
    }
  } else if (base < 2 || base > 36) return undefined;
  const max = (1n << BigInt(bitSize)) - 1n;
  let n = 0n;
  let underscores = false;
  for (const c of s) {
    if (c === '_' && base0) {
      underscores = true;
      continue;
    }
    const l = lower(c);
    let d: number;
    if (c >= '0' && c <= '9') d = c.charCodeAt(0) - 48;
    else if (l >= 'a' && l <= 'z') d = l.charCodeAt(0) - 87;
    else return undefined;
    if (d >= base) return undefined;
    n = n * BigInt(base) + BigInt(d);
    // Go reports the overflow at once, before looking at the rest of the text.
    if (n > max) return { value: max, range: true };
  }
  if (underscores && !underscoreOK(s0)) return undefined;
  return { value: n };
}

/** strconv.ParseInt; undefined is a syntax error. */
export function goParseInt(s: string, base: number, bitSize = 64): IntResult | undefined {
  if (s === '') return undefined;
  let neg = false;
  let rest = s;
  if (s[0] === '+') rest = s.slice(1);
  else if (s[0] === '-') {
    neg = true;
    rest = s.slice(1);
  }
  const un = goParseUint(rest, base, bitSize);
  if (un === undefined) return undefined;
  const cutoff = 1n << BigInt(bitSize - 1);
  if (un.range) return { value: neg ? -cutoff : cutoff - 1n, range: true };
  if (!neg && un.value >= cutoff) return { value: cutoff - 1n, range: true };
  if (neg && un.value > cutoff) return { value: -cutoff, range: true };
  return { value: neg ? -un.value : un.value };
}

/** strconv.Atoi (base 10, no prefixes or underscores); a range error keeps the clamped value. */
export function goAtoi(s: string): IntResult | undefined {
  if (!/^[+-]?[0-9]+$/.test(s)) return undefined;
  return goParseInt(s, 10, 64);
}

/** strconv.ParseFloat(s, 64); undefined is a syntax or range error. */
export function goParseFloat(s: string): number | undefined {
  const special = /^([+-]?)(inf|infinity)$/i.exec(s);
  if (special) return special[1] === '-' ? -Infinity : Infinity;
  if (/^nan$/i.test(s)) return Number.NaN;
  const parsed = readFloat(s);
  if (parsed === undefined) return undefined;
  return Number.isFinite(parsed) ? parsed : undefined;
}

// strconv.readFloat's grammar, then the value (decimal via JS's correctly rounded parser).
function readFloat(s: string): number | undefined {
  let i = 0;
  let neg = false;
  if (s[i] === '+') i++;
  else if (s[i] === '-') {
    neg = true;
    i++;
  }
  let hex = false;
  if (i + 2 < s.length && s[i] === '0' && lower(s[i + 1] ?? '') === 'x') {
    hex = true;
    i += 2;
  }
  const digitsStart = i;
  let sawdot = false;
  let sawdigits = false;
  let underscores = false;
  for (; i < s.length; i++) {
    const c = s[i] ?? '';
    if (c === '_') {
      underscores = true;
      continue;
    }
    if (c === '.') {
      if (sawdot) break;
      sawdot = true;
      continue;
    }
    if ((c >= '0' && c <= '9') || (hex && lower(c) >= 'a' && lower(c) <= 'f')) {
      sawdigits = true;
      continue;
    }
    break;
  }
  if (!sawdigits) return undefined;
  const mantissa = s.slice(digitsStart, i).replaceAll('_', '');
  let exp = 0;
  const expChar = hex ? 'p' : 'e';
  if (i < s.length && lower(s[i] ?? '') === expChar) {
    i++;
    if (i >= s.length) return undefined;
    let esign = 1;
    if (s[i] === '+') i++;
    else if (s[i] === '-') {
      i++;
      esign = -1;
    }
    if (i >= s.length || (s[i] ?? '') < '0' || (s[i] ?? '') > '9') return undefined;
    let e = 0;
    for (; i < s.length && (((s[i] ?? '') >= '0' && (s[i] ?? '') <= '9') || s[i] === '_'); i++) {
      if (s[i] === '_') {
        underscores = true;
        continue;
      }
      if (e < 10000) e = e * 10 + (s.charCodeAt(i) - 48);
    }
    exp = e * esign;
  } else if (hex) return undefined;
  if (i !== s.length) return undefined;
  if (underscores && !underscoreOK(s.slice(0, i))) return undefined;
  let value: number;
  if (hex) {
    const [whole = '', frac = ''] = mantissa.split('.');
    const bits = BigInt(`0x${whole + frac || '0'}`);
    value = scaleBinary(bits, exp - 4 * frac.length);
  } else {
    value = Number(`${mantissa}e${exp}`);
  }
  return neg ? -value : value;
}

function scaleBinary(m: bigint, e: number): number {
  if (m === 0n) return 0;
  if (e >= 0) return e > 2000 ? Infinity : Number(m << BigInt(e));
  // Keep 64 significant bits plus a sticky bit so Number() rounds once, correctly.
  const len = m.toString(2).length;
  const drop = Math.max(0, len - 64);
  let top = m >> BigInt(drop);
  if (drop > 0 && m & ((1n << BigInt(drop)) - 1n)) top |= 1n;
  let value = Number(top);
  let shift = e + drop;
  while (shift < 0) {
    const step = Math.max(shift, -1000);
    value *= 2 ** step;
    shift -= step;
  }
  return value;
}
