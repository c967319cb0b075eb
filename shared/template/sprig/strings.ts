// Sprig's string functions (strings.go, Go's strings package, goutils and xstrings), byte for
// byte as Go computes them: goutils' byte-oriented helpers (abbrev, wrap, initials, nospace)
// work on UTF-8 bytes, the rest on runes.
import { sprint, sprintf } from '../fmt.js';
import { type GoFunc, GoSlice, type Value } from '../value.js';
import { strslice, strval } from './conversion.js';
import {
  byteSlice,
  checkItems,
  checkLength,
  checkSize,
  def,
  fromBinary,
  int,
  repeat,
  split,
  str,
  stringMap,
  strings,
  toBinary,
} from './go.js';
import {
  isLetter,
  isLower,
  isDigit as isNd,
  isNumber,
  isPunct,
  isSpace,
  isTitle,
  isUpper,
  mapRunes,
  toLower,
  toTitle,
  toUpper,
} from './unicode.js';

// --- Go's strings package -----------------------------------------------------------------------

const goUpper = (s: string): string => mapRunes(s, toUpper);
const goLower = (s: string): string => mapRunes(s, toLower);

function trimFunc(s: string, drop: (r: number) => boolean): string {
  const rs = Array.from(s);
  let a = 0;
  let b = rs.length;
  while (a < b && drop(rs[a]?.codePointAt(0) ?? 0)) a++;
  while (b > a && drop(rs[b - 1]?.codePointAt(0) ?? 0)) b--;
  return a === 0 && b === rs.length ? s : rs.slice(a, b).join('');
}

export const trimSpace = (s: string): string => trimFunc(s, isSpace);

function trimCutset(s: string, cutset: string): string {
  if (s === '' || cutset === '') return s;
  const cut = new Set(Array.from(cutset, (c) => c.codePointAt(0) ?? 0));
  return trimFunc(s, (r) => cut.has(r));
}

// strings.Title's word boundaries.
function isSeparator(r: number): boolean {
  if (r <= 0x7f) {
    if ((r >= 0x30 && r <= 0x39) || (r >= 0x61 && r <= 0x7a) || (r >= 0x41 && r <= 0x5a) || r === 0x5f)
      return false;
    return true;
  }
  if (isLetter(r) || isNd(r)) return false;
  return isSpace(r);
}

function title(s: string): string {
  let prev = 0x20;
  return mapRunes(s, (r) => {
    const out = isSeparator(prev) ? toTitle(r) : r;
    prev = r;
    return out;
  });
}

/** strings.Replace(s, old, new, -1). */
function replaceAll(s: string, old: string, rep: string): string {
  if (old === rep) return s;
  if (old === '') {
    const rs = Array.from(s);
    checkLength(s.length + (rs.length + 1) * rep.length, 'replace');
    return rep + rs.map((c) => c + rep).join('');
  }
  const count = s.split(old).length - 1;
  checkLength(s.length + count * (rep.length - old.length), 'replace');
  return s.split(old).join(rep);
}

// --- goutils ------------------------------------------------------------------------------------

function abbreviateFull(b: string, offset: number, maxWidth: number): string | undefined {
  if (b === '') return '';
  if (maxWidth < 4) return undefined;
  if (b.length <= maxWidth) return b;
  if (offset > b.length) offset = b.length;
  if (b.length - offset < maxWidth - 3) offset = b.length - (maxWidth - 3);
  const marker = '...';
  if (offset <= 4) return b.slice(0, maxWidth - 3) + marker;
  if (maxWidth < 7) return undefined;
  if (offset + maxWidth - 3 < b.length)
    return marker + (abbreviateFull(b.slice(offset), 0, maxWidth - 3) ?? '');
  return marker + b.slice(b.length - (maxWidth - 3));
}

