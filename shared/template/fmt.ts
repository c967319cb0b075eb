// Go's fmt for template values: what Sprint, Sprintf and Sprintln print, and %T / reflect.Kind
// names. A port of fmt/print.go and fmt/format.go for the kinds of Value there are.
import { canBackquote, formatFloat, isPrint, quote, quoteRune } from './strconv.js';
import { fromBytes, isAscii, RUNE_ERROR, runeCount, runes, toBytes } from './utf8.js';
import { GoComplex, GoInt, GoMap, GoSlice, type Value } from './value.js';

const UNSIGNED = new Set(['uint', 'uint8', 'uint16', 'uint32', 'uint64', 'uintptr']);
const TWO64 = 1n << 64n;
const MAX_RUNE = 0x10ffff;
const LDIGITS = '0123456789abcdefx';
const UDIGITS = '0123456789ABCDEFX';

/** What %T prints: "float64", "[]interface {}", "map[string]interface {}", "<nil>", … */
export function typeName(value: Value): string {
  if (value === undefined || value === null) return '<nil>';
  switch (typeof value) {
    case 'boolean':
      return 'bool';
    case 'string':
      return 'string';
    case 'number':
      return 'float64';
  }
  if (value instanceof GoInt) return value.type;
  if (value instanceof GoSlice) return `[]${value.elem}`;
  if (value instanceof GoMap) return `map[string]${value.elem}`;
  return value.goType;
}

/** reflect.Kind's name: "float64", "slice", "map", "string", "ptr", "struct", "invalid", … */
export function kindName(value: Value): string {
  if (value === undefined || value === null) return 'invalid';
  switch (typeof value) {
    case 'boolean':
      return 'bool';
    case 'string':
      return 'string';
    case 'number':
      return 'float64';
  }
  if (value instanceof GoInt) return value.type;
  if (value instanceof GoSlice) return 'slice';
  if (value instanceof GoMap) return 'map';
  return value.goKind;
}

/** The operand as the unsigned 64-bit pattern Go's fmtInteger takes, and whether it is signed. */
function intBits(v: GoInt): [u: bigint, signed: boolean] {
  const signed = !UNSIGNED.has(v.type);
  return [v.value < 0n ? v.value + TWO64 : v.value, signed];
}

/** The printer state of one Sprint/Sprintf call (fmt's pp and fmt together). */
class Printer {
  buf = '';
  // flags
  widPresent = false;
  precPresent = false;
  minus = false;
  plus = false;
  sharp = false;
  space = false;
  zero = false;
  plusV = false;
  sharpV = false;
  wid = 0;
  prec = 0;
  erroring = false;

  clearFlags(): void {
    this.widPresent = this.precPresent = this.minus = this.plus = this.sharp = false;
    this.space = this.zero = this.plusV = this.sharpV = false;
    this.wid = this.prec = 0;
  }

  writePadding(n: number): void {
    if (n > 0) this.buf += (this.zero ? '0' : ' ').repeat(n);
  }

  pad(s: string): void {
    if (!this.widPresent || this.wid === 0) {
      this.buf += s;
      return;
    }
    const width = this.wid - runeCount(s);
    if (!this.minus) {
      this.writePadding(width);
      this.buf += s;
    } else {
      this.buf += s;
      this.writePadding(width);
    }
  }

  fmtBoolean(v: boolean): void {
    this.pad(v ? 'true' : 'false');
  }

  fmtUnicode(u: bigint): void {
    let prec = 4;
    if (this.precPresent && this.prec > 4) prec = this.prec;
    let hex = u.toString(16).toUpperCase();
    if (hex.length < prec) hex = '0'.repeat(prec - hex.length) + hex;
    let s = `U+${hex}`;
    if (this.sharp && u <= BigInt(MAX_RUNE) && isPrint(Number(u)))
      s += ` '${String.fromCodePoint(Number(u))}'`;
    const oldZero = this.zero;
    this.zero = false;
    this.pad(s);
    this.zero = oldZero;
  }

