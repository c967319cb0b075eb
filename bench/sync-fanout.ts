// One changed resource fanned out to 1,000 agents on one gateway. bench/sync-load.ts runs the
// agents in one process (real handshake, mux session, control stream; `pull` on connect and on a
// `nudge`, `desired` parts applied and checked against the set hash as agent/desired.ts does).
// Resources are ConfigMaps and Deployments of ~1.2 KiB each (bench/desired-sets.ts); every set is
// stored through PUT /api/v1/clusters/:id/resources.
// 1. Bytes, with one probe agent connected alone (so the gateway's
//    commander_agent_desired_bytes_total counter counts only its pulls): its full first pull of a
//    500-resource set (full_bytes), then its delta pull after a PUT where one ConfigMap changed
//    (delta_bytes, baseline = full_bytes, ratio = delta/full).
// 2. Fan-out: AGENTS more clusters get the same set of RESOURCES resources (PUT 4 at a time before
//    their agents connect; not measured), the agents connect and pull it whole. Then a new revision
//    where one ConfigMap changed is PUT for every cluster, one PUT after the other. Each agent
//    prints the wall-clock time it holds the new revision (and when it was nudged); the bench keeps
//    the time each PUT returned.
// Figures: put_total_ms (first PUT sent → last PUT returned: API time), all_pulled_ms (first PUT
// returned → last agent holds its new revision; it includes the serial PUTs), tail_ms (last PUT
// returned → last agent holds), per agent put→held and nudge→held p50/p99, and the fan-out's bytes
// per agent from the counter (fanout_full_bytes, fanout_delta_bytes).
// Size: on 2 cores 1,000 clusters × 500 resources do not fit the ~60 s budget: each PUT of 500
// resources costs the API ~35 ms alone and ~70 ms while agents pull (1,000 serial PUTs: over a
// minute, plus as much again to store the initial sets, plus 680 MB of full pulls). So the fan-out
// runs at 1,000 agents with RESOURCES = 100 (BENCH_FANOUT_RESOURCES to change it), and the bytes
// figures use the 500-resource set of the probe.
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { prepareSet, storeDesiredSet } from '../gateway/desired-state.js';
import { loadConfig } from '../shared/config.js';
import { Encryptor } from '../shared/crypto.js';
import { ManifestParser } from '../shared/manifests.js';
import { desiredBytesSent, desiredSet } from './desired-sets.js';
import { Child, type Gateway, log, Resources, sleep, startGateway } from './harness.js';
import { pool, wallMs } from './load-agents.js';
import { percentile, report } from './report.js';

const BENCH = 'sync-fanout';
const AGENTS = Number(process.env.BENCH_AGENTS ?? 1000);
const RESOURCES = Number(process.env.BENCH_FANOUT_RESOURCES ?? 100);
const PROBE_RESOURCES = 500;
/** Enrollment handshakes in flight: below the gateway's database pool (see agents-idle.ts). */
const CONCURRENCY = 8;
const SETUP_PUTS_IN_FLIGHT = 4;

interface Held {
  revision: number;
  heldAt: number;
  nudgedAt: number;
  bytes: number;
}