function wrapCustom(s: string, wrapLength: number, newLine: string, wrapLongWords: boolean): string {
  if (s === '') return '';
  const b = toBinary(s);
  const nl = toBinary(newLine === '' ? '\n' : newLine);
  if (wrapLength < 1) wrapLength = 1;
  const len = b.length;
  let offset = 0;
  const out: string[] = [];
  let size = 0;
  const write = (part: string) => {
    size += part.length;
    checkLength(size, 'wrap');
    out.push(part);
  };
  while (len - offset > wrapLength) {
    if (b[offset] === ' ') {
      offset++;
      continue;
    }
    const end = wrapLength + offset + 1;
    const spaceToWrapAt = b.slice(offset, end).lastIndexOf(' ') + offset;
    if (spaceToWrapAt >= offset) {
      write(b.slice(offset, spaceToWrapAt));
      write(nl);
      offset = spaceToWrapAt + 1;
    } else if (wrapLongWords) {
      write(b.slice(offset, wrapLength + offset));
      write(nl);
      offset += wrapLength;
    } else {
      const index = b.indexOf(' ', wrapLength + offset);
      if (index === -1) {
        write(b.slice(offset));
        offset = len;
      } else {
        write(b.slice(offset, index));
        write(nl);
        offset = index + 1;
      }
    }
  }
  write(b.slice(offset));
  return fromBinary(out.join(''));
}

// goutils reads these byte by byte and writes each byte back as the rune of that number.
function initials(s: string): string {
  const b = toBinary(s);
  let out = '';
  let lastWasGap = true;
  for (let i = 0; i < b.length; i++) {
    const c = b.charCodeAt(i);
    if (isSpace(c)) lastWasGap = true;
    else if (lastWasGap) {
      out += String.fromCharCode(c);
      lastWasGap = false;
    }
  }
  return out;
}

function deleteWhiteSpace(s: string): string {
  const b = toBinary(s);
  let out = '';
  for (let i = 0; i < b.length; i++) {
    const c = b.charCodeAt(i);
    if (!isSpace(c)) out += String.fromCharCode(c);
  }
  return out.length === b.length ? s : out;
}

function uncapitalize(s: string): string {
  let next = true;
  return mapRunes(s, (r) => {
    if (isSpace(r)) {
      next = true;
      return r;
    }
    if (next) {
      next = false;
      return toLower(r);
    }
    return r;
  });
}

function swapCase(s: string): string {
  let whitespace = true;
  return mapRunes(s, (r) => {
    if (isUpper(r) || isTitle(r)) {
      whitespace = false;
      return toLower(r);
    }
    if (isLower(r)) {
      if (whitespace) {
        whitespace = false;
        return toTitle(r);
      }
      return toUpper(r);
    }
    whitespace = isSpace(r);
    return r;
  });
}

const ALPHA = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const DIGITS = '0123456789';
let ASCII = '';
for (let c = 32; c < 127; c++) ASCII += String.fromCharCode(c);

/** `count` characters drawn uniformly from `alphabet` with the platform's CSPRNG. */
function randomString(count: number, alphabet: string, what: string): string {
  if (count <= 0) return '';
  checkLength(count, what);
  const out: string[] = [];
  const limit = 65536 - (65536 % alphabet.length);
  const buf = new Uint16Array(Math.min(count * 2, 16384));
  while (out.length < count) {
    crypto.getRandomValues(buf);
    for (const n of buf) {
      if (n < limit && out.length < count) out.push(alphabet[n % alphabet.length] ?? '');
    }
  }
  return out.join('');
}

function shuffle(s: string): string {
  const rs = Array.from(s);
  for (let i = rs.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [rs[i], rs[j]] = [rs[j] ?? '', rs[i] ?? ''];
  }
  return rs.join('');
}

// --- xstrings' case conversions -----------------------------------------------------------------

const RUNE_ERROR = 0xfffd;
const isConnector = (r: number): boolean => r === 0x2d || r === 0x5f || isSpace(r);
// xstrings' isAlphabet: letters outside the common CJK blocks.
function isAlphabet(r: number): boolean {
  if (!isLetter(r)) return false;
  if (r < 0x4e00) return true;
  if (r >= 0x4e00 && r <= 0x9fff) return false;
  if (r >= 0x3400 && r <= 0x4dbf) return false;
  if (r >= 0x20000 && r <= 0x2ebef) return false;
  if (r >= 0xf900 && r <= 0xfaff) return false;
  if (r >= 0x2f800 && r <= 0x2fa1f) return false;
  return true;
}

