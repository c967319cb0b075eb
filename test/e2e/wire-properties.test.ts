// Generated input at a real gateway process, through real sockets: request targets, hellos
// (random bytes, mutated JSON), mux frames after a valid handshake, control messages, dial
// requests. Whatever arrives, the process keeps running and answers no 5xx, no session ends as
// our own fault (close 4011), another agent is not disturbed, memory stays bounded, and what
// reached the database is whole and within its schema.
import { connect } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { isWireCode } from '../../shared/errors.js';
import type { AgentKeyPair } from '../../shared/identity.js';
import { FrameDecoder } from '../../shared/mux/decoder.js';
import { encodeHeader, Flag, FrameType } from '../../shared/mux/frame.js';
import type { Session } from '../../shared/mux/session.js';
import { sessionOverWebSocket, zeroMask } from '../../shared/mux/transports.js';
import { tunnelUrl } from '../../shared/tunnel-client.js';
import { isTelemetrySample } from '../../shared/wire/control.js';
import { isHello } from '../../shared/wire/handshake.js';
import { encodeMessage, readFirstMessage } from '../../shared/wire/messages.js';
import { isDialAnswer } from '../../shared/wire/tunnel.js';
import { agentUrl, connectRawAgent, handshake, helloFor, type RawAgent } from '../support/raw-agent.js';
import { upgradeRequest } from '../support/raw-http.js';
import { rssMb } from '../support/tcp.js';
import { AgentStack } from './agent-stack.js';

