import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../shared/logger.js';

describe('logger', () => {
  it('redacts secrets wherever they sit', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const logger = createLogger('info', 'test', sink);
    logger.info(
      { token: 'cmdr_secret1', ssh: { private_key: 'PRIVATE-KEY-2' }, databaseUrl: 'postgres://u:pw3@h/db' },
      'a',
    );
    logger.info({ req: { headers: { authorization: 'Bearer secret4', 'x-auth-token': 'secret5' } } }, 'b');
    const output = lines.join('');
    for (const secret of ['cmdr_secret1', 'PRIVATE-KEY-2', 'pw3', 'secret4', 'secret5'])
      expect(output).not.toContain(secret);
    // Both lines were written, each secret's field is there, and it holds the mask: the secrets
    // were replaced, not dropped with the line.
    const [a, b] = lines.map((line) => JSON.parse(line));
    expect(lines).toHaveLength(2);
    expect(a).toMatchObject({
      msg: 'a',
      token: '[REDACTED]',
      ssh: { private_key: '[REDACTED]' },
      databaseUrl: '[REDACTED]',
    });
    expect(b).toMatchObject({
      msg: 'b',
      req: { headers: { authorization: '[REDACTED]', 'x-auth-token': '[REDACTED]' } },
    });
  });
});