async function putSet(gateway: Gateway, clusterId: string, body: string): Promise<number> {
  const response = await fetch(`${gateway.url}/api/v1/clusters/${clusterId}/resources`, {
    method: 'PUT',
    headers: { 'x-auth-token': gateway.token, 'content-type': 'application/json' },
    body,
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`PUT resources of ${clusterId}: HTTP ${response.status} ${text}`);
  return (JSON.parse(text) as { revision: number }).revision;
}

export async function run(databaseUrl: string): Promise<void> {
  const resources = new Resources();
  try {
    const gateway = await startGateway(resources, databaseUrl);
    // Agent 0 is the probe; agents 1..AGENTS the fleet.
    const load = resources.add(
      new Child(
        'sync-load',
        fileURLToPath(new URL('./sync-load.js', import.meta.url)),
        [gateway.url, gateway.token, String(AGENTS + 1), String(CONCURRENCY)],
        {},
        { stdin: true },
      ),
    );
    const latest: Array<Held | undefined> = [];
    let mismatches = 0;
    load.onLine((line) => {
      const fields = line.split(' ');
      if (fields[0] === 'held') {
        const [index, revision, heldAt, nudgedAt, bytes] = fields.slice(1).map(Number) as number[];
        latest[index as number] = {
          revision: revision as number,
          heldAt: heldAt as number,
          nudgedAt: nudgedAt as number,
          bytes: bytes as number,
        };
      } else if (fields[0] === 'mismatch') mismatches += 1;
    });
    const waitHeld = async (from: number, to: number, revision: number, timeoutMs: number) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const holding = latest.slice(from, to).filter((held) => held && held.revision >= revision).length;
        if (holding === to - from) return;
        if (Date.now() > deadline)
          throw new Error(
            `${holding} of ${to - from} agents hold revision ${revision} after ${timeoutMs} ms`,
          );
        await sleep(5);
      }
    };
    const connect = async (count: number | undefined) => {
      load.send(count === undefined ? 'connect' : `connect ${count}`);
      const done = await load.waitForLine(/^(done|stalled) (\d+) (\d+) (\d+) (\d+)$/, 180_000);
      if (done[1] !== 'done' || (count !== undefined && Number(done[2]) !== count))
        throw new Error(`not every agent connected: ${done[0]}`);
      return Number(done[3]);
    };

    const ids = JSON.parse((await load.waitForLine(/^clusters (.*)$/, 120_000))[1] as string) as string[];
    const [probe, ...fleet] = ids as [string, ...string[]];

    // 1. Bytes: the probe alone.
    const probeBody = JSON.stringify(desiredSet('bench', PROBE_RESOURCES, 'v1'));
    await putSet(gateway, probe, probeBody);
    const beforeFull = await desiredBytesSent(gateway);
    await connect(1);
    await waitHeld(0, 1, 1, 30_000);
    const fullBytes = (await desiredBytesSent(gateway)) - beforeFull;
    const beforeDelta = await desiredBytesSent(gateway);
    await putSet(gateway, probe, JSON.stringify(desiredSet('bench', PROBE_RESOURCES, 'v2')));
    await waitHeld(0, 1, 2, 30_000);
    await sleep(200);
    const deltaBytes = (await desiredBytesSent(gateway)) - beforeDelta;
    log(
      `${BENCH}: probe with ${PROBE_RESOURCES} resources (${probeBody.length} bytes of JSON): full pull ${fullBytes} bytes, ` +
        `delta pull ${deltaBytes} bytes (the load process received ${latest[0]?.bytes})`,
    );

    // 2. Fan-out.
    const initialBody = JSON.stringify(desiredSet('bench', RESOURCES, 'v1'));
    let started = performance.now();
    await pool(fleet, SETUP_PUTS_IN_FLIGHT, async (id) => {
      await putSet(gateway, id, initialBody);
    });
    log(
      `${BENCH}: ${AGENTS} sets of ${RESOURCES} resources (${initialBody.length} bytes of JSON) stored in ` +
        `${Math.round(performance.now() - started)} ms`,
    );
    const beforeConnect = await desiredBytesSent(gateway);
    started = performance.now();
    const connectMs = await connect(undefined);
    await waitHeld(1, AGENTS + 1, 1, 60_000);
    const fanoutFullBytes = ((await desiredBytesSent(gateway)) - beforeConnect) / AGENTS;
    log(
      `${BENCH}: ${AGENTS} agents connected in ${connectMs} ms and hold revision 1 after ` +
        `${Math.round(performance.now() - started)} ms`,
    );
    await sleep(2000);

    const changedBody = JSON.stringify(desiredSet('bench', RESOURCES, 'v2'));
    const beforeChange = await desiredBytesSent(gateway);
    const putReturned: number[] = [];
    const putStarted = wallMs();
    for (const id of fleet) {
      const revision = await putSet(gateway, id, changedBody);
      putReturned.push(wallMs());
      if (revision !== 2) throw new Error(`cluster ${id}: PUT made revision ${revision}, expected 2`);
    }
    const putTotalMs = (putReturned.at(-1) as number) - putStarted;
    await waitHeld(1, AGENTS + 1, 2, 60_000);
    await sleep(500); // late pulls (none expected) would still count in the bytes
    const fanoutDeltaBytes = ((await desiredBytesSent(gateway)) - beforeChange) / AGENTS;

    const held = latest.slice(1) as Held[];
    const lastHeld = Math.max(...held.map((h) => h.heldAt));
    const allPulledMs = lastHeld - (putReturned[0] as number);
    const tailMs = lastHeld - (putReturned.at(-1) as number);
    const putToHeld = held.map((h, i) => h.heldAt - (putReturned[i] as number)).sort((a, b) => a - b);
    const nudgeToHeld = held
      .filter((h) => h.nudgedAt > 0)
      .map((h) => h.heldAt - h.nudgedAt)
      .sort((a, b) => a - b);
    log(
      `${BENCH}: ${AGENTS} serial PUTs took ${Math.round(putTotalMs)} ms; the last agent held revision 2 ` +
        `${Math.round(tailMs)} ms after the last PUT returned; ${nudgeToHeld.length} of ${AGENTS} were nudged; ` +
        `${mismatches} set-hash mismatches; put→held min ${putToHeld[0]?.toFixed(1)} max ${putToHeld.at(-1)?.toFixed(1)} ms; ` +
        `per agent ${fanoutFullBytes} bytes full, ${fanoutDeltaBytes} bytes delta`,
    );

    report({ bench: BENCH, metric: 'full_bytes', value: fullBytes, unit: 'bytes' });
    report({ bench: BENCH, metric: 'delta_bytes', value: deltaBytes, unit: 'bytes', baseline: fullBytes });
    report({ bench: BENCH, metric: 'agents', value: AGENTS, unit: 'agents' });
    report({ bench: BENCH, metric: 'fanout_resources_per_set', value: RESOURCES, unit: 'resources' });
    report({ bench: BENCH, metric: 'put_total_ms', value: putTotalMs, unit: 'ms' });
    report({ bench: BENCH, metric: 'all_pulled_ms', value: allPulledMs, unit: 'ms' });
    report({ bench: BENCH, metric: 'tail_ms', value: tailMs, unit: 'ms' });
    report({ bench: BENCH, metric: 'put_to_held_p50', value: percentile(putToHeld, 50), unit: 'ms' });
    report({ bench: BENCH, metric: 'put_to_held_p99', value: percentile(putToHeld, 99), unit: 'ms' });
    report({ bench: BENCH, metric: 'nudge_to_held_p50', value: percentile(nudgeToHeld, 50), unit: 'ms' });
    report({ bench: BENCH, metric: 'nudge_to_held_p99', value: percentile(nudgeToHeld, 99), unit: 'ms' });
    report({ bench: BENCH, metric: 'fanout_full_bytes', value: fanoutFullBytes, unit: 'bytes' });
    report({
      bench: BENCH,
      metric: 'fanout_delta_bytes',
      value: fanoutDeltaBytes,
      unit: 'bytes',
      baseline: fanoutFullBytes,
    });
    report({ bench: BENCH, metric: 'set_hash_mismatches', value: mismatches, unit: 'pulls' });

    // 3. The fan-out alone: one change for the whole fleet stored in one transaction (with the
    //    gateway's own storage code), timed from its commit until the last agent holds it.
    const sql = postgres(gateway.env.DATABASE_URL as string, { max: 1, onnotice: () => {} });
    resources.onClose(() => sql.end());
    const keys = loadConfig(gateway.env).encryption;
    if (!keys) throw new Error('the bench gateway has no encryption keys');
    const encryptor = await Encryptor.create(keys);
    const fleetSet = prepareSet(
      new ManifestParser().parse(Buffer.from(JSON.stringify(desiredSet('bench', RESOURCES, 'v3'))), 'json')
        .resources,
      encryptor,
    );
    await sql.begin(async (tx) => {
      for (const id of fleet) {
        const [cluster] = await tx<{ id: string; current_revision: number; resources_hash: string | null }[]>`
          select id, current_revision, resources_hash from clusters where id = ${id} for update`;
        if (cluster) await storeDesiredSet(tx, cluster, fleetSet);
      }
    });
    const committed = wallMs();
    await waitHeld(1, AGENTS + 1, 3, 60_000);
    const fleetHeld = (latest.slice(1) as Held[]).map((h) => h.heldAt - committed).sort((a, b) => a - b);
    log(
      `${BENCH}: one commit changing ${AGENTS} clusters: all agents held it ${Math.round(fleetHeld.at(-1) ?? 0)} ms later ` +
        `(p50 ${Math.round(percentile(fleetHeld, 50))} ms)`,
    );
    report({ bench: BENCH, metric: 'commit_to_all_held_ms', value: fleetHeld.at(-1) ?? 0, unit: 'ms' });
    report({ bench: BENCH, metric: 'commit_to_held_p50', value: percentile(fleetHeld, 50), unit: 'ms' });
  } finally {
    await resources.close();
  }
}
