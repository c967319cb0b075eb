// Desired state reaches the agent: nudged through NOTIFY when a set is stored, only what changed
// crosses the wire, the same set again causes no traffic, and the agent keeps its copy on disk.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentInstance, AgentStack, eventually } from './agent-stack.js';
import { api } from './helpers.js';

interface StoredSet {
  revision: number;
  revision_hash: string | null;
  resources: Array<{ key: string; hash: string; manifest: Record<string, any> }>;
}

function configMaps(count: number, color: string): object[] {
  return Array.from({ length: count }, (_, i) => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: `cm-${i}`, namespace: 'shop' },
    data: { color: i === 0 ? color : 'gray', filler: 'z'.repeat(2000) },
  }));
}

describe('desired state pulled by the agent', () => {
  let stack: AgentStack;
  let clusterId: string;
  let agent: AgentInstance;

  const stored = (): StoredSet | undefined => {
    try {
      return JSON.parse(readFileSync(join(agent.stateDir, 'desired.json'), 'utf8')) as StoredSet;
    } catch {
      return undefined;
    }
  };
  const metric = async (name: string, labels = '') => {
    const response = await fetch(`${stack.gateway.url}/metrics`, {
      headers: { 'x-auth-token': stack.operator },
    });
    const text = await response.text();
    const line = text.split('\n').find((l) => l.startsWith(`${name}${labels} `));
    return line ? Number(line.split(' ')[1]) : 0;
  };
  const put = async (body: object[]) => {
    const result = await api(stack.gateway.url, 'PUT', `/api/v1/clusters/${clusterId}/resources`, {
      token: stack.operator,
      body,
    });
    expect(result.status, result.text).toBe(200);
    return result.body;
  };

  beforeAll(async () => {
    stack = await AgentStack.start();
    clusterId = await stack.createCluster([]);
    // A long timer: whatever arrives quickly came through a nudge.
    agent = await stack.startAgent(clusterId, { allow: [], args: ['--sync-interval', '3600'] });
  });
  afterAll(() => stack?.close());

  it('gets a new set within moments of the PUT, then only the changed resource', async () => {
    const first = await put([
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } },
      ...configMaps(100, 'blue'),
    ]);
    const got = await eventually('the agent holds revision 1', () =>
      stored()?.revision === 1 ? stored() : undefined,
    );
    expect(got.revision_hash).toBe(first.revision_hash);
    expect(got.resources).toHaveLength(101);
    const fullBytes = await metric('commander_agent_desired_bytes_total');
    expect(fullBytes).toBeGreaterThan(100 * 2000);

    await put([
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } },
      ...configMaps(100, 'red'),
    ]);
    const second = await eventually('the agent holds revision 2', () =>
      stored()?.revision === 2 ? stored() : undefined,
    );
    expect(second.resources.find((r) => r.key === 'v1/ConfigMap/shop/cm-0')?.manifest.data.color).toBe('red');
    const deltaBytes = (await metric('commander_agent_desired_bytes_total')) - fullBytes;
    // One changed resource of 101: a few KiB, not the whole set again.
    expect(deltaBytes).toBeLessThan(fullBytes * 0.05);
    expect(deltaBytes).toBeGreaterThan(2000);
  });

  it('sends nothing for the same set stored again', async () => {
    /** Pulls answered, whatever the answer. */
    const answered = async () =>
      (await metric('commander_agent_pulls_total', '{result="delta"}')) +
      (await metric('commander_agent_pulls_total', '{result="not_modified"}'));
    const pulls = await answered();
    const held = stored();
    const again = await put([
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } },
      ...configMaps(100, 'red'),
    ]);
    expect(again.changed).toBe(false);
    expect(again.revision).toBe(held?.revision);
    // A real change next: its nudge and pull come after anything the same set could have caused,
    // so once the agent holds it, every pull since is counted, and there must be only its own.
    const changed = await put([
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } },
      ...configMaps(100, 'green'),
    ]);
    expect(changed.revision).toBe((held?.revision ?? 0) + 1);
    await eventually('the agent holds the changed set', () =>
      stored()?.revision === changed.revision ? true : undefined,
    );
    // (The gateway counts a pull just after its last part went out.)
    const counted = await eventually('the pull counted', async () => {
      const now = await answered();
      return now > pulls ? now : undefined;
    });
    expect(counted).toBe(pulls + 1);
  });

  it('removes what left the set, and after a restart pulls nothing it already holds', async () => {
    const { revision } = await put([
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } },
      ...configMaps(3, 'red'),
    ]);
    const third = await eventually(`the agent holds revision ${revision}`, () =>
      stored()?.revision === revision ? stored() : undefined,
    );
    expect(third.resources.map((r) => r.key).sort()).toEqual([
      'v1/ConfigMap/shop/cm-0',
      'v1/ConfigMap/shop/cm-1',
      'v1/ConfigMap/shop/cm-2',
      'v1/Namespace//shop',
    ]);

    await agent.command.stop();
    const notModified = await metric('commander_agent_pulls_total', '{result="not_modified"}');
    agent = await stack.startAgent(clusterId, {
      allow: [],
      stateDir: agent.stateDir,
      tokenFile: agent.tokenFile,
      args: ['--sync-interval', '3600'],
    });
    await eventually('a not-modified pull after the reconnect', async () =>
      (await metric('commander_agent_pulls_total', '{result="not_modified"}')) > notModified
        ? true
        : undefined,
    );
    expect(stored()?.revision).toBe(revision);
  });
});
