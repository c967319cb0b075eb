// When the agent stops instead of reconnecting: refusals that waiting cannot cure, each with an
// exit code of its own (README, "An agent and a tunnel"). Everything else (the network, a 503, a
// gateway restarting or failing inside) is retried with backoff.
import { ExitError } from '../shared/exit.js';

export const AGENT_EXIT_CODES = {
  /** The token file holds something that is not an enrollment token for this cluster. */
  malformed_token: 3,
  /** The gateway refused the enrollment token: used, expired, or not issued by it. */
  enrollment_refused: 4,
  /** Not enrolled: no key the gateway knows, and no unused enrollment token to enroll one. */
  not_enrolled: 5,
  /** The agent's key was revoked. */
  revoked: 6,
  /** The gateway has no such cluster (deleted, archived, or a wrong --url). */
  unknown_cluster: 7,
  /** The gateway does not speak this agent's protocol version. */
  unsupported_protocol: 8,
  /** The identity Secret cannot be used: damaged, another cluster's, or the agent may not use it. */
  identity_unusable: 9,
} as const;

export type GiveUpReason = keyof typeof AGENT_EXIT_CODES;

export class AgentGaveUp extends ExitError {
  constructor(
    readonly reason: GiveUpReason,
    message: string,
  ) {
    super(`agent: ${message}`, AGENT_EXIT_CODES[reason]);
    this.name = 'AgentGaveUp';
  }
}

export interface RefusalContext {
  clusterId: string;
  tokenFile: string | undefined;
  /** Whether the refused hello carried an enrollment token. */
  enrolling: boolean;
}

/** What to do about it, ending each message that asks for a new enrollment token. */
export function newTokenAdvice(context: Pick<RefusalContext, 'clusterId' | 'tokenFile'>): string {
  const where = context.tokenFile ?? 'a file given as --token-file';
  return `write a new enrollment token (the "token" of POST /api/v1/clusters/${context.clusterId}/agent_tokens) into ${where} and start the agent again`;
}

/** Text from the gateway, fit for one line of ours: no control characters, bounded. */
export function quoted(text: unknown): string {
  return String(text)
    .replace(/[\p{Cc}\p{Zl}\p{Zp}]+/gu, ' ')
    .slice(0, 200);
}

/** The gateway's handshake refusal as a reason to stop, or undefined when a retry may succeed. */
export function permanentRefusal(
  code: unknown,
  message: unknown,
  context: RefusalContext,
): AgentGaveUp | undefined {
  const said = quoted(message);
  switch (code) {
    case 'unknown_cluster':
      return new AgentGaveUp(
        'unknown_cluster',
        `the gateway has no cluster ${context.clusterId} (deleted, archived, or a wrong --url): check --url`,
      );
    case 'revoked':
      return new AgentGaveUp(
        'revoked',
        `the gateway revoked this agent's key; to enroll it again, ${newTokenAdvice(context)}`,
      );
    case 'unauthorized':
      return context.enrolling
        ? new AgentGaveUp(
            'enrollment_refused',
            `the gateway refused the enrollment token (${said}); ${newTokenAdvice(context)}`,
          )
        : new AgentGaveUp(
            'not_enrolled',
            `the gateway does not accept this agent's key (${said}); to enroll it, ${newTokenAdvice(context)}`,
          );
    case 'unsupported_protocol':
    case 'bad_handshake':
      // A gateway that fails inside (its database, say) refuses with bad_handshake too: only a
      // protocol mismatch is permanent.
      if (code === 'unsupported_protocol' || /unsupported protocol/i.test(said)) {
        return new AgentGaveUp(
          'unsupported_protocol',
          `the gateway does not speak this agent's protocol (${said}): run an agent of the gateway's version`,
        );
      }
      return undefined;
    default:
      return undefined;
  }
}
