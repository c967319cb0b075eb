// Plain HTTP answers to upgrade requests that are refused before any WebSocket exists.
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';

/** Writes a complete HTTP/1.1 answer and closes the connection (the body, when given, is JSON). */
export function answerUpgrade(
  socket: Duplex,
  status: number,
  headers: Record<string, string> = {},
  body?: { reason: string; json: string },
): void {
  if (socket.destroyed) return;
  const reason = body?.reason ?? STATUS_CODES[status] ?? 'Error';
  const lines = [`HTTP/1.1 ${status} ${reason}`];
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
  if (body) lines.push('Content-Type: application/json');
  lines.push('Connection: close', `Content-Length: ${body ? Buffer.byteLength(body.json) : 0}`);
  socket.end(`${lines.join('\r\n')}\r\n\r\n${body?.json ?? ''}`);
}
