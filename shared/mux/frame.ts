// The yamux wire format (hashicorp/yamux spec.md): a 12-byte header, four frame types,
// flags as a bit mask. Every limit of the format is named here; its error codes are in the
// one catalogue (shared/errors.ts).
import type { WireCodeOf } from '../errors.js';

export const PROTOCOL_VERSION = 0;
export const HEADER_LENGTH = 12;
/** The window every stream starts with, before any window update (spec: 256 KiB). */
export const INITIAL_WINDOW = 256 * 1024;

export const FrameType = { Data: 0, WindowUpdate: 1, Ping: 2, GoAway: 3 } as const;
export type FrameType = (typeof FrameType)[keyof typeof FrameType];

export const Flag = { SYN: 1, ACK: 2, FIN: 4, RST: 8 } as const;

export const GoAwayCode = { Normal: 0, ProtocolError: 1, InternalError: 2 } as const;
export type GoAwayCode = (typeof GoAwayCode)[keyof typeof GoAwayCode];

export interface FrameHeader {
  type: FrameType;
  flags: number;
  streamId: number;
  /** Data: payload length. WindowUpdate: window delta. Ping: opaque value. GoAway: code. */
  length: number;
}

export function encodeHeader(type: FrameType, flags: number, streamId: number, length: number): Buffer {
  const header = Buffer.allocUnsafe(HEADER_LENGTH);
  header[0] = PROTOCOL_VERSION;
  header[1] = type;
  header.writeUInt16BE(flags, 2);
  header.writeUInt32BE(streamId, 4);
  header.writeUInt32BE(length >>> 0, 8);
  return header;
}

/** The mux's codes are in the one catalogue; a type-only import keeps the mux self-contained. */
export type MuxErrorCode = WireCodeOf<'mux'>;

/** Every failure of a session or stream carries one of these typed reasons. */
export class MuxError extends Error {
  constructor(
    readonly code: MuxErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'MuxError';
  }
}

/**
 * A MuxError without a stack trace, for what the peer did (a reset): the stack would only show
 * the frame decoder, and formatting it (Node reads `stack` when it destroys a stream with an
 * error) costs more than the rest of handling the reset.
 */
export function stacklessError(code: MuxErrorCode, message: string): MuxError {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return new MuxError(code, message);
  } finally {
    Error.stackTraceLimit = limit;
  }
}
