// The pino logger every program writes with; secrets are redacted by path.
import { type Logger, pino } from 'pino';

export type { Logger };

const SECRET_KEYS = [
  'token',
  'auth',
  'private_key',
  'privateKey',
  'password',
  'secret',
  'authorization',
  'x-auth-token',
  'databaseUrl',
];

export const REDACT_PATHS = [
  ...SECRET_KEYS.map((key) => `["${key}"]`),
  ...SECRET_KEYS.map((key) => `*["${key}"]`),
  ...SECRET_KEYS.map((key) => `*.*["${key}"]`),
  'req.headers.authorization',
  'req.headers["x-auth-token"]',
  'req.headers.cookie',
];

export function createLogger(level: string, name: string, destination?: pino.DestinationStream): Logger {
  return pino(
    { name, level, redact: { paths: REDACT_PATHS, censor: '[REDACTED]' }, base: { pid: process.pid } },
    destination,
  );
}
