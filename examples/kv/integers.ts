/**
 * Integers as Redis reads them from arguments and string values (its `string2ll`): `0`, or an
 * optional `-` then a digit 1–9 then digits, within a signed 64-bit range. So `+1`, `01`, `-0`,
 * ` 1` and `1.0` are not integers, and Redis answers them with
 * `ERR value is not an integer or out of range`.
 *
 * Values within ±2^53 come back as `number`; beyond that (up to int64) as `bigint`, so INCR on
 * 9223372036854775806 stays exact.
 */

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/**
 * Parses bytes as a 64-bit signed integer the way Redis does; `undefined` if they are not one.
 *
 * @example
 * ```ts
 * parseInteger(Buffer.from('-42')); // -42
 * parseInteger(Buffer.from('042')); // undefined
 * ```
 */
export function parseInteger(bytes: Buffer): number | bigint | undefined {
  const length = bytes.length;
  if (length === 0 || length > 20) return undefined;
  let i = 0;
  const negative = bytes[0] === 0x2d;
  if (negative) {
    i = 1;
    if (length === 1) return undefined;
  }
  const first = bytes[i] as number;
  if (first === 0x30) return length === 1 ? 0 : undefined;
  if (first < 0x31 || first > 0x39) return undefined;
  if (length - i <= 15) {
    // Up to 15 digits fit a double exactly: no BigInt on the common path.
    let value = 0;
    for (; i < length; i++) {
      const digit = (bytes[i] as number) - 0x30;
      if (digit < 0 || digit > 9) return undefined;
      value = value * 10 + digit;
    }
    return negative ? -value : value;
  }
  for (let j = i; j < length; j++) {
    const digit = (bytes[j] as number) - 0x30;
    if (digit < 0 || digit > 9) return undefined;
  }
  const big = BigInt(bytes.toString('latin1'));
  if (big < INT64_MIN || big > INT64_MAX) return undefined;
  return normalize(big);
}

/**
 * Adds two int64 values; `undefined` on overflow (Redis: "increment or decrement would overflow").
 *
 * @example
 * ```ts
 * addInteger(2 ** 53, 1); // 9007199254740993n
 * ```
 */
export function addInteger(a: number | bigint, b: number | bigint): number | bigint | undefined {
  if (typeof a === 'number' && typeof b === 'number') {
    const sum = a + b;
    if (Number.isSafeInteger(sum)) return sum;
  }
  const big = BigInt(a) + BigInt(b);
  if (big < INT64_MIN || big > INT64_MAX) return undefined;
  return normalize(big);
}

/**
 * An int64 as a number when it is safe, else as a bigint (what `RespCodec` encodes as `:n`).
 *
 * @example
 * ```ts
 * normalize(5n); // 5
 * ```
 */
export function normalize(value: bigint): number | bigint {
  return value >= -9007199254740991n && value <= 9007199254740991n ? Number(value) : value;
}
