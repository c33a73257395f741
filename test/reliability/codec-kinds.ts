/**
 * The built-in codecs the load rows run over, each with how a tagged frame (binary, see
 * `tagged-frame.ts`) travels through it: as is for binary codecs, as hex text for the text ones
 * (a line or a delimited frame cannot carry its own delimiter).
 *
 * | kind             | codec                                   | wire form of a tagged frame  |
 * |------------------|-----------------------------------------|------------------------------|
 * | length-prefixed  | LengthPrefixedCodec() (u32 BE length)   | length + bytes               |
 * | lines            | LinesCodec({ newline: 'lf' })           | hex + "\n"                   |
 * | delimiter        | DelimiterCodec({ delimiters: ';' })     | hex + ";"                    |
 * | resp             | RespCodec()                             | bulk string "$n\r\n…\r\n"    |
 */
import {
  type Codec,
  DelimiterCodec,
  LengthPrefixedCodec,
  LinesCodec,
  type Protocol,
  RespCodec,
} from '../../src/index.js';

export const CODEC_KINDS = ['length-prefixed', 'lines', 'delimiter', 'resp'] as const;
export type CodecKind = (typeof CODEC_KINDS)[number];

/** Frames of any kind: the engine never looks inside them. */
export type Tagged = Protocol<{ in: unknown; out: unknown; session: unknown }>;

/** How one kind makes codecs and carries tagged frames. */
export interface CodecAdapter {
  codec(): Codec<unknown, unknown>;
  /** The frame to `send` for a binary tagged frame. */
  toFrame(tagged: Buffer): unknown;
  /** The binary tagged frame inside a decoded frame (null if it is not one). */
  fromFrame(frame: unknown): Buffer | null;
}

const hex = (frame: unknown): Buffer | null => {
  const text =
    typeof frame === 'string' ? frame : Buffer.isBuffer(frame) ? frame.toString('latin1') : null;
  if (text === null || text.length % 2 !== 0 || !/^[0-9a-f]*$/.test(text)) return null;
  return Buffer.from(text, 'hex');
};

/**
 * The adapter of a codec kind.
 *
 * @example
 * ```ts
 * const kind = codecAdapter('lines');
 * ctx.send(kind.toFrame(taggedFrame(1, 0, 10)));
 * ```
 */
export function codecAdapter(kind: CodecKind): CodecAdapter {
  switch (kind) {
    case 'length-prefixed':
      return {
        codec: () => new LengthPrefixedCodec() as Codec<unknown, unknown>,
        toFrame: (tagged) => tagged,
        fromFrame: (frame) => (Buffer.isBuffer(frame) ? frame : null),
      };
    case 'lines':
      return {
        codec: () => new LinesCodec({ newline: 'lf' }) as Codec<unknown, unknown>,
        toFrame: (tagged) => tagged.toString('hex'),
        fromFrame: hex,
      };
    case 'delimiter':
      return {
        codec: () => new DelimiterCodec({ delimiters: ';' }) as Codec<unknown, unknown>,
        toFrame: (tagged) => Buffer.from(tagged.toString('hex'), 'latin1'),
        fromFrame: hex,
      };
    case 'resp':
      return {
        codec: () => new RespCodec() as Codec<unknown, unknown>,
        toFrame: (tagged) => tagged,
        fromFrame: (frame) => (Buffer.isBuffer(frame) ? frame : null),
      };
  }
}