  fmtInteger(u: bigint, base: number, signed: boolean, verb: string, digits: string): void {
    const negative = signed && u >= 1n << 63n;
    if (negative) u = TWO64 - u;
    let prec = 0;
    if (this.precPresent) {
      prec = this.prec;
      if (prec === 0 && u === 0n) {
        const oldZero = this.zero;
        this.zero = false;
        this.writePadding(this.wid);
        this.zero = oldZero;
        return;
      }
    } else if (this.zero && this.widPresent) {
      prec = this.wid;
      if (negative || this.plus || this.space) prec--;
    }
    let s = u.toString(base);
    if (digits === UDIGITS) s = s.toUpperCase();
    if (s.length < prec) s = '0'.repeat(prec - s.length) + s;
    if (this.sharp) {
      if (base === 2) s = `0b${s}`;
      else if (base === 8) {
        if (s[0] !== '0') s = `0${s}`;
      } else if (base === 16) s = `0${digits[16]}${s}`;
    }
    if (verb === 'O') s = `0o${s}`;
    if (negative) s = `-${s}`;
    else if (this.plus) s = `+${s}`;
    else if (this.space) s = ` ${s}`;
    const oldZero = this.zero;
    this.zero = false;
    this.pad(s);
    this.zero = oldZero;
  }

  truncateString(s: string): string {
    if (this.precPresent) {
      let n = this.prec;
      let out = '';
      for (const r of runes(s)) {
        n--;
        if (n < 0) return out;
        out += r.text;
      }
      return out;
    }
    return s;
  }

  fmtS(s: string): void {
    this.pad(this.truncateString(s));
  }

  fmtSbx(b: Uint8Array, digits: string): void {
    let length = b.length;
    if (this.precPresent && this.prec < length) length = this.prec;
    let width = 2 * length;
    if (width > 0) {
      if (this.space) {
        if (this.sharp) width *= 2;
        width += length - 1;
      } else if (this.sharp) width += 2;
    } else {
      if (this.widPresent) this.writePadding(this.wid);
      return;
    }
    if (this.widPresent && this.wid > width && !this.minus) this.writePadding(this.wid - width);
    let out = '';
    if (this.sharp) out += `0${digits[16]}`;
    for (let i = 0; i < length; i++) {
      if (this.space && i > 0) {
        out += ' ';
        if (this.sharp) out += `0${digits[16]}`;
      }
      const c = b[i] as number;
      out += (digits[c >> 4] as string) + (digits[c & 15] as string);
    }
    this.buf += out;
    if (this.widPresent && this.wid > width && this.minus) this.writePadding(this.wid - width);
  }

  fmtQ(s: string): void {
    s = this.truncateString(s);
    if (this.sharp && canBackquote(s)) {
      this.pad(`\`${s}\``);
      return;
    }
    this.pad(quote(s, this.plus));
  }

  fmtC(c: bigint): void {
    let r = c > BigInt(MAX_RUNE) ? RUNE_ERROR : Number(c);
    if (r >= 0xd800 && r <= 0xdfff) r = RUNE_ERROR;
    this.pad(String.fromCodePoint(r));
  }

  fmtQc(c: bigint): void {
    const r = c > BigInt(MAX_RUNE) ? RUNE_ERROR : Number(c);
    this.pad(quoteRune(r, this.plus));
  }

  fmtFloatRaw(v: number, verb: string, precIn: number): void {
    let prec = precIn;
    if (this.precPresent) prec = this.prec;
    let num = formatFloat(v, verb, prec);
    if (num[0] !== '-' && num[0] !== '+') num = `+${num}`;
    if (this.space && num[0] === '+' && !this.plus) num = ` ${num.slice(1)}`;
    if (num[1] === 'I' || num[1] === 'N') {
      const oldZero = this.zero;
      this.zero = false;
      if (num[1] === 'N' && !this.space && !this.plus) num = num.slice(1);
      this.pad(num);
      this.zero = oldZero;
      return;
    }
    if (this.sharp && verb !== 'b') {
      let digits = 0;
      if (verb === 'v' || verb === 'g' || verb === 'G' || verb === 'x') {
        digits = prec;
        if (digits === -1) digits = 6;
      }
      let tail = '';
      let hasDecimalPoint = false;
      let sawNonzeroDigit = false;
      let body = num;
      for (let i = 1; i < body.length; i++) {
        const c = body[i] as string;
        if (c === '.') hasDecimalPoint = true;
        else if (c === 'p' || c === 'P') {
          tail = body.slice(i);
          body = body.slice(0, i);
          break;
        } else if ((c === 'e' || c === 'E') && verb !== 'x' && verb !== 'X') {
          tail = body.slice(i);
          body = body.slice(0, i);
          break;
        } else {
          if (c !== '0') sawNonzeroDigit = true;
          if (sawNonzeroDigit) digits--;
        }
      }
      if (!hasDecimalPoint) {
        if (body.length === 2 && body[1] === '0') digits--;
        body += '.';
      }
      if (digits > 0) body += '0'.repeat(digits);
      num = body + tail;
    }
    if (this.plus || num[0] !== '+') {
      if (this.zero && this.widPresent && this.wid > num.length) {
        this.buf += num[0];
        this.writePadding(this.wid - num.length);
        this.buf += num.slice(1);
        return;
      }
      this.pad(num);
      return;
    }
    this.pad(num.slice(1));
  }

