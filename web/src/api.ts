// The public REST API as the web application calls it: the session's token (X-Auth-Token, or
// Bearer for an OIDC JWT), JSON both ways, and the API's error kept whole so a form can show each
// message next to its field.
import { authHeaders, session } from './session';

export interface ErrorDetail {
  path: string;
  message: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: ErrorDetail[],
  ) {
    super(message);
  }

  /** The message for one field: `name`, `values/masterHost`…; paths are body/<field>. */
  field(name: string): string | undefined {
    return this.details.find((d) => d.path === `body/${name}` || d.path.startsWith(`body/${name}/`))?.message;
  }

  /** Messages naming no field the form shows, for the form's own error line. */
  rest(known: string[]): string | undefined {
    if (this.details.length === 0) return this.message;
    const left = this.details.filter(
      (d) => !known.some((k) => d.path === `body/${k}` || d.path.startsWith(`body/${k}/`)),
    );
    return left.length > 0
      ? left.map((d) => `${d.path.replace(/^body\//, '')} ${d.message}`).join('; ')
      : undefined;
  }
}

/** Called when the API says the token is no longer good: the app goes back to sign in. */
let onUnauthorized: () => void = () => {};
export function whenUnauthorized(handler: () => void): void {
  onUnauthorized = handler;
}

export async function api<T>(
  method: string,
  path: string,
  body?: unknown,
  token = session.token(),
): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json', ...authHeaders(token) };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`/api/v1${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  const parsed = text ? safeJson(text) : undefined;
  if (!response.ok) {
    const error = (parsed as { error?: { code?: string; message?: string; details?: unknown } } | undefined)
      ?.error;
    const details = Array.isArray(error?.details)
      ? (error.details as ErrorDetail[]).filter((d) => typeof d?.path === 'string')
      : [];
    if (response.status === 401 && token === session.token()) onUnauthorized();
    throw new ApiError(
      response.status,
      error?.code ?? 'HTTP',
      error?.message ?? `HTTP ${response.status}`,
      details,
    );
  }
  return parsed as T;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export const get = <T>(path: string) => api<T>('GET', path);
