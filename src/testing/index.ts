/**
 * mai/testing — the codec conformance kit and an in-memory harness.
 *
 * Every built-in codec runs `assertCodecConformance`; run it on your own codecs too. It needs
 * `fast-check` (an optional peer dependency of mai) for its random chunkings and round trips.
 *
 * @example
 * ```ts
 * import { assertCodecConformance, decodeChunks } from 'mai/testing';
 * ```
 */

export {
  assertCodecConformance,
  type CodecConformanceSpec,
  type ConformanceCase,
  type ConformanceLimit,
  type RoundTripSpec,
} from './conformance.js';
export { encodeFrames, FrameEncoder, type FrameEncoderOptions } from './frame-encoder.js';
export { framesEqual } from './frames-equal.js';
export { CodecHarness, type CodecHarnessOptions, type HarnessCall } from './harness.js';
export {
  type DecodeChunksResult,
  decodeChunks,
  StreamDecoder,
  type StreamDecoderOptions,
} from './stream-decoder.js';