  // --- pp ---

  badVerb(verb: string, arg: Value, nested: boolean): void {
    this.erroring = true;
    this.buf += `%!${verb}(`;
    if (arg === undefined || arg === null) {
      // A nil interface at the top; an invalid element cannot be reached from here.
      this.buf += '<nil>';
    } else {
      this.buf += `${typeName(arg)}=`;
      if (nested) this.printValue(arg, 'v', 0);
      else this.printArg(arg, 'v');
    }
    this.buf += ')';
    this.erroring = false;
  }

  fmtBool(v: boolean, verb: string, nested: boolean): void {
    if (verb === 't' || verb === 'v') this.fmtBoolean(v);
    else this.badVerb(verb, v, nested);
  }

  fmtIntegerVerb(v: GoInt, verb: string, nested: boolean): void {
    const [u, signed] = intBits(v);
    switch (verb) {
      case 'v':
        if (this.sharpV && !signed) this.fmt0x64(u, true);
        else this.fmtInteger(u, 10, signed, verb, LDIGITS);
        return;
      case 'd':
        this.fmtInteger(u, 10, signed, verb, LDIGITS);
        return;
      case 'b':
        this.fmtInteger(u, 2, signed, verb, LDIGITS);
        return;
      case 'o':
      case 'O':
        this.fmtInteger(u, 8, signed, verb, LDIGITS);
        return;
      case 'x':
        this.fmtInteger(u, 16, signed, verb, LDIGITS);
        return;
      case 'X':
        this.fmtInteger(u, 16, signed, verb, UDIGITS);
        return;
      case 'c':
        this.fmtC(u);
        return;
      case 'q':
        this.fmtQc(u);
        return;
      case 'U':
        this.fmtUnicode(u);
        return;
      default:
        this.badVerb(verb, v, nested);
    }
  }

  fmt0x64(u: bigint, leading0x: boolean): void {
    const sharp = this.sharp;
    this.sharp = leading0x;
    this.fmtInteger(u, 16, false, 'v', LDIGITS);
    this.sharp = sharp;
  }

  fmtFloat(v: number, verb: string, nested: boolean): void {
    switch (verb) {
      case 'v':
        this.fmtFloatRaw(v, 'g', -1);
        return;
      case 'b':
      case 'g':
      case 'G':
      case 'x':
      case 'X':
        this.fmtFloatRaw(v, verb, -1);
        return;
      case 'f':
      case 'e':
      case 'E':
        this.fmtFloatRaw(v, verb, 6);
        return;
      case 'F':
        this.fmtFloatRaw(v, 'f', 6);
        return;
      default:
        this.badVerb(verb, v, nested);
    }
  }

  fmtComplex(v: GoComplex, verb: string, nested: boolean): void {
    switch (verb) {
      case 'v':
      case 'b':
      case 'g':
      case 'G':
      case 'x':
      case 'X':
      case 'f':
      case 'F':
      case 'e':
      case 'E': {
        const oldPlus = this.plus;
        this.buf += '(';
        this.fmtFloat(v.re, verb, nested);
        this.plus = true;
        this.fmtFloat(v.im, verb, nested);
        this.buf += 'i)';
        this.plus = oldPlus;
        return;
      }
      default:
        this.badVerb(verb, v, nested);
    }
  }

