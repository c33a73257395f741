/**
 * The arithmetic of INCRBYFLOAT and HINCRBYFLOAT, as redis-server does it: in the C `long
 * double` of x86-64 (a 64-bit mantissa, not a double's 53), printed with `%.17Lf` and trailing
 * zeros removed. A JS double would print `0.1` as `0.10000000000000001` at that precision, so
 * values are kept exactly as `mantissa * 2^exponent` with BigInt and rounded to 64 bits after
 * each step, round-half-even, as the FPU does.
 */

/**
 * A finite long double (`m * 2^e`, `m` below 2^64), or an infinity.
 *
 * @example
 * ```ts
 * const one: LongDouble = { negative: false, m: 1n, e: 0 };
 * ```
 */
export type LongDouble =
  | { readonly negative: boolean; readonly m: bigint; readonly e: number }
  | { readonly negative: boolean; readonly infinite: true };

const MANTISSA_BITS = 64;
/** Values at or above 2^16384 overflow a long double. */
const MAX_EXPONENT = 16384;
/** Below 2^-16445 (the smallest denormal) a value rounds to zero. */
const MIN_EXPONENT = -16445;
/** Redis refuses float arguments this long (MAX_LONG_DOUBLE_CHARS). */
const MAX_CHARS = 5 * 1024;

const DECIMAL = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;
const INFINITY = /^([+-]?)(?:inf|infinity)$/i;

function bitLength(n: bigint): number {
  return n === 0n ? 0 : n.toString(2).length;
}

/** floor(num / (den * 2^e)), with the scaled numerator and denominator for rounding. */
function divide(num: bigint, den: bigint, e: number): [bigint, bigint, bigint] {
  const n = e < 0 ? num << BigInt(-e) : num;
  const d = e > 0 ? den << BigInt(e) : den;
  return [n / d, n, d];
}

const TOP = 1n << BigInt(MANTISSA_BITS);

/**
 * Rounds the positive rational `num / den` to a long double, half to even; undefined when it
 * underflows to zero.
 */
function roundRational(negative: boolean, num: bigint, den: bigint): LongDouble | undefined {
  if (num === 0n) return { negative, m: 0n, e: 0 };
  // num / den / 2^e then lies in [2^63, 2^65): at most one step more gives 64 bits.
  let e = Math.max(bitLength(num) - bitLength(den) - MANTISSA_BITS, MIN_EXPONENT);
  let [q, n, d] = divide(num, den, e);
  if (q >= TOP) {
    e += 1;
    [q, n, d] = divide(num, den, e);
  }
  const r2 = (n - q * d) * 2n;
  if (r2 > d || (r2 === d && (q & 1n) === 1n)) q += 1n;
  if (q === TOP) {
    q >>= 1n;
    e += 1;
  }
  if (q === 0n) return undefined;
  if (e + bitLength(q) > MAX_EXPONENT) return { negative, infinite: true };
  return { negative, m: q, e };
}

/**
 * Parses bytes as Redis's string2ld does (strtold, nothing before or after the number, no NaN,
 * no NUL byte, no overflow or underflow to zero); undefined when Redis would say "not a valid float".
 * Hexadecimal floats, which strtold also reads, are not accepted here.
 *
 * @example
 * ```ts
 * parseLongDouble(Buffer.from('1.5e3')); // { negative: false, m: 1500n << …, e: … }
 * ```
 */
export function parseLongDouble(bytes: Buffer): LongDouble | undefined {
  if (bytes.length === 0 || bytes.length >= MAX_CHARS) return undefined;
  const first = bytes[0] as number;
  if (first === 0x20 || (first >= 0x09 && first <= 0x0d)) return undefined;
  // strtold stops at a NUL; Redis then sees it did not read every byte.
  if (bytes.includes(0)) return undefined;
  const text = bytes.toString('latin1');
  const inf = INFINITY.exec(text);
  if (inf !== null) return { negative: inf[1] === '-', infinite: true };
  const match = DECIMAL.exec(text);
  if (match === null) return undefined;
  const whole = match[2] ?? '';
  const fraction = match[3] ?? '';
  if (whole === '' && fraction === '') return undefined;
  const negative = match[1] === '-';
  const exponent = Number(match[4] ?? '0') - fraction.length;
  const digits = BigInt(whole + fraction || '0');
  if (digits === 0n) return { negative, m: 0n, e: 0 };
  // Beyond these, the value overflows or underflows whatever the digits.
  if (exponent > 5000) return undefined;
  if (exponent < -10000) return undefined;
  const result =
    exponent >= 0
      ? roundRational(negative, digits * 10n ** BigInt(exponent), 1n)
      : roundRational(negative, digits, 10n ** BigInt(-exponent));
  if (result === undefined || 'infinite' in result) return undefined;
  return result;
}

/**
 * The long double nearest to `a + b`; an infinity on overflow (or when either is one).
 *
 * @example
 * ```ts
 * addLongDouble(parseLongDouble(Buffer.from('0.1'))!, parseLongDouble(Buffer.from('0.2'))!);
 * ```
 */
export function addLongDouble(a: LongDouble, b: LongDouble): LongDouble | 'nan' {
  if ('infinite' in a || 'infinite' in b) {
    if ('infinite' in a && 'infinite' in b && a.negative !== b.negative) return 'nan';
    return 'infinite' in a ? a : b;
  }
  const e = Math.min(a.e, b.e);
  const av = (a.negative ? -a.m : a.m) << BigInt(a.e - e);
  const bv = (b.negative ? -b.m : b.m) << BigInt(b.e - e);
  const sum = av + bv;
  const negative = sum < 0n;
  const magnitude = negative ? -sum : sum;
  if (magnitude === 0n) return { negative: false, m: 0n, e: 0 };
  const num = e >= 0 ? magnitude << BigInt(e) : magnitude;
  const den = e >= 0 ? 1n : 1n << BigInt(-e);
  return roundRational(negative, num, den) ?? { negative, m: 0n, e: 0 };
}

/**
 * The value as Redis prints it (`%.17Lf`, trailing zeros and a trailing dot removed, `-0` as
 * `0`, infinities as `inf` / `-inf`).
 *
 * @example
 * ```ts
 * formatLongDouble(parseLongDouble(Buffer.from('10.50'))!); // '10.5'
 * ```
 */
export function formatLongDouble(value: LongDouble): string {
  if ('infinite' in value) return value.negative ? '-inf' : 'inf';
  const scale = 10n ** 17n;
  let scaled: bigint;
  if (value.e >= 0) {
    scaled = (value.m << BigInt(value.e)) * scale;
  } else {
    const den = 1n << BigInt(-value.e);
    const num = value.m * scale;
    scaled = num / den;
    const r2 = (num - scaled * den) * 2n;
    if (r2 > den || (r2 === den && (scaled & 1n) === 1n)) scaled += 1n;
  }
  const digits = scaled.toString().padStart(18, '0');
  let text = `${digits.slice(0, -17)}.${digits.slice(-17)}`.replace(/0+$/, '');
  if (text.endsWith('.')) text = text.slice(0, -1);
  if (value.negative && text !== '0') text = `-${text}`;
  return text;
}
