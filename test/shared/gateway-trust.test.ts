// The one parser of --pin-sha256 and the pin of a certificate, checked against openssl's.
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../shared/config.js';
import { parsePin, pinOf } from '../../shared/gateway-trust.js';
import { tempDir } from '../e2e/helpers.js';
import { issueServerCertificate, makeCa, opensslPin } from '../support/certs.js';

describe('gateway trust', () => {
  const dir = tempDir('commander-trust-');
  afterAll(() => dir.remove());

  it('computes the pin openssl computes, for a CA and for a leaf', () => {
    const ca = makeCa(dir.path, 'ca');
    const leaf = issueServerCertificate(ca, dir.path, 'leaf');
    for (const { certFile } of [ca, leaf]) {
      const der = new X509Certificate(readFileSync(certFile)).raw;
      expect(pinOf(der)).toBe(opensslPin(certFile));
    }
    expect(opensslPin(ca.certFile)).not.toBe(opensslPin(leaf.certFile));
  });

  it('takes exactly the base64 of 32 bytes, in canonical form', () => {
    const pin = Buffer.alloc(32, 0xab).toString('base64');
    expect(parsePin(pin)).toBe(pin);
    expect(parsePin(` ${pin} `)).toBe(pin);
    const bad = [
      '',
      `sha256//${pin}`,
      pin.slice(0, -1),
      Buffer.alloc(31).toString('base64'),
      Buffer.alloc(33).toString('base64'),
      Buffer.alloc(32).toString('base64url'),
      `${pin.slice(0, 42)}B=`,
      `${pin}=`,
    ];
    for (const raw of bad) {
      expect(() => parsePin(raw), raw).toThrow(ConfigError);
      expect(() => parsePin(raw), raw).toThrow(/^--pin-sha256: /);
    }
  });
});
