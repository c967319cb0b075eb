// Sprig's crypto functions that work without Node or asynchronous WebCrypto: SHA-1, SHA-256 and
// Adler-32 digests, AES-256-CBC as sprig's encryptAES/decryptAES use it, UUIDv4 and random bytes
// (from crypto.getRandomValues). Key and certificate generation, bcrypt and derivePassword are not
// offered (see sprigFuncs).
import type { GoFunc } from '../value.js';
import { base64Decode, base64Encode } from './encoding.js';
import { checkLength, def, fail, fromUtf8, int, str, utf8 } from './go.js';

const hex = (bytes: Uint8Array): string => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');

function pad64(msg: Uint8Array): Uint8Array {
  const len = msg.length;
  const total = Math.ceil((len + 9) / 64) * 64;
  const out = new Uint8Array(total);
  out.set(msg);
  out[len] = 0x80;
  const view = new DataView(out.buffer);
  view.setUint32(total - 8, Math.floor((len * 8) / 2 ** 32));
  view.setUint32(total - 4, (len * 8) >>> 0);
  return out;
}

const rotl = (x: number, n: number): number => (x << n) | (x >>> (32 - n));
const rotr = (x: number, n: number): number => (x >>> n) | (x << (32 - n));

function sha1(msg: Uint8Array): Uint8Array {
  const data = pad64(msg);
  const view = new DataView(data.buffer);
  const h = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0];
  const w = new Int32Array(80);
  for (let off = 0; off < data.length; off += 64) {
    for (let i = 0; i < 16; i++) w[i] = view.getInt32(off + i * 4);
    for (let i = 16; i < 80; i++)
      w[i] = rotl((w[i - 3] ?? 0) ^ (w[i - 8] ?? 0) ^ (w[i - 14] ?? 0) ^ (w[i - 16] ?? 0), 1);
    let [a, b, c, d, e] = h as [number, number, number, number, number];
    for (let i = 0; i < 80; i++) {
      const [f, k] =
        i < 20
          ? [(b & c) | (~b & d), 0x5a827999]
          : i < 40
            ? [b ^ c ^ d, 0x6ed9eba1]
            : i < 60
              ? [(b & c) | (b & d) | (c & d), 0x8f1bbcdc]
              : [b ^ c ^ d, 0xca62c1d6];
      const t = (rotl(a, 5) + f + e + k + (w[i] ?? 0)) | 0;
      e = d;
      d = c;
      c = rotl(b, 30);
      b = a;
      a = t;
    }
    h[0] = ((h[0] ?? 0) + a) | 0;
    h[1] = ((h[1] ?? 0) + b) | 0;
    h[2] = ((h[2] ?? 0) + c) | 0;
    h[3] = ((h[3] ?? 0) + d) | 0;
    h[4] = ((h[4] ?? 0) + e) | 0;
  }
  const out = new Uint8Array(20);
  const ov = new DataView(out.buffer);
  for (let i = 0; i < h.length; i++) ov.setInt32(i * 4, h[i] ?? 0);
  return out;
}

const K256 = Int32Array.from([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98,
  0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
  0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8,
  0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
  0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
  0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
  0xc67178f2,
]);

function sha256(msg: Uint8Array): Uint8Array {
  const data = pad64(msg);
  const view = new DataView(data.buffer);
  const h = Int32Array.from([
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
  ]);
  const w = new Int32Array(64);
  for (let off = 0; off < data.length; off += 64) {
    for (let i = 0; i < 16; i++) w[i] = view.getInt32(off + i * 4);
    for (let i = 16; i < 64; i++) {
      const x = w[i - 15] ?? 0;
      const y = w[i - 2] ?? 0;
      const s0 = rotr(x, 7) ^ rotr(x, 18) ^ (x >>> 3);
      const s1 = rotr(y, 17) ^ rotr(y, 19) ^ (y >>> 10);
      w[i] = ((w[i - 16] ?? 0) + s0 + (w[i - 7] ?? 0) + s1) | 0;
    }
    let [a, b, c, d, e, f, g, hh] = h as unknown as [
      number,
      number,
      number,
      number,
      number,
      number,
      number,
      number,
    ];
    for (let i = 0; i < 64; i++) {
      const S1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25);
      const ch = (e & f) ^ (~e & g);
      const t1 = (hh + S1 + ch + (K256[i] ?? 0) + (w[i] ?? 0)) | 0;
      const S0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22);
      const maj = (a & b) ^ (a & c) ^ (b & c);
      const t2 = (S0 + maj) | 0;
      hh = g;
      g = f;
      f = e;
      e = (d + t1) | 0;
      d = c;
      c = b;
      b = a;
      a = (t1 + t2) | 0;
    }
    const add = [a, b, c, d, e, f, g, hh];
    for (let i = 0; i < 8; i++) h[i] = ((h[i] ?? 0) + (add[i] ?? 0)) | 0;
  }
  const out = new Uint8Array(32);
  const ov = new DataView(out.buffer);
  for (let i = 0; i < h.length; i++) ov.setInt32(i * 4, h[i] ?? 0);
  return out;
}

