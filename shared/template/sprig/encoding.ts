// Base64 and base32 as Go's encoding packages do them, including their error texts (sprig's
// b64dec/b32dec print the error instead of failing).
import type { GoFunc } from '../value.js';
import { checkLength, def, fromUtf8, str, utf8 } from './go.js';

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

function decodeMap(alphabet: string): Uint8Array {
  const map = new Uint8Array(256).fill(0xff);
  for (let i = 0; i < alphabet.length; i++) map[alphabet.charCodeAt(i)] = i;
  return map;
}
const B64_MAP = decodeMap(B64);
const B32_MAP = decodeMap(B32);

export function base64Encode(bytes: Uint8Array): string {
  checkLength(Math.ceil(bytes.length / 3) * 4, 'b64enc');
  let out = '';
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const v = ((bytes[i] ?? 0) << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    out += B64[v >> 18] + (B64[(v >> 12) & 63] ?? '') + (B64[(v >> 6) & 63] ?? '') + (B64[v & 63] ?? '');
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const v = (bytes[i] ?? 0) << 16;
    out += `${B64[v >> 18]}${B64[(v >> 12) & 63]}==`;
  } else if (rest === 2) {
    const v = ((bytes[i] ?? 0) << 16) | ((bytes[i + 1] ?? 0) << 8);
    out += `${B64[v >> 18]}${B64[(v >> 12) & 63]}${B64[(v >> 6) & 63]}=`;
  }
  return out;
}

class CorruptInput extends Error {
  constructor(
    readonly offset: number,
    kind: string,
  ) {
    super(`illegal ${kind} data at input byte ${offset}`);
  }
}

/** base64.StdEncoding.DecodeString: `\r` and `\n` are skipped; errors name the byte offset. */
export function base64Decode(s: string): Uint8Array {
  const src = utf8(s);
  const out: number[] = [];
  let si = 0;
  while (si < src.length) {
    const dbuf = [0, 0, 0, 0];
    let dlen = 4;
    let trailing: number | undefined;
    for (let j = 0; j < 4; j++) {
      if (src.length === si) {
        if (j === 0) return Uint8Array.from(out);
        throw new CorruptInput(si - j, 'base64');
      }
      const c = src[si++] ?? 0;
      const v = B64_MAP[c] ?? 0xff;
      if (v !== 0xff) {
        dbuf[j] = v;
        continue;
      }
      if (c === 0x0a || c === 0x0d) {
        j--;
        continue;
      }
      if (c !== 0x3d) throw new CorruptInput(si - 1, 'base64');
      if (j === 0 || j === 1) throw new CorruptInput(si - 1, 'base64');
      if (j === 2) {
        while (si < src.length && (src[si] === 0x0a || src[si] === 0x0d)) si++;
        if (si === src.length) throw new CorruptInput(src.length, 'base64');
        if (src[si] !== 0x3d) throw new CorruptInput(si - 1, 'base64');
        si++;
      }
      while (si < src.length && (src[si] === 0x0a || src[si] === 0x0d)) si++;
      if (si < src.length) trailing = si;
      dlen = j;
      break;
    }
    const val = ((dbuf[0] ?? 0) << 18) | ((dbuf[1] ?? 0) << 12) | ((dbuf[2] ?? 0) << 6) | (dbuf[3] ?? 0);
    const bytes = [(val >> 16) & 0xff, (val >> 8) & 0xff, val & 0xff];
    out.push(...bytes.slice(0, dlen - 1));
    if (trailing !== undefined) throw new CorruptInput(trailing, 'base64');
  }
  return Uint8Array.from(out);
}

function base32Encode(bytes: Uint8Array): string {
  checkLength(Math.ceil(bytes.length / 5) * 8, 'b32enc');
  let out = '';
  for (let i = 0; i < bytes.length; i += 5) {
    const chunk = bytes.subarray(i, i + 5);
    let bits = 0n;
    for (let k = 0; k < 5; k++) bits = (bits << 8n) | BigInt(chunk[k] ?? 0);
    const chars = [2, 4, 5, 7, 8][chunk.length - 1] ?? 0;
    for (let k = 0; k < 8; k++) {
      out += k < chars ? B32[Number((bits >> BigInt(35 - 5 * k)) & 31n)] : '=';
    }
  }
  return out;
}

/** base32.StdEncoding.DecodeString. */
function base32Decode(s: string): Uint8Array {
  const src = utf8(s).filter((b) => b !== 0x0a && b !== 0x0d);
  const olen = src.length;
  const out: number[] = [];
  let at = 0;
  let end = false;
  while (olen - at > 0 && !end) {
    const dbuf = [0, 0, 0, 0, 0, 0, 0, 0];
    let dlen = 8;
    for (let j = 0; j < 8; ) {
      const left = olen - at;
      if (left === 0) throw new CorruptInput(olen - left - j, 'base32');
      const c = src[at++] ?? 0;
      const remaining = olen - at;
      if (c === 0x3d && j >= 2 && remaining < 8) {
        if (remaining + j < 7) throw new CorruptInput(olen, 'base32');
        for (let k = 0; k < 7 - j; k++) {
          if (remaining > k && src[at + k] !== 0x3d)
            throw new CorruptInput(olen - remaining + k - 1, 'base32');
        }
        dlen = j;
        end = true;
        if (dlen === 1 || dlen === 3 || dlen === 6) throw new CorruptInput(olen - remaining - 1, 'base32');
        break;
      }
      const v = B32_MAP[c] ?? 0xff;
      if (v === 0xff) throw new CorruptInput(olen - remaining - 1, 'base32');
      dbuf[j] = v;
      j++;
    }
    const d = dbuf.map((x) => x ?? 0) as [number, number, number, number, number, number, number, number];
    const bytes = [
      ((d[0] << 3) | (d[1] >> 2)) & 0xff,
      ((d[1] << 6) | (d[2] << 1) | (d[3] >> 4)) & 0xff,
      ((d[3] << 4) | (d[4] >> 1)) & 0xff,
      ((d[4] << 7) | (d[5] << 2) | (d[6] >> 3)) & 0xff,
      ((d[6] << 5) | d[7]) & 0xff,
    ];
    const n = { 8: 5, 7: 4, 5: 3, 4: 2, 2: 1 }[dlen] ?? 0;
    out.push(...bytes.slice(0, n));
  }
  return Uint8Array.from(out);
}

function decodeOrError(decode: (s: string) => Uint8Array, s: string): string {
  try {
    return fromUtf8(decode(s));
  } catch (e) {
    if (e instanceof CorruptInput) return e.message;
    throw e;
  }
}

export function encodingFuncs(): Record<string, GoFunc> {
  return {
    b64enc: def(['string'], 'string', (s) => base64Encode(utf8(str(s)))),
    b64dec: def(['string'], 'string', (s) => decodeOrError(base64Decode, str(s))),
    b32enc: def(['string'], 'string', (s) => base32Encode(utf8(str(s)))),
    b32dec: def(['string'], 'string', (s) => decodeOrError(base32Decode, str(s))),
  };
}