  fmtString(v: string, verb: string, nested: boolean): void {
    switch (verb) {
      case 'v':
        if (this.sharpV) this.fmtQ(v);
        else this.fmtS(v);
        return;
      case 's':
        this.fmtS(v);
        return;
      case 'x':
        this.fmtSbx(toBytes(v), LDIGITS);
        return;
      case 'X':
        this.fmtSbx(toBytes(v), UDIGITS);
        return;
      case 'q':
        this.fmtQ(v);
        return;
      default:
        this.badVerb(verb, v, nested);
    }
  }

  fmtBytes(v: GoSlice, verb: string): void {
    const bytes = Uint8Array.from(
      v.items.map((item) => (item instanceof GoInt ? Number(item.value) & 255 : 0)),
    );
    switch (verb) {
      case 's':
        this.pad(this.truncateString(bytesToString(bytes)));
        return;
      case 'x':
        this.fmtSbx(bytes, LDIGITS);
        return;
      case 'X':
        this.fmtSbx(bytes, UDIGITS);
        return;
      case 'q':
        this.fmtQ(bytesToString(bytes));
        return;
    }
  }

  /** printArg: an operand at the top (an interface{} argument). */
  printArg(arg: Value, verb: string): void {
    if (arg === undefined || arg === null) {
      if (verb === 'T' || verb === 'v') this.pad('<nil>');
      else this.badVerb(verb, arg, false);
      return;
    }
    if (verb === 'T') {
      this.fmtS(typeName(arg));
      return;
    }
    if (verb === 'p') {
      this.fmtPointer(arg, verb, false);
      return;
    }
    switch (typeof arg) {
      case 'boolean':
        this.fmtBool(arg, verb, false);
        return;
      case 'number':
        this.fmtFloat(arg, verb, false);
        return;
      case 'string':
        this.fmtString(arg, verb, false);
        return;
    }
    if (arg instanceof GoInt) {
      this.fmtIntegerVerb(arg, verb, false);
      return;
    }
    // %w is only for fmt.Errorf: for anything else it is a bad verb (handleMethods).
    if (verb === 'w') {
      this.badVerb(verb, arg, false);
      return;
    }
    this.printValue(arg, verb, 0);
  }

  fmtPointer(arg: Value, verb: string, nested: boolean): void {
    // There are no addresses to print; Go prints a map's or slice's address here.
    if (arg instanceof GoMap || arg instanceof GoSlice) {
      this.fmt0x64(0xc000010000n, !this.sharp);
      return;
    }
    this.badVerb(verb, arg, nested);
  }

  /** printValue: a value reached through reflection (depth > 0 inside maps and slices). */
  printValue(value: Value, verb: string, depth: number): void {
    if (value === undefined || value === null) {
      // A nil element of an interface{} slice or map.
      if (depth === 0) this.buf += value === undefined ? '<invalid reflect.Value>' : '<nil>';
      else if (this.sharpV) this.buf += 'interface {}(nil)';
      else this.buf += '<nil>';
      return;
    }
    if (verb === 'w' && depth > 0 && !this.erroring) {
      this.badVerb(verb, value, true);
      return;
    }
    switch (typeof value) {
      case 'boolean':
        this.fmtBool(value, verb, depth > 0);
        return;
      case 'number':
        this.fmtFloat(value, verb, depth > 0);
        return;
      case 'string':
        this.fmtString(value, verb, depth > 0);
        return;
    }
    if (value instanceof GoInt) {
      this.fmtIntegerVerb(value, verb, depth > 0);
      return;
    }
    if (value instanceof GoMap) {
      if (this.sharpV) this.buf += `${typeName(value)}{`;
      else this.buf += 'map[';
      const keys = [...value.entries.keys()].sort(compareStrings);
      keys.forEach((key, i) => {
        if (i > 0) this.buf += this.sharpV ? ', ' : ' ';
        this.printValue(key, verb, depth + 1);
        this.buf += ':';
        this.printValue(value.entries.get(key), verb, depth + 1);
      });
      this.buf += this.sharpV ? '}' : ']';
      return;
    }
    if (value instanceof GoSlice) {
      if ((verb === 's' || verb === 'q' || verb === 'x' || verb === 'X') && value.elem === 'uint8') {
        this.fmtBytes(value, verb);
        return;
      }
      if (this.sharpV) {
        this.buf += `${typeName(value)}{`;
        value.items.forEach((item, i) => {
          if (i > 0) this.buf += ', ';
          this.printValue(item, verb, depth + 1);
        });
        this.buf += '}';
      } else {
        this.buf += '[';
        value.items.forEach((item, i) => {
          if (i > 0) this.buf += ' ';
          this.printValue(item, verb, depth + 1);
        });
        this.buf += ']';
      }
      return;
    }
    if (value instanceof GoComplex) {
      this.fmtComplex(value, verb, depth > 0);
      return;
    }
    // Another Go type: it prints itself (a Stringer or error) for the verbs that take a string.
    if (!this.erroring && (verb === 'v' || verb === 's' || verb === 'x' || verb === 'X' || verb === 'q')) {
      if (this.sharpV) this.fmtS(value.format());
      else this.fmtString(value.format(), verb, depth > 0);
      return;
    }
    if (this.erroring) {
      this.buf += value.format();
      return;
    }
    this.badVerb(verb, value, depth > 0);
  }

