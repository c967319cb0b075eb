// A 30 MiB set is parsed, validated, hashed and encrypted off the event loop: while the gateway
// works on it, every other request is still answered. Measured by order, not by time: the cluster
// row is held locked, so the PUT stops at its first database statement, and the health checks
// answered between the end of the upload and that moment are counted.
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

const MiB = 1024 * 1024;

/** About `mib` MiB of multi-document YAML: ConfigMaps of ~6.5 KiB (under 5,000 for 30 MiB). */
function largeYamlSet(mib: number): { yaml: string; count: number } {
  const line = `${'lorem ipsum dolor sit amet '.repeat(4).trim()}\n`;
  const documents: string[] = [];
  let size = 0;
  for (let i = 0; size < mib * MiB; i++) {
    const document =
      `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: config-${i}\n  namespace: shop\n` +
      `  labels: {app: shop, index: "${i}"}\ndata:\n  notes: |\n${`    ${line}`.repeat(58)}`;
    documents.push(document);
    size += document.length + 4;
  }
  return { yaml: documents.join('---\n'), count: documents.length };
}

describe('a 30 MiB PUT …/resources', () => {
  let gw: TestGateway;
  let operator: string;
  let clusterId: string;

  beforeAll(async () => {
    gw = await startTestGateway();
    operator = await gw.token('operator');
    const created = await gw.request('POST', '/api/v1/clusters', { token: operator, body: { name: 'shop' } });
    clusterId = created.body.id;
  });
  afterAll(() => gw.close());

  it('leaves the event loop free: health checks are answered while the set is parsed', async () => {
    const set = largeYamlSet(30);
    const body = Buffer.from(set.yaml);
    expect(body.length).toBeGreaterThan(29 * MiB);
    expect(body.length).toBeLessThan(32 * MiB);

    // Hold the cluster row: the PUT, once its body is parsed and validated, waits for this lock.
    const holder = await gw.db.sql.reserve();
    await holder`begin`;
    await holder`select id from clusters where id = ${clusterId} for update`;
    const waitingOnLock = async () =>
      (
        await gw.db.sql<{ n: number }[]>`select count(*)::int as n from pg_stat_activity
          where datname = current_database() and wait_event_type = 'Lock'`
      )[0]?.n === 1;

    let uploaded!: () => void;
    const uploadDone = new Promise<void>((resolve) => {
      uploaded = resolve;
    });
    const answer = new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = httpRequest(
        `${gw.url}/api/v1/clusters/${clusterId}/resources`,
        {
          method: 'PUT',
          headers: {
            'x-auth-token': operator,
            'content-type': 'application/yaml',
            'content-length': String(body.length),
          },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            text += chunk;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        },
      );
      req.on('error', reject);
      req.end(body, () => uploaded());
    });
    await uploadDone;

    // Health checks one after another until the PUT reaches the database. With the parsing on
    // the event loop, none is answered until the parsing is over, and by then the PUT is a
    // moment from the lock.
    let answeredBeforeDatabase = 0;
    for (;;) {
      const health = await fetch(`${gw.url}/healthz`);
      expect(health.status).toBe(200);
      await health.text();
      if (await waitingOnLock()) break;
      answeredBeforeDatabase += 1;
    }
    await holder`rollback`;
    holder.release();

    const result = await answer;
    expect(result.status, result.text.slice(0, 300)).toBe(200);
    expect(JSON.parse(result.text)).toMatchObject({ revision: 1, changed: true, added: set.count });
    expect(answeredBeforeDatabase).toBeGreaterThanOrEqual(50);
  });
});
