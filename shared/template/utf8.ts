// Go strings are byte sequences. Here a Go string is a JS string in which valid UTF-8 is ordinary
// text and every byte that is not part of valid UTF-8 is the lone surrogate U+DC80+byte (the
// "surrogateescape" convention), so slicing a string in the middle of a character and printing
// it gives back the exact bytes Go prints. Lone surrogates never occur otherwise: text from
// outside goes through `wellFormed` first (as Go's JSON decoder turns them into U+FFFD).

const ESCAPE_BASE = 0xdc00; // + a byte 0x80..0xff: U+DC80..U+DCFF
// biome-ignore lint/suspicious/noControlCharactersInRegex: the ASCII range is the point
const NON_ASCII = /[^\u0000-\u007f]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const LONE_SURROGATES = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** The Unicode replacement character, what Go decodes an invalid byte to. */
export const RUNE_ERROR = 0xfffd;

export function isAscii(s: string): boolean {
  return !NON_ASCII.test(s);
}

/** Text from outside (JSON, the API) with lone surrogates replaced by U+FFFD, as Go decodes it. */
export function wellFormed(s: string): string {
  return LONE_SURROGATE.test(s) ? s.replace(LONE_SURROGATES, '\ufffd') : s;
}

/** An escaped byte (U+DC80..U+DCFF standing alone), or -1. */
function escapedByte(s: string, i: number): number {
  const c = s.charCodeAt(i);
  if (c < 0xdc80 || c > 0xdcff) return -1;
  const before = i > 0 ? s.charCodeAt(i - 1) : 0;
  return before >= 0xd800 && before <= 0xdbff ? -1 : c - ESCAPE_BASE;
}

/** len(s) in Go: the number of bytes. */
export function byteLength(s: string): number {
  if (!NON_ASCII.test(s)) return s.length;
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && isLow(s.charCodeAt(i + 1))) {
      n += 4;
      i++;
    } else if (escapedByte(s, i) >= 0) n += 1;
    else n += 3;
  }
  return n;
}

function isLow(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}

/** The bytes of a Go string. */
export function toBytes(s: string): Uint8Array {
  const out = new Uint8Array(byteLength(s));
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) {
      out[n++] = c;
      continue;
    }
    if (c < 0x800) {
      out[n++] = 0xc0 | (c >> 6);
      out[n++] = 0x80 | (c & 0x3f);
      continue;
    }
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && isLow(s.charCodeAt(i + 1))) {
      c = 0x10000 + ((c - 0xd800) << 10) + (s.charCodeAt(i + 1) - 0xdc00);
      i++;
      out[n++] = 0xf0 | (c >> 18);
      out[n++] = 0x80 | ((c >> 12) & 0x3f);
      out[n++] = 0x80 | ((c >> 6) & 0x3f);
      out[n++] = 0x80 | (c & 0x3f);
      continue;
    }
    const escaped = escapedByte(s, i);
    if (escaped >= 0) {
      out[n++] = escaped;
      continue;
    }
    if (c >= 0xd800 && c <= 0xdfff) c = RUNE_ERROR;
    out[n++] = 0xe0 | (c >> 12);
    out[n++] = 0x80 | ((c >> 6) & 0x3f);
    out[n++] = 0x80 | (c & 0x3f);
  }
  return out;
}

/**
 * utf8.DecodeRune: the rune at b[i] and its size in bytes; an invalid byte decodes as
 * (RUNE_ERROR, 1), exactly as Go's decoder (which rejects overlong forms and surrogates).
 */