function toCamelCase(s: string): string {
  if (s === '') return '';
  const rs = Array.from(s, (c) => c.codePointAt(0) ?? 0);
  const out: number[] = [];
  let i = 0;
  let r0 = 0;
  let size = 0;
  while (i < rs.length) {
    r0 = rs[i++] ?? 0;
    size = 1;
    if (!isConnector(r0)) {
      r0 = toUpper(r0);
      break;
    }
    out.push(r0);
  }
  if (i >= rs.length) {
    if (size !== 0) out.push(r0);
    return out.map((r) => String.fromCodePoint(r)).join('');
  }
  let r1 = 0;
  while (i < rs.length) {
    r1 = r0;
    r0 = rs[i++] ?? 0;
    if (isConnector(r0) && isConnector(r1)) {
      out.push(r1);
      continue;
    }
    if (isConnector(r1)) r0 = toUpper(r0);
    else {
      r0 = toLower(r0);
      out.push(r1);
    }
  }
  out.push(r0);
  return out.map((r) => String.fromCodePoint(r)).join('');
}

enum Word {
  Invalid,
  Number,
  Upper,
  Alphabet,
  Connector,
  Punct,
  Other,
}

interface Next {
  wt: Word;
  start: number;
  end: number;
}

function nextValidRune(rs: number[], at: number, prev: number): [number, number] {
  let size = 0;
  while (at + size < rs.length) {
    const r = rs[at + size] ?? 0;
    size++;
    if (r !== RUNE_ERROR) return [r, size];
  }
  return [prev, size];
}

function nextWord(rs: number[], at: number): Next {
  if (at >= rs.length) return { wt: Word.Invalid, start: at, end: at };
  let offset = 0;
  let [r, size] = nextValidRune(rs, at, RUNE_ERROR);
  offset += size;
  const rem = () => rs.length - (at + offset);
  const done = (wt: Word): Next => ({ wt, start: at, end: at + offset });
  if (r === RUNE_ERROR) return done(Word.Invalid);
  const span = (keep: (r: number) => boolean): void => {
    while (rem() > 0) {
      [r, size] = nextValidRune(rs, at + offset, r);
      if (!keep(r)) break;
      offset += size;
    }
  };
  if (isConnector(r)) {
    span(isConnector);
    return done(Word.Connector);
  }
  if (isPunct(r)) {
    span(isPunct);
    return done(Word.Punct);
  }
  if (isUpper(r)) {
    if (rem() === 0) return done(Word.Upper);
    [r, size] = nextValidRune(rs, at + offset, r);
    if (isUpper(r)) {
      let prevSize = size;
      offset += size;
      while (rem() > 0) {
        [r, size] = nextValidRune(rs, at + offset, r);
        if (!isUpper(r)) break;
        prevSize = size;
        offset += size;
      }
      if (rem() > 0 && isAlphabet(r)) offset -= prevSize;
    } else if (isAlphabet(r)) {
      offset += size;
      span((x) => isAlphabet(x) && !isUpper(x));
    }
    return done(Word.Upper);
  }
  if (isAlphabet(r)) {
    span((x) => isAlphabet(x) && !isUpper(x));
    return done(Word.Alphabet);
  }
  if (isNumber(r)) {
    span(isNumber);
    return done(Word.Number);
  }
  while (rem() > 0) {
    [r, size] = nextValidRune(rs, at + offset, r);
    if (size === 0 || isConnector(r) || isAlphabet(r) || isNumber(r) || isPunct(r)) break;
    offset += size;
  }
  return done(Word.Other);
}

