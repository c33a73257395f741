import { isDeepStrictEqual } from 'node:util';

/**
 * Deep strict equality where any two byte arrays (Buffer, Uint8Array) are equal when their bytes
 * are: a codec may hand back a Buffer for a Uint8Array it was given, and that is not a difference
 * a user can see.
 *
 * @example
 * ```ts
 * framesEqual(Buffer.from('ab'), new Uint8Array([0x61, 0x62])); // true
 * framesEqual({ a: [1, Buffer.from('x')] }, { a: [1, Buffer.from('x')] }); // true
 * ```
 */
export function framesEqual(a: unknown, b: unknown): boolean {
  if (a instanceof Uint8Array && b instanceof Uint8Array) {
    return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!framesEqual(a[i], b[i])) return false;
    return true;
  }
  if (isPlainObject(a) && isPlainObject(b)) {
    const keys = Object.keys(a);
    if (keys.length !== Object.keys(b).length) return false;
    for (const key of keys) {
      if (!Object.hasOwn(b, key) || !framesEqual(a[key], b[key])) return false;
    }
    return true;
  }
  return isDeepStrictEqual(a, b);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}
