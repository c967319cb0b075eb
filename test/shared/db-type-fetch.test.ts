// postgres.js asks every new connection for the server's array types in a query no caller awaits.
// A connection that dies while asking (the database restarting) used to end the process with an
// unhandled rejection: up crashed that way in CI, right after its embedded server was killed.
// The pool runs in a child process here, since a crash is what is being tested.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cuttingProxy } from '../support/cutting-proxy.js';
import { freshDatabase, type TestDatabase } from '../support/db.js';

const CONNECT = fileURLToPath(new URL('../../dist/shared/db/connect.js', import.meta.url));
const TYPE_QUESTION = 'from pg_catalog.pg_type a';

/**
 * Runs a pool in a child process: one query, then `reconnects` more, each on a new connection
 * (the one before is ended from outside, by `adminUrl`'s own connection).
 */
function runPool(url: string, adminUrl: string, reconnects: number) {
  const script = `
    import postgres from 'postgres';
    import { connect } from ${JSON.stringify(CONNECT)};
    const sql = connect(${JSON.stringify(url)}, { max: 1, applicationName: 'type-fetch' });
    const admin = postgres(${JSON.stringify(adminUrl)}, { max: 1, onnotice: () => {} });
    // As the services do: a query that meets the outage fails (503), a later one is answered.
    const query = async () => {
      for (let attempt = 1; ; attempt += 1) {
        try {
          return await sql\`select \${['a', 'b']}::text[] as list\`;
        } catch (error) {
          if (attempt === 20) throw error;
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      }
    };
    const answers = [];
    for (let round = 0; round <= ${reconnects}; round += 1) {
      const [row] = await query();
      answers.push(row.list);
      await admin\`select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'type-fetch'\`;
    }
    console.log(JSON.stringify(answers));
    await Promise.all([sql.end({ timeout: 1 }), admin.end({ timeout: 1 })]);
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'pipe'],
    cwd: fileURLToPath(new URL('../..', import.meta.url)),
  });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk;
  });
  child.stderr.on('data', (chunk: Buffer) => {
    out += chunk;
  });
  return new Promise<{ code: number | null; out: string }>((resolve) =>
    child.on('exit', (code) => resolve({ code, out })),
  );
}

describe('the array types question', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await freshDatabase({ migrated: false });
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('a connection dying while asking does not end the process; the pool asks once more, then never again', async () => {
    // The connection that asks first is cut, and the next two are refused; every question counts.
    let asked = 0;
    const proxy = await cuttingProxy(Number(new URL(db.url).port || 5432), (chunk) => {
      if (!chunk.includes(TYPE_QUESTION)) return false;
      asked += 1;
      if (asked > 1) return false;
      proxy.refuseNext(2);
      return true;
    });
    try {
      const url = new URL(db.url);
      url.hostname = '127.0.0.1';
      url.port = String(proxy.port);
      const { code, out } = await runPool(url.toString(), db.url, 3);
      expect(code, out).toBe(0);
      // Arrays go in and come out as arrays: the types were learnt after all.
      expect(JSON.parse(out.trim().split('\n').at(-1) as string)).toEqual([
        ['a', 'b'],
        ['a', 'b'],
        ['a', 'b'],
        ['a', 'b'],
      ]);
      // The cut question and the one answered; the three later connections did not ask.
      expect(asked).toBe(2);
    } finally {
      await proxy.close();
    }
  });
});