function camelCaseToLowerCase(s: string, connector: number): string {
  if (s === '') return '';
  const rs = Array.from(s, (c) => c.codePointAt(0) ?? 0);
  const out: number[] = [];
  const lowerWord = (w: Next) => {
    if (w.wt !== Word.Upper && w.wt !== Word.Connector) {
      for (let i = w.start; i < w.end; i++) out.push(rs[i] ?? 0);
      return;
    }
    for (let i = w.start; i < w.end; i++) {
      const r = rs[i] ?? 0;
      if (isConnector(r)) out.push(connector);
      else if (isUpper(r)) out.push(toLower(r));
      else out.push(r);
    }
  };
  let w = nextWord(rs, 0);
  while (w.end < rs.length) {
    if (w.wt !== Word.Connector) lowerWord(w);
    const prev = w.wt;
    const last = w;
    w = nextWord(rs, w.end);
    switch (prev) {
      case Word.Number:
        while (w.wt === Word.Alphabet || w.wt === Word.Number) {
          lowerWord(w);
          w = nextWord(rs, w.end);
        }
        if (w.wt !== Word.Invalid && w.wt !== Word.Punct && w.wt !== Word.Connector) out.push(connector);
        break;
      case Word.Connector:
        lowerWord(last);
        break;
      case Word.Punct:
        break;
      default: {
        if (w.wt !== Word.Number) {
          if (w.wt !== Word.Connector && w.wt !== Word.Punct) out.push(connector);
          break;
        }
        if (w.end >= rs.length) break;
        const num = w;
        w = nextWord(rs, w.end);
        if (w.wt !== Word.Alphabet) {
          lowerWord({ ...num, wt: Word.Number });
          if (w.wt !== Word.Connector && w.wt !== Word.Punct) out.push(connector);
          break;
        }
        out.push(connector);
        lowerWord({ ...num, wt: Word.Number });
        while (w.wt === Word.Alphabet || w.wt === Word.Number) {
          lowerWord(w);
          w = nextWord(rs, w.end);
        }
        if (w.wt !== Word.Invalid && w.wt !== Word.Connector && w.wt !== Word.Punct) out.push(connector);
      }
    }
  }
  lowerWord(w);
  return out.map((r) => String.fromCodePoint(r)).join('');
}

// --- sprig --------------------------------------------------------------------------------------

function indent(spaces: number, v: string): string {
  const pad = repeat(' ', spaces, 'indent');
  const lines = v.split('\n').length;
  checkLength(v.length + lines * pad.length, 'indent');
  return pad + v.replaceAll('\n', `\n${pad}`);
}

function trunc(c: number, s: string): string {
  const b = toBinary(s);
  if (c < 0 && b.length + c > 0) return fromBinary(b.slice(b.length + c));
  if (c >= 0 && b.length > c) return fromBinary(b.slice(0, c));
  return s;
}

function substring(start: number, end: number, s: string): string {
  if (start < 0) return byteSlice(s, 0, end);
  const len = toBinary(s).length;
  if (end < 0 || end > len) return byteSlice(s, start);
  return byteSlice(s, start, end);
}

const byCodePoint = (a: string, b: string): number => {
  if (a === b) return 0;
  const x = Array.from(a);
  const y = Array.from(b);
  for (let i = 0; i < x.length && i < y.length; i++) {
    const d = (x[i]?.codePointAt(0) ?? 0) - (y[i]?.codePointAt(0) ?? 0);
    if (d !== 0) return d;
  }
  return x.length - y.length;
};

const byCodeUnit = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** sort.Strings: byte order of the UTF-8 encodings, which is code point order. */
export function sortStrings(items: string[]): string[] {
  // UTF-16 order is code point order unless a surrogate meets a character at U+E000 or above.
  const simple = items.every((s) => !/[\ud800-\uffff]/.test(s));
  return items.sort(simple ? byCodeUnit : byCodePoint);
}

function splitMap(parts: string[]): Value {
  checkItems(parts.length, 'split');
  return stringMap(parts.map((p, i): [string, string] => [`_${i}`, p]));
}