export function decodeRune(b: Uint8Array, i: number, end = b.length): [rune: number, size: number] {
  const b0 = b[i] as number;
  if (b0 < 0x80) return [b0, 1];
  let size: number;
  let lo = 0x80;
  let hi = 0xbf;
  if (b0 >= 0xc2 && b0 <= 0xdf) size = 2;
  else if (b0 >= 0xe0 && b0 <= 0xef) {
    size = 3;
    if (b0 === 0xe0) lo = 0xa0;
    else if (b0 === 0xed) hi = 0x9f;
  } else if (b0 >= 0xf0 && b0 <= 0xf4) {
    size = 4;
    if (b0 === 0xf0) lo = 0x90;
    else if (b0 === 0xf4) hi = 0x8f;
  } else return [RUNE_ERROR, 1];
  if (i + size > end) {
    // Go still rejects at the first bad byte; a short sequence is invalid as a whole.
    return [RUNE_ERROR, 1];
  }
  const b1 = b[i + 1] as number;
  if (b1 < lo || b1 > hi) return [RUNE_ERROR, 1];
  if (size === 2) return [((b0 & 0x1f) << 6) | (b1 & 0x3f), 2];
  const b2 = b[i + 2] as number;
  if (b2 < 0x80 || b2 > 0xbf) return [RUNE_ERROR, 1];
  if (size === 3) return [((b0 & 0x0f) << 12) | ((b1 & 0x3f) << 6) | (b2 & 0x3f), 3];
  const b3 = b[i + 3] as number;
  if (b3 < 0x80 || b3 > 0xbf) return [RUNE_ERROR, 1];
  return [((b0 & 0x07) << 18) | ((b1 & 0x3f) << 12) | ((b2 & 0x3f) << 6) | (b3 & 0x3f), 4];
}

/** The Go string whose bytes are b[start:end]. */
export function fromBytes(b: Uint8Array, start = 0, end = b.length): string {
  let out = '';
  let run = start; // start of a run of plain ASCII
  let i = start;
  while (i < end) {
    const c = b[i] as number;
    if (c < 0x80) {
      i++;
      continue;
    }
    if (i > run) out += asciiRun(b, run, i);
    const [r, size] = decodeRune(b, i, end);
    if (r === RUNE_ERROR && size === 1) out += String.fromCharCode(ESCAPE_BASE + c);
    else out += String.fromCodePoint(r);
    i += size;
    run = i;
  }
  if (end > run) out += asciiRun(b, run, end);
  return out;
}

function asciiRun(b: Uint8Array, start: number, end: number): string {
  let out = '';
  for (let i = start; i < end; i += 8192)
    out += String.fromCharCode(...b.subarray(i, Math.min(end, i + 8192)));
  return out;
}

/** s[i:j] in Go (byte offsets, already checked to be in range). */
export function sliceBytes(s: string, i: number, j: number): string {
  if (!NON_ASCII.test(s)) return s.slice(i, j);
  return fromBytes(toBytes(s), i, j);
}

/** s[i] in Go: the byte at offset i (already checked to be in range). */
export function byteAt(s: string, i: number): number {
  if (!NON_ASCII.test(s)) return s.charCodeAt(i);
  return toBytes(s)[i] as number;
}

/** The same Go string in canonical form: bytes that together form valid UTF-8 become characters. */
export function canonical(s: string): string {
  for (let i = 0; i < s.length; i++) if (escapedByte(s, i) >= 0) return fromBytes(toBytes(s));
  return s;
}

/** `for _, r := range s` in Go: each rune with its size; an invalid byte is (RUNE_ERROR, 1) and `invalid`. */
export function* runes(s: string): Generator<{ rune: number; size: number; invalid: boolean; text: string }> {
  const c = canonical(s);
  for (let i = 0; i < c.length; ) {
    const code = c.codePointAt(i) as number;
    const width = code > 0xffff ? 2 : 1;
    const text = c.slice(i, i + width);
    const escaped = escapedByte(c, i);
    if (escaped >= 0) yield { rune: RUNE_ERROR, size: 1, invalid: true, text };
    else
      yield {
        rune: code,
        size: code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4,
        invalid: false,
        text,
      };
    i += width;
  }
}

/** utf8.RuneCountInString: invalid bytes count one each. */
export function runeCount(s: string): number {
  if (!NON_ASCII.test(s)) return s.length;
  let n = 0;
  for (const _ of runes(s)) n++;
  return n;
}

/** The bytes of `s`, as the output of a template is written (every escaped byte back to itself). */
export function encodeOutput(s: string): Uint8Array {
  if (!NON_ASCII.test(s)) {
    const out = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
    return out;
  }
  return toBytes(s);
}

/** `s` as a well-formed JS string: each escaped byte becomes U+FFFD, what a UTF-8 reader of Go's bytes shows. */
export function displayString(s: string): string {
  return wellFormed(s);
}
