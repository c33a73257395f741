import {
  type Codec,
  DecodeError,
  type Decoded,
  type DecodeResult,
  type EncodeResult,
  FrameTooLongError,
  IncompleteFrame,
  InsufficientBuffer,
} from '../../src/index.js';

/**
 * Test codec: a 4-byte big-endian length, then that many payload bytes. Frames are copied out
 * as Buffers (the engine's view is only valid during decode). A declared length above `max`
 * is rejected from the header alone.
 */
export class U32Codec implements Codec<Buffer> {
  readonly #max: number;
  readonly #result: Decoded<Buffer> = { frame: Buffer.alloc(0), bytesRead: 0 };

  constructor(maxPayload = 16 * 1024 * 1024) {
    this.#max = maxPayload;
  }

  decode(bytes: Buffer, start: number, end: number): DecodeResult<Buffer> {
    if (end - start < 4) return IncompleteFrame;
    const length = bytes.readUInt32BE(start);
    if (length > this.#max) throw new FrameTooLongError(length, this.#max, 'declared payload');
    if (end - start < 4 + length) return IncompleteFrame;
    this.#result.frame = Buffer.from(bytes.subarray(start + 4, start + 4 + length));
    this.#result.bytesRead = 4 + length;
    return this.#result;
  }

  encode(frame: Buffer, buffer: Buffer, start: number): EncodeResult {
    if (buffer.length - start < 4 + frame.length) return InsufficientBuffer;
    buffer.writeUInt32BE(frame.length, start);
    frame.copy(buffer, start + 4);
    return 4 + frame.length;
  }
}

/**
 * Test codec: UTF-8 lines ending in '\n'. A line containing 0xff is corrupt (0xff never appears
 * in UTF-8), which gives tests an easy way to send a malformed frame. A final line without '\n'
 * is delivered at end of stream.
 */
export class LineCodec implements Codec<string> {
  decode(bytes: Buffer, start: number, end: number): DecodeResult<string> {
    const newline = bytes.indexOf(0x0a, start);
    if (newline === -1 || newline >= end) {
      const bad = bytes.indexOf(0xff, start);
      if (bad !== -1 && bad < end) throw new DecodeError(`byte 0xff at offset ${bad - start}`);
      return IncompleteFrame;
    }
    const bad = bytes.indexOf(0xff, start);
    if (bad !== -1 && bad < newline) throw new DecodeError(`byte 0xff at offset ${bad - start}`);
    return { frame: bytes.toString('utf8', start, newline), bytesRead: newline + 1 - start };
  }

  decodeEof(bytes: Buffer, start: number, end: number): DecodeResult<string> {
    return { frame: bytes.toString('utf8', start, end), bytesRead: end - start };
  }

  encode(line: string, buffer: Buffer, start: number): EncodeResult {
    const length = Buffer.byteLength(line) + 1;
    if (length > buffer.length - start) return InsufficientBuffer;
    buffer.write(line, start, 'utf8');
    buffer[start + length - 1] = 0x0a;
    return length;
  }
}
