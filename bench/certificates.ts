// Self-signed certificates made with openssl, as an operator would make them: for the bench's
// gateway and for the tests' CAs and servers (test/support/certs.ts).
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

export interface TlsFiles {
  certFile: string;
  keyFile: string;
}

/**
 * `name`.crt and `name`.key in `dir`: a P-256 key and a certificate it signs itself, valid for a
 * day, with `subject` and the X.509 `extensions` given (openssl -addext lines).
 */
export function selfSigned(dir: string, name: string, subject: string, extensions: string[]): TlsFiles {
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      keyFile,
      '-out',
      certFile,
      '-days',
      '1',
      '-subj',
      subject,
      ...extensions.flatMap((extension) => ['-addext', extension]),
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  return { certFile, keyFile };
}
