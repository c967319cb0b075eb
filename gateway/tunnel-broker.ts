// Opens tunnel streams to agents: the dial request, the agent's typed answer, and the tunnel
// metrics. A dial for an agent held by another replica goes over the link to that replica, which
// opens the agent's stream and answers the same way (tunnel-endpoint.ts, servePeerStream).
import { Counter, Gauge, type Registry } from 'prom-client';
import { isWireCode, type WireCodeOf } from '../shared/errors.js';
import type { MuxStream } from '../shared/mux/stream.js';
import { formatTarget, type Target } from '../shared/targets.js';
import { TUNNEL_WINDOW } from '../shared/wire/limits.js';
import { encodeMessage, readFirstMessage } from '../shared/wire/messages.js';
import { type DialRequest, isDialAnswer } from '../shared/wire/tunnel.js';
import type { AgentEndpoint } from './agent-endpoint.js';
import type { LinkDial } from './replica-link.js';
import type { ReplicaLinks } from './replica-peers.js';
import type { ReplicaRegistry } from './replicas.js';

export type TunnelErrorCode = WireCodeOf<'tunnel'>;

export class TunnelError extends Error {
  constructor(
    readonly code: TunnelErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'TunnelError';
  }
}

export interface OpenTunnel {
  stream: MuxStream;
  /** Bytes the agent sent right after its answer (the target may speak first). */
  rest: Buffer;
}

/** How a replica reaches agents held by its peers. */
export interface Forwarding {
  replicaId: string;
  registry: ReplicaRegistry;
  links: ReplicaLinks;
}

export class TunnelBroker {
  readonly opened: Counter<'result'>;
  readonly active: Gauge;
  readonly bytes: Counter<'direction'>;

  constructor(
    private readonly agents: AgentEndpoint,
    metrics: Registry,
    private readonly forwarding?: Forwarding,
  ) {
    this.opened = new Counter({
      name: 'commander_tunnels_total',
      help: 'Tunnels asked for, by result (ok or the error code)',
      labelNames: ['result'],
      registers: [metrics],
    });
    this.active = new Gauge({
      name: 'commander_tunnels_active',
      help: 'Tunnels open now',
      registers: [metrics],
    });
    this.bytes = new Counter({
      name: 'commander_tunnel_bytes_total',
      help: 'Bytes carried by tunnels: to_target (client to target) and from_target',
      labelNames: ['direction'],
      registers: [metrics],
    });
  }

  /**
   * A tunnel to `target` through the cluster's agent, wherever its session is held. `local`
   * dials only an agent held here: a replica never forwards what a peer forwarded to it.
   */
  async dial(clusterId: string, target: Target, local = false): Promise<OpenTunnel> {
    try {
      const opened =
        local || this.agents.session(clusterId) || !this.forwarding
          ? await this.open(clusterId, target)
          : await this.forward(clusterId, target, this.forwarding);
      this.opened.inc({ result: 'ok' });
      return opened;
    } catch (error) {
      this.opened.inc({ result: error instanceof TunnelError ? error.code : 'error' });
      throw error;
    }
  }

  private async open(clusterId: string, target: Target): Promise<OpenTunnel> {
    const agent = this.agents.session(clusterId);
    if (!agent) throw new TunnelError('agent_offline', 'the cluster has no agent connected');
    let stream: MuxStream;
    try {
      stream = agent.session.open({ window: TUNNEL_WINDOW.gateway });
    } catch (error) {
      throw new TunnelError(
        'agent_offline',
        `the agent's session cannot open streams: ${(error as Error).message}`,
      );
    }
    const dial: DialRequest = { type: 'dial', target: formatTarget(target) };
    stream.write(encodeMessage(dial));
    return this.answered(stream, 'agent', 'dial');
  }

  /** Over the link to the replica that holds the agent's session, if one does. */
  private async forward(clusterId: string, target: Target, forwarding: Forwarding): Promise<OpenTunnel> {
    let holder: Awaited<ReturnType<ReplicaRegistry['holder']>>;
    try {
      holder = await forwarding.registry.holder(clusterId);
    } catch (error) {
      throw new TunnelError(
        'agent_offline',
        `could not look the agent's session up: ${(error as Error).message}`,
      );
    }
    // Held here by the table but not in memory: a session that just ended.
    if (!holder || holder.replicaId === forwarding.replicaId) {
      throw new TunnelError('agent_offline', 'the cluster has no agent connected');
    }
    if (!holder.address) {
      throw new TunnelError(
        'agent_offline',
        `the agent is connected to replica ${holder.replicaId}, which has no replica link address`,
      );
    }
    let stream: MuxStream;
    try {
      stream = await forwarding.links.open(holder.address);
    } catch (error) {
      throw new TunnelError(
        'agent_offline',
        `could not reach replica ${holder.replicaId}, which holds the agent: ${(error as Error).message}`,
      );
    }
    const dial: LinkDial = { type: 'dial', cluster_id: clusterId, target: formatTarget(target) };
    stream.write(encodeMessage(dial));
    return this.answered(stream, `replica ${holder.replicaId}`, 'tunnel');
  }

  /** The answer to a dial request: the open tunnel, or the refusal as a TunnelError. */
  private async answered(stream: MuxStream, from: string, layer: 'dial' | 'tunnel'): Promise<OpenTunnel> {
    try {
      const { message, rest } = await readFirstMessage(stream);
      if (!isDialAnswer(message)) {
        throw new TunnelError(
          'dial_failed',
          `the answer of the ${from} is malformed: ${isDialAnswer.problem(message)}`,
        );
      }
      if (message.ok) return { stream, rest };
      // A code this gateway does not know (a newer agent's) is still a failed dial. A peer replica
      // may also answer agent_offline (the tunnel layer's codes).
      throw new TunnelError(isWireCode(layer, message.code) ? message.code : 'dial_failed', message.message);
    } catch (error) {
      stream.destroy();
      if (error instanceof TunnelError) throw error;
      throw new TunnelError('agent_offline', `the ${from} did not answer: ${(error as Error).message}`);
    }
  }
}
