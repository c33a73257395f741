/**
 * Frames that check themselves: each carries the connection id, a sequence number and a CRC32
 * of everything before it, so a receiver detects loss, duplication, reorder and corruption
 * from the frames alone.
 *
 * ```text
 * ┌──────────┬──────────┬────────────────────────┬──────────┐
 * │ conn u32 │ seq u32  │ payload (0..n bytes)   │ crc32    │   crc32 over conn..payload
 * └──────────┴──────────┴────────────────────────┴──────────┘
 * ```
 *
 * Payload bytes come from a generator seeded by (conn, seq) and never contain 0xdd (the pool's
 * canary), so a run of canary bytes in a frame can only come from a released buffer (I1). A
 * connection may mix a `secret` into its payloads (I2): 8 bytes no other connection uses.
 */

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/**
 * CRC-32 (IEEE 802.3, as zlib and PNG) of `bytes[start, end)`. zlib.crc32 is Node 22+ only.
 *
 * @example
 * ```ts
 * crc32(Buffer.from('123456789')) === 0xcbf43926;
 * ```
 */
export function crc32(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let crc = 0xffffffff;
  for (let i = start; i < end; i++) {
    crc = (CRC_TABLE[(crc ^ (bytes[i] as number)) & 0xff] as number) ^ (crc >>> 8);
  }
  return (crc ^ 0xffffffff) >>> 0;
}

/** Header (conn, seq) and trailer (crc) bytes around the payload. */
export const TAG_OVERHEAD = 12;

/** The canary byte of the buffer pool (kept here so payloads can avoid it). */
const CANARY = 0xdd;

/**
 * Builds frame `seq` of connection `conn` with a payload of `size` bytes. With `secret`, the
 * payload starts with it (and the secret must not contain 0xdd).
 *
 * @example
 * ```ts
 * const frame = taggedFrame(7, 0, 100);
 * checkTaggedFrame(frame, 7, 0) === null;
 * ```
 */
export function taggedFrame(conn: number, seq: number, size: number, secret?: Buffer): Buffer {
  const frame = Buffer.allocUnsafe(TAG_OVERHEAD + size);
  frame.writeUInt32BE(conn >>> 0, 0);
  frame.writeUInt32BE(seq >>> 0, 4);
  let state = (Math.imul(conn + 1, 0x9e3779b1) ^ Math.imul(seq + 1, 0x85ebca6b)) >>> 0;
  let i = 8;
  if (secret !== undefined) {
    const n = Math.min(secret.length, size);
    secret.copy(frame, 8, 0, n);
    i += n;
  }
  for (; i < 8 + size; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    const byte = state >>> 24;
    frame[i] = byte === CANARY ? 0x5a : byte;
  }
  frame.writeUInt32BE(crc32(frame, 0, 8 + size), 8 + size);
  return frame;
}

/**
 * What is wrong with a received frame, or null: too short, bad CRC, wrong connection, wrong
 * sequence number (a loss, duplicate or reorder).
 */
export function checkTaggedFrame(frame: Buffer, conn: number, seq: number): string | null {
  if (frame.length < TAG_OVERHEAD) return `conn ${conn} seq ${seq}: frame of ${frame.length} bytes`;
  const end = frame.length - 4;
  if (crc32(frame, 0, end) !== frame.readUInt32BE(end)) {
    return `conn ${conn} seq ${seq}: CRC mismatch (corrupt frame of ${frame.length} bytes)`;
  }
  const gotConn = frame.readUInt32BE(0);
  const gotSeq = frame.readUInt32BE(4);
  if (gotConn !== conn) return `conn ${conn} seq ${seq}: frame of conn ${gotConn} (crossed)`;
  if (gotSeq !== seq) {
    return `conn ${conn}: expected seq ${seq}, got ${gotSeq} (${gotSeq < seq ? 'duplicate or reorder' : 'loss or reorder'})`;
  }
  return null;
}

/** Length of the longest run of `byte` in `bytes`. */
export function longestRun(bytes: Uint8Array, byte: number): number {
  let best = 0;
  let run = 0;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] === byte) {
      run++;
      if (run > best) best = run;
    } else {
      run = 0;
    }
  }
  return best;
}
