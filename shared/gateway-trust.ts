// What the gateway's clients (the agent, `commander tunnel`) trust: the CA file they verify the
// gateway's certificate with, and the public keys pinned on top of that verification.
import { createHash, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { type ConnectionOptions, checkServerIdentity, type PeerCertificate } from 'node:tls';
import { ConfigError } from './config.js';

/** A CA file that cannot be read is a configuration error now, not a failed dial forever. */
export function readCaFile(path: string, name = '--ca-file'): Buffer {
  let pem: Buffer;
  try {
    pem = readFileSync(path);
  } catch (error) {
    throw new ConfigError(name, `cannot read ${path}: ${(error as Error).message}`);
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----'))
    throw new ConfigError(name, `${path} holds no PEM certificate`);
  return pem;
}

const PIN_BYTES = 32;

/**
 * One --pin-sha256: the base64 SHA-256 of a certificate's DER SubjectPublicKeyInfo, as HPKP's
 * pin-sha256 and curl's --pinnedpubkey sha256// spell it. Returned in canonical form.
 */
export function parsePin(raw: string): string {
  const text = raw.trim();
  const bytes = Buffer.from(text, 'base64');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text) || bytes.length !== PIN_BYTES || bytes.toString('base64') !== text)
    throw new ConfigError(
      '--pin-sha256',
      `must be the base64 SHA-256 of a public key (${PIN_BYTES} bytes, 44 characters), got "${raw}"`,
    );
  return text;
}

/** The pin-sha256 of a DER certificate's public key. */
export function pinOf(certificate: Buffer): string {
  const spki = new X509Certificate(certificate).publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(spki).digest('base64');
}

/** The pins of every certificate in a verified chain, leaf first (Node links it by issuerCertificate). */
function chainPins(leaf: PeerCertificate): string[] {
  const pins: string[] = [];
  const seen = new Set<PeerCertificate>();
  let cert: PeerCertificate | undefined = leaf;
  while (cert?.raw && !seen.has(cert)) {
    seen.add(cert);
    pins.push(pinOf(cert.raw));
    cert = (cert as PeerCertificate & { issuerCertificate?: PeerCertificate }).issuerCertificate;
  }
  return pins;
}

export interface GatewayTrust {
  /** PEM certificates to trust instead of the system's CAs. */
  ca?: Buffer;
  insecureSkipTlsVerify?: boolean;
  /** When set, the verified chain must hold one of these keys (any of them: old and new during a rotation). */
  pins?: readonly string[];
}

/**
 * TLS options for a connection to the gateway. A pin is checked where the host name is: after
 * the chain verified and before a byte of the request is sent, so a proxy that ends TLS with a
 * key of its own (trusted CA or not) gets nothing.
 */
export function gatewayTls(trust: GatewayTrust): ConnectionOptions {
  const pins = trust.pins ?? [];
  return {
    ca: trust.ca,
    rejectUnauthorized: !trust.insecureSkipTlsVerify,
    ...(pins.length > 0
      ? {
          checkServerIdentity(host: string, cert: PeerCertificate) {
            const wrongName = checkServerIdentity(host, cert);
            if (wrongName) return wrongName;
            const presented = chainPins(cert);
            if (presented.some((pin) => pins.includes(pin))) return undefined;
            return new Error(
              `the gateway's certificate chain holds none of the pinned keys (--pin-sha256); its keys are ${presented.join(', ')}`,
            );
          },
        }
      : {}),
  };
}
