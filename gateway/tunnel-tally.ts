// What each tunnel carried and how it ended: the tunnel metrics and one audit row per tunnel,
// refused ones included.
import { randomUUID } from 'node:crypto';
import type { Actor, AuditWriter } from '../shared/audit.js';
import { isWireCode, type WireCodeOf } from '../shared/errors.js';
import { formatTarget, type Target } from '../shared/targets.js';
import type { TunnelBroker } from './tunnel-broker.js';

/**
 * How a tunnel ended, as its audit row's `end` says: both sides closed it cleanly, one side
 * went away (closed, reset, or gone before the upgrade), the gateway stopped; or the code of
 * the mux failure that ended it, or of the refusal.
 */
export type TunnelEnd =
  | 'closed'
  | 'client_closed'
  | 'client_gone'
  | 'client_error'
  | 'agent_closed'
  | 'agent_error'
  | 'gateway_stopped'
  | WireCodeOf<'mux'>
  | WireCodeOf<'tunnel'>;

/** The end of a tunnel whose agent stream failed with `error`. */
export function agentFailure(error: Error & { code?: unknown }): TunnelEnd {
  return isWireCode('mux', error.code) ? error.code : 'agent_error';
}

/** One open tunnel's byte counts; finish() records it once (metrics, then its audit row). */
export interface Tally {
  toTarget: number;
  fromTarget: number;
  finish(end: TunnelEnd): void;
}

export class TunnelTallies {
  /** Tunnels open now, each finished (and audited) once. */
  private readonly open = new Set<Tally>();

  constructor(
    private readonly audit: AuditWriter,
    private readonly broker: TunnelBroker,
  ) {}

  /** Counts a tunnel that opened. */
  start(actor: Actor, clusterId: string, target: Target): Tally {
    const { broker } = this;
    const started = Date.now();
    broker.active.inc();
    const tally: Tally = {
      toTarget: 0,
      fromTarget: 0,
      finish: (end) => {
        if (!this.open.delete(tally)) return;
        broker.active.dec();
        broker.bytes.inc({ direction: 'to_target' }, tally.toTarget);
        broker.bytes.inc({ direction: 'from_target' }, tally.fromTarget);
        this.record(actor, clusterId, target, end, started, tally);
      },
    };
    this.open.add(tally);
    return tally;
  }

  /** A tunnel refused before it opened (`end` is the refusal's code). */
  refused(actor: Actor, clusterId: string, target: Target, end: TunnelEnd, started: number): void {
    this.record(actor, clusterId, target, end, started, { toTarget: 0, fromTarget: 0 });
  }

  /** Tunnels open now. */
  get openCount(): number {
    return this.open.size;
  }

  /** Ends the count of every open tunnel (the gateway is going away). */
  finishAll(end: TunnelEnd): void {
    for (const tally of [...this.open]) tally.finish(end);
  }

  private record(
    actor: Actor,
    clusterId: string,
    target: Target,
    end: TunnelEnd,
    started: number,
    bytes: { toTarget: number; fromTarget: number },
  ): void {
    this.audit.add(actor, {
      auditableType: 'Tunnel',
      auditableId: actor.requestUuid ?? randomUUID(),
      action: 'tunnel',
      changes: {
        cluster_id: clusterId,
        target: formatTarget(target),
        end,
        bytes_to_target: bytes.toTarget,
        bytes_from_target: bytes.fromTarget,
        duration_ms: Date.now() - started,
      },
    });
  }
}
