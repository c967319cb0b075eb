// Go's unicode package for one rune at a time: the class predicates and the simple (one rune to
// one rune) case mappings, which differ from JavaScript's full mappings (ß stays ß in Go).

const re = (cls: string) => new RegExp(`^${cls}$`, 'u');
const upperRe = re('\\p{Lu}');
const lowerRe = re('\\p{Ll}');
const titleRe = re('\\p{Lt}');
const letterRe = re('\\p{L}');
const digitRe = re('\\p{Nd}');
const numberRe = re('\\p{N}');
const punctRe = re('\\p{P}');
const spaceRe = re('\\p{White_Space}');

const ch = (r: number): string => String.fromCodePoint(r);

export function isSpace(r: number): boolean {
  if (r <= 0xff) return r === 0x20 || (r >= 0x09 && r <= 0x0d) || r === 0x85 || r === 0xa0;
  return spaceRe.test(ch(r));
}

export const isUpper = (r: number): boolean => (r < 0x80 ? r >= 0x41 && r <= 0x5a : upperRe.test(ch(r)));
export const isLower = (r: number): boolean => (r < 0x80 ? r >= 0x61 && r <= 0x7a : lowerRe.test(ch(r)));
export const isTitle = (r: number): boolean => r >= 0x80 && titleRe.test(ch(r));
export const isLetter = (r: number): boolean =>
  r < 0x80 ? (r | 0x20) >= 0x61 && (r | 0x20) <= 0x7a : letterRe.test(ch(r));
export const isDigit = (r: number): boolean => (r < 0x80 ? r >= 0x30 && r <= 0x39 : digitRe.test(ch(r)));
export const isNumber = (r: number): boolean => (r < 0x80 ? r >= 0x30 && r <= 0x39 : numberRe.test(ch(r)));
export const isPunct = (r: number): boolean => punctRe.test(ch(r));

// Simple mappings JavaScript only offers as multi-rune full mappings.
function simpleUpperException(r: number): number | undefined {
  if ((r >= 0x1f80 && r <= 0x1f87) || (r >= 0x1f90 && r <= 0x1f97) || (r >= 0x1fa0 && r <= 0x1fa7))
    return r + 8;
  if (r === 0x1fb3 || r === 0x1fc3 || r === 0x1ff3) return r + 9;
  return undefined;
}

function single(s: string): number | undefined {
  const cp = s.codePointAt(0);
  return cp !== undefined && s.length === (cp > 0xffff ? 2 : 1) ? cp : undefined;
}

export function toUpper(r: number): number {
  if (r < 0x80) return r >= 0x61 && r <= 0x7a ? r - 32 : r;
  return simpleUpperException(r) ?? single(ch(r).toUpperCase()) ?? r;
}

export function toLower(r: number): number {
  if (r < 0x80) return r >= 0x41 && r <= 0x5a ? r + 32 : r;
  if (r === 0x130) return 0x69;
  return single(ch(r).toLowerCase()) ?? r;
}

const titleDigraphs = new Map<number, number>([
  [0x1c4, 0x1c5],
  [0x1c5, 0x1c5],
  [0x1c6, 0x1c5],
  [0x1c7, 0x1c8],
  [0x1c8, 0x1c8],
  [0x1c9, 0x1c8],
  [0x1ca, 0x1cb],
  [0x1cb, 0x1cb],
  [0x1cc, 0x1cb],
  [0x1f1, 0x1f2],
  [0x1f2, 0x1f2],
  [0x1f3, 0x1f2],
]);

export function toTitle(r: number): number {
  const digraph = titleDigraphs.get(r);
  if (digraph !== undefined) return digraph;
  // Georgian Mkhedruli has an uppercase (Mtavruli) but is its own title case.
  if ((r >= 0x10d0 && r <= 0x10fa) || (r >= 0x10fd && r <= 0x10ff)) return r;
  if (r >= 0x1f88 && r <= 0x1faf && (r & 0xf) >= 8) return r;
  if (r === 0x1fbc || r === 0x1fcc || r === 0x1ffc) return r;
  return toUpper(r);
}

/** strings.Map over runes (a byte that is not UTF-8, kept as an escape, is Go's RuneError). */
export function mapRunes(s: string, f: (r: number) => number): string {
  let out = '';
  for (const c of s) out += String.fromCodePoint(f(runeOf(c)));
  return out;
}

/** The rune of one character of a Go string: escaped bytes (lone U+DC80..U+DCFF) are U+FFFD. */
function runeOf(c: string): number {
  const r = c.codePointAt(0) ?? 0;
  return r >= 0xdc80 && r <= 0xdcff ? 0xfffd : r;
}
