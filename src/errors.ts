/**
 * The MaiError family. Users match on `code`, never on the message or the class name: the codes
 * below are the stable contract, and every one of them is listed in `docs/errors.md`.
 *
 * Messages carry the numbers involved ("frame length 70000 exceeds maxFrameLength 65536"), and
 * `cause` holds the underlying error where there is one.
 */

/** Every code a MaiError can carry. */
export const ErrorCode = {
  /** The codec found bytes that cannot be a frame: the stream is corrupt. */
  CorruptFrame: 'MAI_CORRUPT_FRAME',
  /** A frame (declared or observed) is longer than the limit that applies to it. */
  FrameTooLong: 'MAI_FRAME_TOO_LONG',
  /** The peer ended the stream in the middle of a frame. */
  TruncatedFrame: 'MAI_TRUNCATED_FRAME',
  /** The codec could not encode a frame (not representable, or larger than the limit). */
  EncodeFailed: 'MAI_ENCODE_FAILED',
  /** The codec broke the Codec contract (no progress, or claimed more bytes than it was given). */
  CodecContract: 'MAI_CODEC_CONTRACT',
  /** The codec threw something that is not a MaiError: a bug in the codec. */
  CodecThrew: 'MAI_CODEC_THREW',
  /** A handler callback threw, or the Promise returned by `onFrame` rejected. */
  HandlerFailed: 'MAI_HANDLER_FAILED',
  /** The peer reset the connection, or the socket failed with an I/O error. */
  ConnectionReset: 'MAI_CONNECTION_RESET',
  /** Nothing was listening at the address given to `connect`. */
  ConnectRefused: 'MAI_CONNECT_REFUSED',
  /** `connect` did not complete within its `timeoutMs`. */
  ConnectTimeout: 'MAI_CONNECT_TIMEOUT',
  /** `connect` or `listen` failed for another reason (see `cause`). */
  ConnectFailed: 'MAI_CONNECT_FAILED',
  /** `listen` could not bind its address (see `cause`, e.g. EADDRINUSE). */
  ListenFailed: 'MAI_LISTEN_FAILED',
  /** The peer does not read: queued output passed the hard limit, or stayed above the soft limit too long. */
  SlowConsumer: 'MAI_SLOW_CONSUMER',
  /** An unfinished frame stayed unfinished for `partialFrameTimeoutMs` (slowloris). */
  PartialFrameTimeout: 'MAI_PARTIAL_FRAME_TIMEOUT',
  /** No frame arrived within `firstFrameTimeoutMs` of the stream opening. */
  FirstFrameTimeout: 'MAI_FIRST_FRAME_TIMEOUT',
  /**
   * After `close()` (or an error), queued output made no progress towards the kernel for
   * `closeTimeoutMs`: the stream was destroyed and what was left is reported unsent.
   */
  CloseTimeout: 'MAI_CLOSE_TIMEOUT',
  /** The stream was closed by `engine.shutdown()` before it finished on its own. */
  ShutdownDeadline: 'MAI_SHUTDOWN_DEADLINE',
  /** The engine is shutting down or shut down and refuses new streams. */
  EngineClosed: 'MAI_ENGINE_CLOSED',
  /** An option has a value mai cannot use. */
  InvalidOption: 'MAI_INVALID_OPTION',
  /** `engine.broadcast` could not queue the frame on some of its targets (see `failures`). */
  BroadcastFailed: 'MAI_BROADCAST_FAILED',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/**
 * Base class of every error mai raises or reports.
 *
 * @example
 * ```ts
 * onError(ctx, error) {
 *   if (error.code === 'MAI_FRAME_TOO_LONG') metrics.tooLong++;
 * }
 * ```
 */
export class MaiError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }

  override get name(): string {
    return this.constructor.name;
  }
}

