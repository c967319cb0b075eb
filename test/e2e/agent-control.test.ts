// What the agent does with a control stream it cannot use: a gateway that resets it, sends a
// message that is not one, or answers a pull with parts that never end. Each ends the session
// and the agent connects again, rather than staying connected without heartbeats, pulls or
// reports (or holding parts without bound). A real `commander agent` process; the gateway side
// is played here, as real WebSocket and mux sessions, to misbehave on purpose.
import { randomBytes, randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import type { Session } from '../../shared/mux/session.js';
import type { MuxStream } from '../../shared/mux/stream.js';
import { sessionOverWebSocket } from '../../shared/mux/transports.js';
import { PROTOCOL_VERSION } from '../../shared/wire/handshake.js';
import { encodeMessage, MessageDecoder } from '../../shared/wire/messages.js';
import { eventually, unsignedEnrollmentToken } from './agent-stack.js';
import { Processes, tempDir } from './helpers.js';

/** What the played gateway does with a connection's control stream. */
type Behaviour = (control: MuxStream, messages: MessageDecoder) => void;

describe('agent control stream faults', () => {
  const processes = new Processes();
  const dir = tempDir('commander-agent-control-');
  let server: WebSocketServer;
  let base: string;
  /** One per connection, in order; connections beyond them get a well-behaved gateway. */
  let behaviours: Behaviour[] = [];
  let connections = 0;
  const sessions: Session[] = [];

  beforeAll(async () => {
    server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise((resolve) => server.once('listening', resolve));
    const address = server.address();
    base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    server.on('connection', (ws) => {
      const behaviour = behaviours[connections];
      connections += 1;
      ws.send(
        Buffer.from(
          JSON.stringify({
            type: 'challenge',
            protocol: PROTOCOL_VERSION,
            nonce: randomBytes(32).toString('base64'),
          }),
        ),
      );
      ws.once('message', () => {
        ws.send(
          Buffer.from(
            JSON.stringify({ type: 'welcome', session_id: randomUUID(), heartbeat_interval: 1000 }),
          ),
        );
        const session = sessionOverWebSocket(ws, false, { keepaliveInterval: 0 });
        sessions.push(session);
        session.once('stream', (control: MuxStream) => {
          control.on('error', () => {});
          const messages = new MessageDecoder(4 * 1024 * 1024);
          messages.on('error', () => {});
          control.pipe(messages);
          behaviour?.(control, messages);
        });
      });
    });
  });

  afterAll(async () => {
    await processes.stopAll();
    for (const session of sessions) session.close();
    for (const client of server?.clients ?? []) client.terminate();
    await new Promise((resolve) => server?.close(resolve));
    dir.remove();
  });

  /** Starts an agent against the played gateway; resolves once it connected `count` times. */
  const agentConnecting = async (count: number) => {
    connections = 0;
    const cluster = randomUUID();
    const tokenFile = join(dir.path, `token-${cluster}`);
    writeFileSync(tokenFile, unsignedEnrollmentToken(cluster));
    const agent = processes.start(
      [
        'agent',
        '--url',
        `${base}/agent_api/${cluster}`,
        '--token-file',
        tokenFile,
        '--state-dir',
        join(dir.path, `state-${cluster}`),
        '--allow',
        '127.0.0.1:1',
        '--heartbeat-interval',
        '1',
      ],
      {},
    );
    await eventually(
      `${count} connections from the agent`,
      () => (connections >= count ? true : undefined),
      15_000,
    );
    expect(agent.child.exitCode).toBeNull();
    await agent.stop();
  };

  it('connects again when the gateway resets the control stream', async () => {
    behaviours = [(control) => control.destroy()];
    await agentConnecting(2);
  });

  it('connects again after a control message that is not JSON', async () => {
    behaviours = [
      (control) => {
        const body = Buffer.from('not json');
        const header = Buffer.alloc(4);
        header.writeUInt32BE(body.length);
        control.write(Buffer.concat([header, body]));
      },
    ];
    await agentConnecting(2);
  });

  it('connects again when a pull is answered by parts that bring nothing and never end', async () => {
    behaviours = [
      (control, messages) => {
        messages.on('data', (message: Record<string, unknown>) => {
          if (message.type !== 'pull') return;
          const part = {
            type: 'desired',
            pull_id: message.pull_id,
            revision: 1,
            revision_hash: null,
            not_modified: false,
            upserts: [],
            removed: [],
            final: false,
          };
          for (let i = 0; i < 3; i++) control.write(encodeMessage(part));
        });
      },
    ];
    await agentConnecting(2);
  });
});