function adler32(data: Uint8Array): number {
  let a = 1;
  let b = 0;
  for (let i = 0; i < data.length; i += 5552) {
    const end = Math.min(i + 5552, data.length);
    for (let j = i; j < end; j++) {
      a += data[j] ?? 0;
      b += a;
    }
    a %= 65521;
    b %= 65521;
  }
  return ((b << 16) | a) >>> 0;
}

// --- AES ------------------------------------------------------------------------------------------

interface AesTables {
  sbox: Uint8Array;
  inv: Uint8Array;
}

function aesTables(): AesTables {
  const sbox = new Uint8Array(256);
  const inv = new Uint8Array(256);
  let p = 1;
  let q = 1;
  do {
    p = p ^ ((p << 1) & 0xff) ^ (p & 0x80 ? 0x1b : 0);
    q ^= q << 1;
    q ^= q << 2;
    q ^= q << 4;
    q &= 0xff;
    if (q & 0x80) q ^= 0x09;
    const x = q ^ rotl8(q, 1) ^ rotl8(q, 2) ^ rotl8(q, 3) ^ rotl8(q, 4) ^ 0x63;
    sbox[p] = x;
    inv[x] = p;
  } while (p !== 1);
  sbox[0] = 0x63;
  inv[0x63] = 0;
  return { sbox, inv };
}
const rotl8 = (x: number, n: number): number => ((x << n) | (x >> (8 - n))) & 0xff;
const xtime = (x: number): number => ((x << 1) ^ (x & 0x80 ? 0x1b : 0)) & 0xff;
function gmul(a: number, b: number): number {
  let r = 0;
  while (b) {
    if (b & 1) r ^= a;
    a = xtime(a);
    b >>= 1;
  }
  return r;
}

class Aes256 {
  private readonly rounds: Uint8Array[];
  constructor(
    key: Uint8Array,
    private readonly t: AesTables,
  ) {
    const w = new Uint8Array(240);
    w.set(key);
    let rcon = 1;
    for (let i = 32; i < 240; i += 4) {
      let temp = [w[i - 4] ?? 0, w[i - 3] ?? 0, w[i - 2] ?? 0, w[i - 1] ?? 0];
      if (i % 32 === 0) {
        temp = [
          t.sbox[temp[1] ?? 0] ?? 0,
          t.sbox[temp[2] ?? 0] ?? 0,
          t.sbox[temp[3] ?? 0] ?? 0,
          t.sbox[temp[0] ?? 0] ?? 0,
        ];
        temp[0] = (temp[0] ?? 0) ^ rcon;
        rcon = xtime(rcon);
      } else if (i % 32 === 16) temp = temp.map((b) => t.sbox[b] ?? 0);
      for (let k = 0; k < 4; k++) w[i + k] = (w[i - 32 + k] ?? 0) ^ (temp[k] ?? 0);
    }
    this.rounds = Array.from({ length: 15 }, (_, r) => w.subarray(r * 16, r * 16 + 16));
  }

  decryptBlock(block: Uint8Array): Uint8Array {
    const s = Uint8Array.from(block);
    const addKey = (r: number) => {
      const k = this.rounds[r] as Uint8Array;
      for (let i = 0; i < 16; i++) s[i] = (s[i] ?? 0) ^ (k[i] ?? 0);
    };
    addKey(14);
    for (let round = 13; round >= 0; round--) {
      // InvShiftRows then InvSubBytes.
      const tmp = Uint8Array.from(s);
      for (let c = 0; c < 4; c++)
        for (let r = 0; r < 4; r++) s[((c + r) % 4) * 4 + r] = this.t.inv[tmp[c * 4 + r] ?? 0] ?? 0;
      addKey(round);
      if (round > 0) {
        for (let c = 0; c < 4; c++) {
          const [a0, a1, a2, a3] = [s[c * 4] ?? 0, s[c * 4 + 1] ?? 0, s[c * 4 + 2] ?? 0, s[c * 4 + 3] ?? 0];
          s[c * 4] = gmul(a0, 14) ^ gmul(a1, 11) ^ gmul(a2, 13) ^ gmul(a3, 9);
          s[c * 4 + 1] = gmul(a0, 9) ^ gmul(a1, 14) ^ gmul(a2, 11) ^ gmul(a3, 13);
          s[c * 4 + 2] = gmul(a0, 13) ^ gmul(a1, 9) ^ gmul(a2, 14) ^ gmul(a3, 11);
          s[c * 4 + 3] = gmul(a0, 11) ^ gmul(a1, 13) ^ gmul(a2, 9) ^ gmul(a3, 14);
        }
      }
    }
    return s;
  }

