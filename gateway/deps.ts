// What the gateway is built from: the composition root hands these to the server and its parts.
import type { Registry } from 'prom-client';
import type { AuditPrinter } from '../shared/audit.js';
import type { OidcConfig } from '../shared/config.js';
import type { Encryptor } from '../shared/crypto.js';
import type { Sql } from '../shared/db/connect.js';
import type { Logger } from '../shared/logger.js';

export interface GatewayDeps {
  sql: Sql;
  encryptor: Encryptor;
  logger: Logger;
  metrics: Registry;
  printAudit: AuditPrinter;
  publicUrl: string;
  /**
   * Base64 of the certificate agents should trust (the PEM the gateway serves over HTTPS): the
   * templates' dc_caBundle. Empty when the gateway serves plain HTTP (TLS ending at an ingress
   * that agents already trust).
   */
  caBundle?: string;
  oidc?: OidcConfig;
  /** This process's name in the session registry. */
  replicaId?: string;
  /** The replica link's listen address and advertised address (config.ts); unset: no link. */
  replicaLink?: { listen: { host: string; port: number }; address?: string };
  /** How often this replica heartbeats its gateway_replicas row (ms, default 5,000). */
  replicaHeartbeatMs?: number;
  /** How long a stopping gateway lets running tunnels finish (ms, default 0). */
  drainMs?: number;
  /** True once shutdown began: /readyz answers 503 so load balancers move away. */
  isDraining: () => boolean;
  trustProxy?: boolean | string[];
  /** Telemetry samples older than this are deleted (default 30). */
  telemetryRetentionDays?: number;
  /** PEM certificate and key to serve HTTPS (and wss://) directly. */
  https?: { cert: Buffer; key: Buffer };
}