export function stringFuncs(): Record<string, GoFunc> {
  const s2s = (f: (s: string) => string) => def(['string'], 'string', (s) => f(str(s)));
  const ss2s = (f: (a: string, b: string) => string) =>
    def(['string', 'string'], 'string', (a, b) => f(str(a), str(b)));
  const ss2b = (f: (a: string, b: string) => boolean) =>
    def(['string', 'string'], 'bool', (a, b) => f(str(a), str(b)));
  const trimAll = ss2s((a, b) => trimCutset(b, a));
  return {
    hello: def([], 'string', () => 'Hello!'),
    abbrev: def(['int', 'string'], 'string', (w, s) => {
      const width = int(w);
      if (width < 4) return str(s);
      return fromBinary(abbreviateFull(toBinary(str(s)), 0, width) ?? '');
    }),
    abbrevboth: def(['int', 'int', 'string'], 'string', (l, r, s) => {
      const left = int(l);
      const right = int(r);
      if (right < 4 || (left > 0 && right < 7)) return str(s);
      return fromBinary(abbreviateFull(toBinary(str(s)), left, right) ?? '');
    }),
    trunc: def(['int', 'string'], 'string', (c, s) => trunc(int(c), str(s))),
    trim: s2s(trimSpace),
    upper: s2s(goUpper),
    lower: s2s(goLower),
    title: s2s(title),
    untitle: s2s(uncapitalize),
    substr: def(['int', 'int', 'string'], 'string', (a, b, s) => substring(int(a), int(b), str(s))),
    repeat: def(['int', 'string'], 'string', (c, s) => repeat(str(s), int(c), 'repeat')),
    trimall: trimAll,
    trimAll,
    trimSuffix: ss2s((a, b) => (a !== '' && b.endsWith(a) ? b.slice(0, b.length - a.length) : b)),
    trimPrefix: ss2s((a, b) => (a !== '' && b.startsWith(a) ? b.slice(a.length) : b)),
    nospace: s2s(deleteWhiteSpace),
    initials: s2s((s) => (s === '' ? s : initials(s))),
    randAlphaNum: def(['int'], 'string', (n) => randomString(int(n), ALPHA + DIGITS, 'randAlphaNum')),
    randAlpha: def(['int'], 'string', (n) => randomString(int(n), ALPHA, 'randAlpha')),
    randAscii: def(['int'], 'string', (n) => randomString(int(n), ASCII, 'randAscii')),
    randNumeric: def(['int'], 'string', (n) => randomString(int(n), DIGITS, 'randNumeric')),
    swapcase: s2s(swapCase),
    shuffle: s2s(shuffle),
    snakecase: s2s((s) => camelCaseToLowerCase(s, 0x5f)),
    camelcase: s2s(toCamelCase),
    kebabcase: s2s((s) => camelCaseToLowerCase(s, 0x2d)),
    wrap: def(['int', 'string'], 'string', (l, s) => wrapCustom(str(s), int(l), '', false)),
    wrapWith: def(['int', 'string', 'string'], 'string', (l, sep, s) =>
      wrapCustom(str(s), int(l), str(sep), true),
    ),
    contains: ss2b((sub, s) => s.includes(sub)),
    hasPrefix: ss2b((sub, s) => s.startsWith(sub)),
    hasSuffix: ss2b((sub, s) => s.endsWith(sub)),
    quote: def(
      [],
      'string',
      (...vs) =>
        checkSize(
          vs
            .filter((v) => v !== null)
            .map((v) => sprintf('%q', strval(v)))
            .join(' '),
          'quote',
        ),
      { variadic: 'interface {}' },
    ),
    squote: def(
      [],
      'string',
      (...vs) =>
        vs
          .filter((v) => v !== null)
          .map((v) => `'${sprint(v)}'`)
          .join(' '),
      { variadic: 'interface {}' },
    ),
    cat: def(
      [],
      'string',
      (...vs) =>
        checkSize(
          vs
            .filter((v) => v !== null)
            .map((v) => sprint(v))
            .join(' '),
          'cat',
        ),
      { variadic: 'interface {}' },
    ),
    indent: def(['int', 'string'], 'string', (n, v) => indent(int(n), str(v))),
    nindent: def(['int', 'string'], 'string', (n, v) => `\n${indent(int(n), str(v))}`),
    replace: def(['string', 'string', 'string'], 'string', (o, n, s) => replaceAll(str(s), str(o), str(n))),
    plural: def(['string', 'string', 'int'], 'string', (one, many, n) =>
      int(n) === 1 ? str(one) : str(many),
    ),
    split: def(['string', 'string'], 'map[string]string', (sep, s) => splitMap(split(str(s), str(sep)))),
    splitList: def(['string', 'string'], '[]string', (sep, s) => {
      const parts = split(str(s), str(sep));
      checkItems(parts.length, 'splitList');
      return strings(parts);
    }),
    splitn: def(['string', 'int', 'string'], 'map[string]string', (sep, n, s) =>
      splitMap(split(str(s), str(sep), int(n))),
    ),
    join: def(['string', 'interface {}'], 'string', (sep, v) =>
      checkSize(strslice(v).join(str(sep)), 'join'),
    ),
    sortAlpha: def(['interface {}'], '[]string', (v) => {
      if (!(v instanceof GoSlice)) return strings([strval(v)]);
      return strings(sortStrings(strslice(v)));
    }),
  };
}
