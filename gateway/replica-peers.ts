// This replica's links to its peers: those it opens, one per peer the first time a tunnel needs
// it and closed once idle (no full mesh), and those it accepts on its link address.
import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from '../shared/logger.js';
import type { Session } from '../shared/mux/session.js';
import type { MuxStream } from '../shared/mux/stream.js';
import { TUNNEL_WINDOW } from '../shared/wire/limits.js';
import { acceptLink, dialLink, LINK } from './replica-link.js';

interface Link {
  session: Session;
  streams: number;
  idle?: NodeJS.Timeout;
}

/** Links this replica opened, by peer address. */
export class ReplicaLinks {
  private readonly links = new Map<string, Promise<Link>>();

  constructor(
    private readonly keys: Buffer[],
    private readonly replicaId: string,
    private readonly logger: Logger,
  ) {}

  /** A new stream to the replica at `address`, on its link (opened now if there is none). */
  async open(address: string): Promise<MuxStream> {
    const link = await this.link(address);
    const stream = link.session.open({ window: TUNNEL_WINDOW.gateway });
    clearTimeout(link.idle);
    link.idle = undefined;
    link.streams += 1;
    stream.once('close', () => {
      link.streams -= 1;
      if (link.streams > 0 || link.session.closed) return;
      link.idle = setTimeout(() => {
        if (link.streams === 0) link.session.close();
      }, LINK.idleMs);
      link.idle.unref();
    });
    return stream;
  }

  private link(address: string): Promise<Link> {
    const known = this.links.get(address);
    if (known) return known;
    const pending = dialLink(address, this.keys, this.replicaId).then((session) => {
      const link: Link = { session, streams: 0 };
      const forget = () => {
        clearTimeout(link.idle);
        if (this.links.get(address) === pending) this.links.delete(address);
      };
      // A peer that drains says GoAway: the next tunnel to it needs a new link (and gets none).
      session.on('goaway', forget);
      session.on('close', (reason) => {
        forget();
        this.logger.info({ peer: address, reason: reason?.code ?? 'closed' }, 'replica link closed');
      });
      this.logger.info({ peer: address }, 'replica link opened');
      return link;
    });
    pending.catch(() => {
      if (this.links.get(address) === pending) this.links.delete(address);
    });
    this.links.set(address, pending);
    return pending;
  }

  /** Closes every link (their tunnels end). */
  close(): void {
    for (const pending of this.links.values())
      pending.then(
        (link) => link.session.close(),
        () => {},
      );
    this.links.clear();
  }
}

/** Accepts links from peers that prove the key; each stream they open goes to `serve`. */
export class LinkListener {
  private readonly server: Server;
  private readonly sessions = new Set<Session>();
  private handshaking = 0;

  constructor(
    private readonly keys: Buffer[],
    private readonly logger: Logger,
    private readonly serve: (stream: MuxStream, peer: string) => void,
  ) {
    this.server = createServer((socket) => this.accept(socket));
  }

  /** Listens; resolves with the port bound. */
  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        const address = this.server.address();
        resolve(typeof address === 'object' && address ? address.port : port);
      });
    });
  }

  private accept(socket: Socket): void {
    const from = socket.remoteAddress;
    if (this.handshaking >= LINK.maxHandshakes) {
      socket.destroy();
      return;
    }
    this.handshaking += 1;
    const done = acceptLink(socket, this.keys);
    done
      .finally(() => {
        this.handshaking -= 1;
      })
      .catch(() => {});
    done.then(
      ({ session, peer }) => {
        this.sessions.add(session);
        session.on('close', () => this.sessions.delete(session));
        session.on('stream', (stream) => this.serve(stream, peer));
      },
      (error: unknown) =>
        this.logger.warn({ remote_address: from, reason: (error as Error).message }, 'replica link refused'),
    );
  }

  /** Draining: no new links, and no new streams on the open ones; running tunnels carry on. */
  stopAccepting(): void {
    this.server.close();
    for (const session of this.sessions) session.goAway();
  }

  /** Closes every accepted link. */
  close(): void {
    this.server.close();
    for (const session of this.sessions) session.close();
    this.sessions.clear();
  }
}