  encryptBlock(block: Uint8Array): Uint8Array {
    const s = Uint8Array.from(block);
    const addKey = (r: number) => {
      const k = this.rounds[r] as Uint8Array;
      for (let i = 0; i < 16; i++) s[i] = (s[i] ?? 0) ^ (k[i] ?? 0);
    };
    addKey(0);
    for (let round = 1; round <= 14; round++) {
      const tmp = Uint8Array.from(s);
      for (let c = 0; c < 4; c++)
        for (let r = 0; r < 4; r++) s[c * 4 + r] = this.t.sbox[tmp[((c + r) % 4) * 4 + r] ?? 0] ?? 0;
      if (round < 14) {
        for (let c = 0; c < 4; c++) {
          const [a0, a1, a2, a3] = [s[c * 4] ?? 0, s[c * 4 + 1] ?? 0, s[c * 4 + 2] ?? 0, s[c * 4 + 3] ?? 0];
          s[c * 4] = xtime(a0) ^ (xtime(a1) ^ a1) ^ a2 ^ a3;
          s[c * 4 + 1] = a0 ^ xtime(a1) ^ (xtime(a2) ^ a2) ^ a3;
          s[c * 4 + 2] = a0 ^ a1 ^ xtime(a2) ^ (xtime(a3) ^ a3);
          s[c * 4 + 3] = xtime(a0) ^ a0 ^ a1 ^ a2 ^ xtime(a3);
        }
      }
      addKey(round);
    }
    return s;
  }
}

function aesKey(password: string): Uint8Array {
  const key = new Uint8Array(32);
  key.set(utf8(password).subarray(0, 32));
  return key;
}

function encryptAES(tables: AesTables, password: string, plaintext: string): string {
  if (plaintext === '') return '';
  const aes = new Aes256(aesKey(password), tables);
  const content = utf8(plaintext);
  const padding = 16 - (content.length % 16);
  checkLength(((content.length + padding + 16) * 4) / 3, 'encryptAES');
  const padded = new Uint8Array(content.length + padding).fill(padding);
  padded.set(content);
  const out = new Uint8Array(16 + padded.length);
  crypto.getRandomValues(out.subarray(0, 16));
  let prev = out.subarray(0, 16);
  for (let i = 0; i < padded.length; i += 16) {
    const block = padded.slice(i, i + 16);
    for (let k = 0; k < 16; k++) block[k] = (block[k] ?? 0) ^ (prev[k] ?? 0);
    const enc = aes.encryptBlock(block);
    out.set(enc, 16 + i);
    prev = out.subarray(16 + i, 32 + i);
  }
  return base64Encode(out);
}

function decryptAES(tables: AesTables, password: string, crypt64: string): string {
  if (crypt64 === '') return '';
  let crypt: Uint8Array;
  try {
    crypt = base64Decode(crypt64);
  } catch (e) {
    return fail(e instanceof Error ? e.message : String(e));
  }
  const aes = new Aes256(aesKey(password), tables);
  if (crypt.length < 16) fail('runtime error: slice bounds out of range');
  const iv = crypt.subarray(0, 16);
  const body = crypt.subarray(16);
  if (body.length % 16 !== 0) fail('crypto/cipher: input not full blocks');
  const out = new Uint8Array(body.length);
  let prev = iv;
  for (let i = 0; i < body.length; i += 16) {
    const block = body.subarray(i, i + 16);
    const dec = aes.decryptBlock(block);
    for (let k = 0; k < 16; k++) out[i + k] = (dec[k] ?? 0) ^ (prev[k] ?? 0);
    prev = block;
  }
  if (out.length === 0) fail('runtime error: index out of range [-1]');
  const pad = out[out.length - 1] ?? 0;
  if (pad > out.length) fail('runtime error: slice bounds out of range');
  return fromUtf8(out.subarray(0, out.length - pad));
}

function uuidv4(): string {
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  b[6] = ((b[6] ?? 0) & 0x0f) | 0x40;
  b[8] = ((b[8] ?? 0) & 0x3f) | 0x80;
  const h = hex(b);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function randBytes(count: number): string {
  if (count < 0) fail('runtime error: makeslice: len out of range');
  checkLength((count * 4) / 3, 'randBytes');
  const b = new Uint8Array(count);
  for (let i = 0; i < count; i += 65536) crypto.getRandomValues(b.subarray(i, Math.min(count, i + 65536)));
  return base64Encode(b);
}

export function cryptoFuncs(): Record<string, GoFunc> {
  let tables: AesTables | undefined;
  const aes = () => {
    tables ??= aesTables();
    return tables;
  };
  return {
    sha1sum: def(['string'], 'string', (s) => hex(sha1(utf8(str(s))))),
    sha256sum: def(['string'], 'string', (s) => hex(sha256(utf8(str(s))))),
    adler32sum: def(['string'], 'string', (s) => String(adler32(utf8(str(s))))),
    uuidv4: def([], 'string', () => uuidv4()),
    randBytes: def(['int'], 'string', (n) => randBytes(int(n)), { canFail: true }),
    encryptAES: def(['string', 'string'], 'string', (p, t) => encryptAES(aes(), str(p), str(t)), {
      canFail: true,
    }),
    decryptAES: def(['string', 'string'], 'string', (p, c) => decryptAES(aes(), str(p), str(c)), {
      canFail: true,
    }),
  };
}