/** The status code of the first line the server answers (then the connection is dropped). */
function statusOf(port: number, request: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(request));
    let head = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer to ${JSON.stringify(request.split('\r\n')[0])}`));
    }, 5_000);
    socket.on('error', () => {});
    socket.on('data', (chunk: Buffer) => {
      head += chunk.toString('latin1');
      const match = /^HTTP\/1\.1 (\d{3})/.exec(head);
      if (!match) return;
      clearTimeout(timer);
      socket.destroy();
      resolve(Number(match[1]));
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(/^HTTP\/1\.1 (\d{3})/.exec(head) ? Number(head.slice(9, 12)) : 0);
    });
  });
}

interface Outcome {
  reply?: Record<string, any>;
  code?: number;
}

/** Upgrades to the agent endpoint, answers the challenge with `answer`, reports what came back. */
function answerChallenge(
  url: string,
  answer: (nonce: string) => { data: Buffer; binary: boolean },
): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false, generateMask: zeroMask });
    let challenged = false;
    const outcome: Outcome = {};
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`no answer within 8 s; so far ${JSON.stringify(outcome)}`));
    }, 8_000);
    ws.on('error', () => {});
    ws.on('message', (data: Buffer) => {
      const message = JSON.parse(data.toString('utf8'));
      if (!challenged) {
        challenged = true;
        const { data: bytes, binary } = answer(String(message.nonce));
        ws.send(bytes, { binary });
        return;
      }
      outcome.reply ??= message;
      if (message.type === 'welcome') ws.close(1000);
    });
    ws.on('close', (code) => {
      clearTimeout(timer);
      outcome.code = code;
      resolve(outcome);
    });
  });
}

/** JSON values of every kind, small, with the strings PostgreSQL cannot hold among them. */
const nasty = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom('\u0000', '\ud800', 'a\udc00b', '', 'NaN', '1e309', 'x'.repeat(5_000)),
  fc.constantFrom(-1, 0, 1.5, 2 ** 31, 2 ** 53, 2 ** 70, 1e308, -1e308, Number.MIN_VALUE),
  fc.string({ unit: 'binary', maxLength: 40 }),
);

const UUID = '00000000-0000-4000-8000-00000000000f';

describe('wire properties', () => {
  let stack: AgentStack;
  let port: number;
  let fuzzCluster: string;
  let fuzzKey: AgentKeyPair;
  let otherCluster: string;
  let other: RawAgent;
  let otherSeq = 0;
  let rssBefore: number;
  const gatewayPid = () => stack.gateway.command.child.pid as number;

  beforeAll(async () => {
    stack = await AgentStack.start();
    port = stack.gateway.port;
    fuzzCluster = await stack.createCluster(['127.0.0.1:1']);
    otherCluster = await stack.createCluster([]);
    const fuzz = await connectRawAgent(stack.gateway.url, fuzzCluster, {
      enrollmentToken: (await stack.enrollmentToken(fuzzCluster)).token,
    });
    fuzzKey = fuzz.key;
    fuzz.close();
    other = await connectRawAgent(stack.gateway.url, otherCluster, {
      enrollmentToken: (await stack.enrollmentToken(otherCluster)).token,
    });
    rssBefore = rssMb(gatewayPid());
  });

  afterAll(async () => {
    other?.close();
    await stack?.close();
  });

  const alive = () => expect(stack.gateway.command.child.exitCode, stack.gateway.command.stderr()).toBeNull();

  /** The process runs, the other agent's session is up, and its telemetry is still stored. */
  const unharmed = async () => {
    alive();
    expect((await fetch(`${stack.gateway.url}/healthz`)).status).toBe(200);
    expect(other.session.closed).toBe(false);
    const seq = ++otherSeq;
    const time = new Date(Date.UTC(2026, 0, 1) + seq * 1000).toISOString();
    other.send({
      type: 'telemetry',
      seq,
      sample: {
        time,
        cpus: 1,
        memory_bytes: 1,
        nodes: 1,
        storage_bytes: 0,
        kubernetes_version: 'v1',
        platform_version: '',
        components: [],
      },
    });
    await other.waitFor((message) => message.type === 'ack' && message.seq === seq);
  };

  it('answers any request target on the upgrade path with a status below 500', async () => {
    const prefixes = [
      '',
      '/',
      '//',
      'http://',
      'http://gateway',
      '/agent_api/',
      `/agent_api/${UUID}`,
      '/api/v1/clusters/',
      `/api/v1/clusters/${UUID}/tunnel?target=`,
      `/api/v1/clusters/${UUID}/tunnels`,
    ];
    const pieces = [...'/%[]:?#@a0.\\*-_~zZé+'.split(''), '%zz', '%41', '..', '%00', '%c0%af'];
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...prefixes),
        fc.array(fc.constantFrom(...pieces), { maxLength: 12 }),
        async (prefix, rest) => {
          const status = await statusOf(port, upgradeRequest(prefix + rest.join('')));
          expect(status).toBeGreaterThanOrEqual(101);
          expect(status).toBeLessThan(500);
        },
      ),
      { numRuns: 150 },
    );
    await unharmed();
  });

  it('refuses any hello that is not a valid one with a handshake code, and only that', async () => {
    const url = agentUrl(stack.gateway.url, fuzzCluster);
    const junk = fc.oneof(
      fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)),
      fc.jsonValue({ maxDepth: 3 }).map((value) => Buffer.from(JSON.stringify(value) ?? 'null')),
      fc.constant(Buffer.alloc(16 * 1024 + 1, 0x20)),
    );
    await fc.assert(
      fc.asyncProperty(junk, fc.boolean(), async (data, binary) => {
        const outcome = await answerChallenge(url, () => ({ data, binary }));
        if (!outcome.reply) {
          // A text message that is not UTF-8: ws closes it itself (1007), before we see it.
          expect({ binary, code: outcome.code }).toEqual({ binary: false, code: 1007 });
          alive();
          return;
        }
        expect(outcome.reply.type).toBe('error');
        expect(isWireCode('handshake', outcome.reply?.code)).toBe(true);
        expect([4003, 4004]).toContain(outcome.code);
        alive();
      }),
      { numRuns: 100 },
    );
    // Mutations of a valid, signed hello: a field replaced by anything, or dropped.
    const fields = ['type', 'protocol', 'cluster_id', 'public_key', 'signature', 'agent_version'];
    const mutation = fc.oneof(
      fc.record({
        field: fc.constantFrom(...fields, 'heartbeat_interval', 'enrollment_token', 'extra'),
        value: nasty,
      }),
      fc.record({ field: fc.constantFrom(...fields), value: fc.constant(undefined) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 3 }), async (mutations) => {
        let sent: unknown;
        const outcome = await answerChallenge(url, (nonce) => {
          const hello: Record<string, unknown> = helloFor(fuzzKey, fuzzCluster, nonce);
          for (const { field, value } of mutations) hello[field] = value;
          sent = JSON.parse(JSON.stringify(hello));
          return { data: Buffer.from(JSON.stringify(hello)), binary: true };
        });
        if (outcome.reply?.type === 'welcome') {
          // Only a hello the schema takes, for this cluster, with this key, gets in.
          expect(isHello.problem(sent)).toBeUndefined();
          expect(sent).toMatchObject({
            cluster_id: fuzzCluster,
            public_key: Buffer.from(fuzzKey.publicKey).toString('base64'),
          });
          return;
        }
        expect(outcome.reply?.type).toBe('error');
        expect(isWireCode('handshake', outcome.reply?.code)).toBe(true);
        expect([4003, 4004]).toContain(outcome.code);
        alive();
      }),
      { numRuns: 80 },
    );
    await unharmed();
  });

  it('closes a session on any frames it cannot accept as a protocol error, never as its own fault', async () => {
    const header = fc.record({
      version: fc.oneof({ weight: 9, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.nat(255) }),
      flags: fc.oneof(fc.nat(15), fc.nat(0xffff)),
      streamId: fc.oneof(fc.constantFrom(0, 1, 2, 3, 5), fc.nat(2 ** 32 - 1)),
    });
    const frame = fc.oneof(
      fc
        .tuple(header, fc.uint8Array({ maxLength: 600 }))
        .map(([h, payload]) =>
          Buffer.concat([encodeHeader(FrameType.Data, h.flags, h.streamId, payload.length), payload]).fill(
            h.version,
            0,
            1,
          ),
        ),
      fc
        .tuple(header, fc.integer({ min: 1, max: 6 }), fc.nat(2 ** 32 - 1))
        .map(([h, type, value]) =>
          encodeHeader(type as FrameType, h.flags, h.streamId, value).fill(h.version, 0, 1),
        ),
      // A control-stream message: SYN on stream 1 with a length-prefixed body.
      nasty.map((value) => {
        const body = Buffer.from(JSON.stringify({ type: 'pull', pull_id: 1, hashes: value }) ?? '');
        const message = Buffer.concat([Buffer.alloc(4), body]);
        message.writeUInt32BE(body.length);
        return Buffer.concat([encodeHeader(FrameType.Data, Flag.SYN, 1, message.length), message]);
      }),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(frame, { maxLength: 12 }),
        fc.array(fc.nat(), { maxLength: 3 }),
        async (frames, cuts) => {
          const outcome = await withSession(async (ws, waitForFrame) => {
            const bytes = Buffer.concat(frames);
            const points = [...new Set(cuts.map((cut) => cut % (bytes.length + 1)))].sort((a, b) => a - b);
            let from = 0;
            for (const point of [...points, bytes.length]) {
              if (point > from) ws.send(bytes.subarray(from, point), { binary: true });
              from = point;
            }
            // Answered after everything before it, unless the session closed first.
            const id = 0xc0ffee;
            ws.send(encodeHeader(FrameType.Ping, Flag.SYN, 0, id), { binary: true });
            return waitForFrame(
              (type, flags, value) => type === FrameType.Ping && flags & Flag.ACK && value === id,
            );
          });
          if (outcome !== 'answered') expect([1000, 1001, 4001]).toContain(outcome);
          alive();
        },
      ),
      { numRuns: 120 },
    );
    await unharmed();
  });

  /**
   * A fresh session of the fuzzed cluster over a bare WebSocket: `run` sends what it likes and
   * waits for a frame; resolves 'answered', or the close code if the gateway closed first.
   */
  async function withSession(
    run: (
      ws: WebSocket,
      waitFor: (
        match: (type: number, flags: number, value: number) => boolean | number,
      ) => Promise<'answered' | number>,
    ) => Promise<'answered' | number>,
  ): Promise<'answered' | number> {
    const decoder = new FrameDecoder(16 * 1024 * 1024);
    const matchers = new Set<(type: number, flags: number, value: number) => void>();
    let closedWith: number | undefined;
    const closers = new Set<(code: number) => void>();
    const { reply, ws } = await handshake(stack.gateway.url, fuzzCluster, {
      key: fuzzKey,
      onWelcome: (socket) => {
        socket.on('message', (data: Buffer) => {
          try {
            decoder.push(data, (h) => {
              for (const match of matchers) match(h.type, h.flags, h.length);
            });
          } catch {
            // the gateway's frames are well-formed; nothing to learn from a decoder error here
          }
        });
        socket.on('close', (code) => {
          closedWith = code;
          for (const close of closers) close(code);
        });
      },
    });
    expect(reply.type).toBe('welcome');
    try {
      return await run(ws, (match) => {
        if (closedWith !== undefined) return Promise.resolve(closedWith);
        return new Promise((resolve, reject) => {
          const timer = setTimeout(
            () => reject(new Error('neither an answer nor a close within 8 s')),
            8_000,
          );
          const done = (outcome: 'answered' | number) => {
            clearTimeout(timer);
            matchers.delete(onFrame);
            closers.delete(done);
            resolve(outcome);
          };
          const onFrame = (type: number, flags: number, value: number) => {
            if (match(type, flags, value)) done('answered');
          };
          matchers.add(onFrame);
          closers.add(done);
        });
      });
    } finally {
      ws.terminate();
    }
  }

  it('answers any control messages or closes with a protocol error; stores only whole, valid samples', async () => {
    const sample = {
      time: '2026-03-01T00:00:00.000Z',
      cpus: 2,
      memory_bytes: 2 ** 33,
      nodes: 2,
      storage_bytes: 0,
      kubernetes_version: 'v1.31.0',
      platform_version: 'v1',
      components: [{ name: 'ns/Deployment/a', ready: true }],
    };
    const sampleField = fc.constantFrom(...Object.keys(sample), 'extra');
    const time = fc
      .date({
        min: new Date('2000-01-01T00:00:00Z'),
        max: new Date('2030-01-01T00:00:00Z'),
        noInvalidDate: true,
      })
      .map((date) => date.toISOString());
    const telemetry = fc
      .record({
        seq: fc.oneof(fc.integer({ min: 1, max: 2 ** 40 }), nasty),
        time,
        changes: fc.array(fc.record({ field: sampleField, value: nasty }), { maxLength: 2 }),
      })
      .map(({ seq, time, changes }) => {
        const s: Record<string, unknown> = { ...sample, time };
        for (const { field, value } of changes) s[field] = value;
        return { type: 'telemetry', seq, sample: s };
      });
    const report = fc.record({
      type: fc.constant('report'),
      seq: fc.oneof(fc.integer({ min: 1, max: 2 ** 40 }), nasty),
      full: fc.oneof(fc.boolean(), nasty),
      revision: fc.oneof(fc.nat(100), nasty),
      problem: fc.oneof(fc.constant(null), nasty),
      interval_ms: fc.oneof(fc.constant(60_000), nasty),
      resources: fc.oneof(
        fc.array(
          fc.record({
            key: fc.oneof(fc.constant('v1/ConfigMap/default/a'), nasty),
            status: fc.oneof(fc.constantFrom('applied', 'failed', 'pruned'), nasty),
            message: fc.oneof(fc.constant(null), nasty),
            applied_revision: fc.oneof(fc.constant(null), fc.nat(10), nasty),
          }),
          { maxLength: 3 },
        ),
        nasty,
      ),
    });
    const anything = fc.record({
      type: fc.oneof(
        fc.constantFrom('pull', 'ack', 'desired', 'nudge', 'heartbeat', 'status', 'dial'),
        nasty,
      ),
      seq: nasty,
      pull_id: nasty,
      hashes: nasty,
      revision_hash: nasty,
    });
    const message = fc.oneof(
      telemetry.map((m) => encodeMessage(m, 4 * 1024 * 1024)),
      report.map((m) => encodeMessage(m, 4 * 1024 * 1024)),
      anything.map((m) => encodeMessage(m, 4 * 1024 * 1024)),
      nasty.map((value) => encodeMessage([value] as unknown as object)),
      // Junk in a whole frame. Junk that starts a frame the rest of the case does not finish
      // rightly leaves the gateway waiting for that frame's rest (found by this property: [0, 1]
      // and the pull after it declared a 65 KiB message).
      fc.uint8Array({ maxLength: 64 }).map((bytes) => {
        const length = Buffer.alloc(4);
        length.writeUInt32BE(bytes.length);
        return Buffer.concat([length, bytes]);
      }),
    );
    let pullId = 1_000_000;
    await fc.assert(
      fc.asyncProperty(fc.array(message, { minLength: 1, maxLength: 6 }), async (messages) => {
        const agent = await connectRawAgent(stack.gateway.url, fuzzCluster, { key: fuzzKey });
        try {
          for (const bytes of messages) agent.control.write(bytes);
          const id = ++pullId;
          agent.send({ type: 'pull', pull_id: id, revision_hash: null, hashes: [] });
          const code = new Promise<number>((resolve) => agent.ws.once('close', (c) => resolve(c)));
          const outcome = await Promise.race([
            agent
              .waitFor((m) => m.type === 'desired' && m.pull_id === id && m.final === true)
              .then(() => 'answered'),
            code,
          ]);
          if (outcome !== 'answered') expect(outcome).toBe(4001);
        } finally {
          agent.close();
        }
        alive();
      }),
      // A case that gets neither an answer nor a close fails on its own, naming its messages and
      // the seed, instead of the whole test timing out.
      { numRuns: 120, timeout: 15_000, endOnFailure: true },
    );
    await unharmed();

    // Every stored sample is whole and within the schema; the cluster's newest is the newest row.
    const rows = await stack.db.sql<Record<string, any>[]>`
      select time, cpus, memory_bytes, nodes, storage_bytes, kubernetes_version, platform_version, components
      from telemetry_samples where cluster_id = ${fuzzCluster} order by time`;
    for (const row of rows) {
      const stored = {
        ...row,
        time: (row.time as Date).toISOString(),
        memory_bytes: Number(row.memory_bytes),
        storage_bytes: Number(row.storage_bytes),
      };
      expect(isTelemetrySample.problem(stored)).toBeUndefined();
    }
    const [cluster] = await stack.db.sql<
      { telemetry: Record<string, any> | null; telemetry_at: Date | null }[]
    >`
      select telemetry, telemetry_at from clusters where id = ${fuzzCluster}`;
    const last = rows.at(-1);
    if (!last) expect(cluster?.telemetry).toBeNull();
    else {
      const newest = (last.time as Date).toISOString();
      expect(cluster?.telemetry_at?.toISOString()).toBe(newest);
      expect(isTelemetrySample.problem(cluster?.telemetry)).toBeUndefined();
      expect(new Date(cluster?.telemetry?.time).toISOString()).toBe(newest);
    }
  });

  it('answers any dial request of a multiplexed client with a typed refusal or a reset', async () => {
    const ws = new WebSocket(tunnelUrl(stack.gateway.url, fuzzCluster), {
      headers: { 'x-auth-token': stack.operator },
      perMessageDeflate: false,
      generateMask: zeroMask,
    });
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    const session: Session = sessionOverWebSocket(ws, true);
    const dial = fc.oneof(
      fc.record({
        type: fc.oneof(fc.constant('dial'), nasty),
        target: fc.oneof(nasty, fc.constant('127.0.0.1:1')),
      }),
      nasty.map((value) => ({ value })),
    );
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            dial.map((d) => encodeMessage(d)),
            fc.uint8Array({ maxLength: 40 }).map(Buffer.from),
          ),
          async (bytes) => {
            const stream = session.open();
            stream.on('error', () => {});
            stream.end(bytes);
            const answer = await readFirstMessage(stream, 16 * 1024, 8_000).then(
              ({ message }) => message,
              (error: Error & { code?: string }) => error,
            );
            stream.destroy();
            if (answer instanceof Error) {
              // Reset (not a dial request at all) or no message: never a hang.
              expect(answer.message).not.toMatch(/no message within/);
              return;
            }
            expect(isDialAnswer.problem(answer)).toBeUndefined();
            expect(answer.ok).toBe(false);
            expect(isWireCode('answer', answer.code)).toBe(true);
          },
        ),
        { numRuns: 100 },
      );
    } finally {
      session.close();
      ws.terminate();
    }
    expect(session.closed).toBe(true);
    await unharmed();
  });

  it('stays within its memory through all of it', () => {
    // Bounded, not measured: a leak of anything per connection or message would show here.
    expect(rssMb(gatewayPid()) - rssBefore).toBeLessThan(200);
    alive();
  });
});
