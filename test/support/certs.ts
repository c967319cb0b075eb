// Certificates for TLS tests, made with openssl as an operator would: a private CA, a server
// certificate it signs (localhost, 127.0.0.1), and the pin-sha256 of a certificate's key.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { selfSigned, type TlsFiles } from '../../bench/certificates.js';

export type TestCertificate = TlsFiles;

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A self-signed CA named `name`, in `dir`. */
export function makeCa(dir: string, name: string): TestCertificate {
  return selfSigned(dir, name, `/CN=${name}`, [
    'basicConstraints=critical,CA:TRUE',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
}

/** A server certificate for localhost and 127.0.0.1, signed by `ca`, with a key of its own. */
export function issueServerCertificate(ca: TestCertificate, dir: string, name: string): TestCertificate {
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const extensions = join(dir, `${name}.ext`);
  writeFileSync(
    extensions,
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n',
  );
  openssl([
    'req',
    '-new',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    keyFile,
    '-out',
    csr,
    '-subj',
    `/CN=${name}`,
  ]);
  openssl([
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    ca.certFile,
    '-CAkey',
    ca.keyFile,
    '-CAcreateserial',
    '-days',
    '1',
    '-extfile',
    extensions,
    '-out',
    certFile,
  ]);
  return { certFile, keyFile };
}

/** The base64 SHA-256 of the certificate's DER SubjectPublicKeyInfo, by openssl alone. */
export function opensslPin(certFile: string): string {
  return execFileSync(
    'sh',
    [
      '-c',
      'openssl x509 -in "$1" -noout -pubkey | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | openssl base64 -A',
      'sh',
      certFile,
    ],
    { encoding: 'utf8' },
  ).trim();
}