  doPrint(args: readonly Value[]): void {
    let prevString = false;
    args.forEach((arg, i) => {
      const isString = typeof arg === 'string';
      if (i > 0 && !isString && !prevString) this.buf += ' ';
      this.printArg(arg, 'v');
      prevString = isString;
    });
  }

  doPrintln(args: readonly Value[]): void {
    args.forEach((arg, i) => {
      if (i > 0) this.buf += ' ';
      this.printArg(arg, 'v');
    });
    this.buf += '\n';
  }

  doPrintf(format: string, args: readonly Value[]): void {
    const end = format.length;
    let argNum = 0;
    let afterIndex = false;
    let reordered = false;
    let goodArgNum = true;

    const argNumber = (i: number): [number, number, boolean] => {
      if (i >= end || format[i] !== '[') return [argNum, i, false];
      reordered = true;
      const [index, wid, ok] = parseArgNumber(format.slice(i));
      if (ok && index >= 0 && index < args.length) return [index, i + wid, true];
      goodArgNum = false;
      return [argNum, i + wid, ok];
    };
    const intFromArg = (): [number, boolean] => {
      let num = 0;
      let isInt = false;
      if (argNum < args.length) {
        const a = args[argNum];
        if (a instanceof GoInt) {
          const signed = !UNSIGNED.has(a.type);
          if (signed || a.value < 1n << 63n) {
            num = Number(BigInt.asIntN(64, a.value));
            isInt = true;
          }
        }
        argNum++;
        if (num > 1e6 || num < -1e6) {
          num = 0;
          isInt = false;
        }
      }
      return [num, isInt];
    };

    let i = 0;
    formatLoop: while (i < end) {
      goodArgNum = true;
      const lasti = i;
      while (i < end && format[i] !== '%') i++;
      if (i > lasti) this.buf += format.slice(lasti, i);
      if (i >= end) break;
      i++;
      this.clearFlags();
      simple: for (; i < end; i++) {
        const c = format[i] as string;
        switch (c) {
          case '#':
            this.sharp = true;
            break;
          case '0':
            this.zero = !this.minus;
            break;
          case '+':
            this.plus = true;
            break;
          case '-':
            this.minus = true;
            this.zero = false;
            break;
          case ' ':
            this.space = true;
            break;
          default:
            if (c >= 'a' && c <= 'z' && argNum < args.length) {
              if (c === 'v') {
                this.sharpV = this.sharp;
                this.sharp = false;
                this.plusV = this.plus;
                this.plus = false;
              }
              this.printArg(args[argNum], c);
              argNum++;
              i++;
              continue formatLoop;
            }
            break simple;
        }
      }

      [argNum, i, afterIndex] = argNumber(i);

      if (i < end && format[i] === '*') {
        i++;
        [this.wid, this.widPresent] = intFromArg();
        if (!this.widPresent) this.buf += '%!(BADWIDTH)';
        if (this.wid < 0) {
          this.wid = -this.wid;
          this.minus = true;
          this.zero = false;
        }
        afterIndex = false;
      } else {
        [this.wid, this.widPresent, i] = parsenum(format, i, end);
        if (afterIndex && this.widPresent) goodArgNum = false;
      }

      if (i + 1 < end && format[i] === '.') {
        i++;
        if (afterIndex) goodArgNum = false;
        [argNum, i, afterIndex] = argNumber(i);
        if (i < end && format[i] === '*') {
          i++;
          [this.prec, this.precPresent] = intFromArg();
          if (this.prec < 0) {
            this.prec = 0;
            this.precPresent = false;
          }
          if (!this.precPresent) this.buf += '%!(BADPREC)';
          afterIndex = false;
        } else {
          [this.prec, this.precPresent, i] = parsenum(format, i, end);
          if (!this.precPresent) {
            this.prec = 0;
            this.precPresent = true;
          }
        }
      }

      if (!afterIndex) [argNum, i, afterIndex] = argNumber(i);

      if (i >= end) {
        this.buf += '%!(NOVERB)';
        break;
      }

      let verb = String.fromCodePoint(format.codePointAt(i) as number);
      i += verb.length;
      const code = verb.charCodeAt(0);
      if (verb.length === 1 && code >= 0xd800 && code <= 0xdfff) verb = '\ufffd';

      if (verb === '%') this.buf += '%';
      else if (!goodArgNum) this.buf += `%!${verb}(BADINDEX)`;
      else if (argNum >= args.length) this.buf += `%!${verb}(MISSING)`;
      else {
        if (verb === 'v') {
          this.sharpV = this.sharp;
          this.sharp = false;
          this.plusV = this.plus;
          this.plus = false;
        }
        this.printArg(args[argNum], verb);
        argNum++;
      }
    }

    if (!reordered && argNum < args.length) {
      this.clearFlags();
      this.buf += '%!(EXTRA ';
      args.slice(argNum).forEach((arg, k) => {
        if (k > 0) this.buf += ', ';
        if (arg === undefined || arg === null) this.buf += '<nil>';
        else {
          this.buf += `${typeName(arg)}=`;
          this.printArg(arg, 'v');
        }
      });
      this.buf += ')';
    }
  }
}

