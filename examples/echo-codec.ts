/**
 * The seed README's EchoCodec, made correct: frames are UTF-8 text lines ending in '\n'. (The
 * seed treated "invalid UTF-8" as "incomplete", which hangs on bad input and splits frames
 * wherever a read happens to end; a delimiter is what makes a frame.)
 */
import {
  type Codec,
  DecodeError,
  type DecodeResult,
  decoded,
  type EncodeResult,
  IncompleteFrame,
  InsufficientBuffer,
} from '../src/index.js';

const NEWLINE = 0x0a;
const MAX_LINE = 64 * 1024;

// This codec works for both a client and a server connection.
export class EchoCodec implements Codec<string> {
  // Try to parse a frame from the bytes we have so far.
  decode(bytes: Buffer, start: number, end: number): DecodeResult<string> {
    const newline = bytes.indexOf(NEWLINE, start);
    if (newline === -1 || newline >= end) {
      // Not a whole line yet: say so, unless it is already longer than any line may be.
      if (end - start > MAX_LINE) throw new DecodeError(`line longer than ${MAX_LINE} bytes`);
      return IncompleteFrame;
    }
    // Copy the line out of the engine's buffer (it is reused after this call).
    const message = bytes.toString('utf8', start, newline);
    // Tell the engine how many bytes the frame took, newline included.
    return decoded(message, newline + 1 - start);
  }

  // Try to write a frame into the buffer from `start`.
  encode(message: string, buffer: Buffer, start: number): EncodeResult {
    const length = Buffer.byteLength(message) + 1;
    // If the buffer isn't big enough, say so: the engine retries with a bigger one.
    if (length > buffer.length - start) return InsufficientBuffer;
    buffer.write(message, start, 'utf8');
    buffer[start + length - 1] = NEWLINE;
    // Tell the engine how many bytes we wrote.
    return length;
  }
}
