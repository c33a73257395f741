import { createRequire } from 'node:module';
import type { Transform } from 'node:stream';

const require = createRequire(import.meta.url);

/** The part of `length-prefixed-stream` (which ships no types) the codec benchmark uses. */
export interface LengthPrefixedStream {
  /** A Transform: Buffers in, varint-length-prefixed bytes out. */
  encode(): Transform;
  /** A Transform: bytes in, one message Buffer per 'data' event out. */
  decode(options?: { limit?: number; allowEmpty?: boolean }): Transform;
}

/**
 * `length-prefixed-stream`, loaded with `require` and typed here (it has no @types package).
 *
 * @example
 * ```ts
 * const decoder = lengthPrefixedStream.decode();
 * decoder.on('data', (message: Buffer) => {});
 * ```
 */
export const lengthPrefixedStream = require('length-prefixed-stream') as LengthPrefixedStream;
