/**
 * Copies `bytes[from, to)` out of a buffer the engine reuses (its read buffer, a pooled one)
 * into a Buffer of its own: what a codec's decoded frame must hold (the codec contract). One
 * allocation, from Node's pool when small.
 */
export function copyOut(bytes: Buffer, from: number, to: number): Buffer {
  const out = Buffer.allocUnsafe(to - from);
  bytes.copy(out, 0, from, to);
  return out;
}