function bytesToString(b: Uint8Array): string {
  return fromBytes(b);
}

function parsenum(s: string, start: number, end: number): [number, boolean, number] {
  if (start >= end) return [0, false, end];
  let num = 0;
  let isnum = false;
  let i = start;
  for (; i < end && s[i] !== undefined && (s[i] as string) >= '0' && (s[i] as string) <= '9'; i++) {
    if (num > 1e6 || num < -1e6) return [0, false, end];
    num = num * 10 + (s.charCodeAt(i) - 48);
    isnum = true;
  }
  return [num, isnum, i];
}

function parseArgNumber(format: string): [number, number, boolean] {
  if (format.length < 3) return [0, 1, false];
  for (let i = 1; i < format.length; i++) {
    if (format[i] === ']') {
      const [width, ok, newi] = parsenum(format, 1, i);
      if (!ok || newi !== i) return [0, i + 1, false];
      return [width - 1, i + 1, true];
    }
  }
  return [0, 1, false];
}

/** Go's string ordering: by bytes, which for UTF-8 is by code point (not JS's UTF-16 order). */
export function compareStrings(a: string, b: string): number {
  if (a === b) return 0;
  if (isAscii(a) && isAscii(b)) return a < b ? -1 : 1;
  const x = toBytes(a);
  const y = toBytes(b);
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) if (x[i] !== y[i]) return (x[i] as number) - (y[i] as number);
  return x.length - y.length;
}

/** %v of one operand, the way a template action prints its value (fmt.Fprint of one operand). */
export function formatValue(value: Value): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') {
    const abs = Math.abs(value);
    if ((abs >= 1e-4 && abs < 1e6) || value === 0) return Object.is(value, -0) ? '-0' : String(value);
    return formatFloat(value, 'g', -1);
  }
  if (value instanceof GoInt) return value.value.toString();
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  const p = new Printer();
  p.printArg(value, 'v');
  return p.buf;
}

/** fmt.Sprint: operands printed with %v, a space between operands when neither is a string. */
export function sprint(...args: Value[]): string {
  if (args.length === 1) return formatValue(args[0]);
  const p = new Printer();
  p.doPrint(args);
  return p.buf;
}

/** fmt.Sprintf with Go's verbs, flags, width and precision (and Go's %!verb(type=value) for mismatches). */
export function sprintf(format: string, ...args: Value[]): string {
  const p = new Printer();
  p.doPrintf(format, args);
  return p.buf;
}

/** fmt.Sprintln: operands printed with %v, always space-separated, with a trailing newline. */
export function sprintln(...args: Value[]): string {
  const p = new Printer();
  p.doPrintln(args);
  return p.buf;
}