/**
 * Malformed input: the bytes cannot be a frame. Throw it from `Codec.decode`; the engine closes
 * that stream (and only that one), calling `onError` then `onClosed`.
 *
 * @example
 * ```ts
 * if (bytes[start] !== 0x2a) throw new DecodeError(`expected '*', got 0x${bytes[start].toString(16)}`);
 * ```
 */
export class DecodeError extends MaiError {
  constructor(
    message: string,
    options?: {
      cause?: unknown;
      code?: 'MAI_CORRUPT_FRAME' | 'MAI_FRAME_TOO_LONG' | 'MAI_TRUNCATED_FRAME';
    },
  ) {
    super(options?.code ?? ErrorCode.CorruptFrame, message, options);
  }
}

/**
 * A frame longer than its limit, whether its length was declared in a header or observed while
 * waiting for a delimiter. `length` is what was declared or seen so far; `limit` is the limit;
 * `option` names the option that set it (`maxFrameLength` for the engine's own limit,
 * `maxLineLength`, `maxLength`, `maxBulkLength`, ... for a codec's), so the message points at
 * the setting to change.
 *
 * @example
 * ```ts
 * throw new FrameTooLongError(held, this.maxLineLength, 'line', 'maxLineLength');
 * // "line length 70000 exceeds maxLineLength 65536"
 * ```
 */
export class FrameTooLongError extends DecodeError {
  readonly length: number;
  readonly limit: number;
  readonly option: string;

  constructor(length: number, limit: number, what = 'frame', option = 'maxFrameLength') {
    super(`${what} length ${length} exceeds ${option} ${limit}`, {
      code: ErrorCode.FrameTooLong,
    });
    this.length = length;
    this.limit = limit;
    this.option = option;
  }
}

/** The stream ended with `partialBytes` bytes of an unfinished frame. */
export class TruncatedFrameError extends DecodeError {
  readonly partialBytes: number;

  constructor(partialBytes: number) {
    super(`stream ended inside a frame: ${partialBytes} bytes of an incomplete frame`, {
      code: ErrorCode.TruncatedFrame,
    });
    this.partialBytes = partialBytes;
  }
}

/** The codec cannot encode this frame. Thrown synchronously by `send`; nothing is queued. */
export class EncodeError extends MaiError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(ErrorCode.EncodeFailed, message, options);
  }
}

/**
 * The codec broke its contract: `decode` returned a frame without consuming any byte, returned a
 * byte count larger than it was given, or `encode` claimed more bytes than the buffer holds.
 * Without this guard such a codec would spin forever or read garbage.
 */
export class CodecContractError extends MaiError {
  constructor(message: string) {
    super(ErrorCode.CodecContract, message);
  }
}

/** Errors about a connection: reset, refused, timed out, closed by shutdown. */
export class ConnectionError extends MaiError {}

/** An option mai cannot use. Thrown synchronously where the option is given. */
export class InvalidOptionError extends MaiError {
  constructor(message: string) {
    super(ErrorCode.InvalidOption, message);
  }
}

/**
 * `engine.broadcast` tried every target, and some refused the frame (their codec could not
 * encode it, say). The others queued it: `sent` counts them; `failures` says which streams did
 * not get it and why. The streams stay open.
 */
export class BroadcastError extends MaiError {
  readonly sent: number;
  readonly failures: readonly { readonly token: number; readonly error: MaiError }[];

  constructor(sent: number, failures: readonly { token: number; error: MaiError }[]) {
    const first = failures[0]?.error.message ?? '';
    super(
      ErrorCode.BroadcastFailed,
      `broadcast queued the frame on ${sent} streams and failed on ${failures.length} (first: ${first})`,
      { cause: failures[0]?.error },
    );
    this.sent = sent;
    this.failures = failures;
  }
}

/** Wraps anything that is not a MaiError into one with the given code, keeping it as `cause`. */
export function asMaiError(error: unknown, code: ErrorCode, context: string): MaiError {
  if (error instanceof MaiError) return error;
  const detail = error instanceof Error ? error.message : String(error);
  return new MaiError(code, `${context}: ${detail}`, { cause: error });
}
