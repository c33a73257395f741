/**
 * Doubles as redis-server 7.0 reads and prints them. Reading goes through C's `strtod` there,
 * so the grammar is strtod's: optional leading whitespace, a sign, then decimal digits with an
 * optional fraction and exponent, a hex float (`0x1.8p3`), `inf`/`infinity` or `nan`, any case.
 * Redis then applies one of two checks, and which one depends on the command:
 *
 * - `parseFloatArg` (scores of ZADD and ZINCRBY, WEIGHTS, timeouts; Redis's `string2d`): the
 *   whole argument must be read, it may not start with whitespace, be empty or NaN, and it may
 *   not overflow or underflow to zero (a subnormal result is fine).
 * - `parseRangeFloat` (ZRANGEBYSCORE min and max; Redis's `zslParseRange`): only a NaN, or
 *   bytes left over before a NUL or the end, are refused. So `""` reads as 0, ` 1` as 1 and
 *   `1e999` as inf.
 *
 * Printing is C's `%.17g` (`formatDouble`): 17 significant digits, so `0.1` prints as
 * `0.10000000000000001`; trailing zeros dropped; an exponent outside -4..16 printed as `e+21`.
 */

/** What `strtod` reads from the start of a string. */
interface Strtod {
  value: number;
  /** Index just past what was read; the start when nothing was. */
  end: number;
  /** True when a non-zero number was too small and read as 0 (strtod's ERANGE). */
  underflow: boolean;
}

const DIGIT = /[0-9]/;
const HEX_DIGIT = /[0-9a-fA-F]/;

function isSpace(c: string | undefined): boolean {
  return c === ' ' || c === '\t' || c === '\n' || c === '\v' || c === '\f' || c === '\r';
}

/** C's strtod over a latin1 string (one char per byte); a NUL byte ends the number. */
function strtod(text: string): Strtod {
  let i = 0;
  while (isSpace(text[i])) i++;
  let sign = 1;
  if (text[i] === '+' || text[i] === '-') {
    if (text[i] === '-') sign = -1;
    i++;
  }
  const rest = text.slice(i, i + 8).toLowerCase();
  if (rest.startsWith('infinity')) return { value: sign * Infinity, end: i + 8, underflow: false };
  if (rest.startsWith('inf')) return { value: sign * Infinity, end: i + 3, underflow: false };
  if (rest.startsWith('nan')) return { value: Number.NaN, end: i + 3, underflow: false };
  if (text[i] === '0' && (text[i + 1] === 'x' || text[i + 1] === 'X')) {
    const hex = readHex(text, i + 2, sign);
    if (hex !== undefined) return hex;
  }
  const start = i;
  let digits = 0;
  let nonZero = false;
  while (DIGIT.test(text[i] ?? '')) {
    if (text[i] !== '0') nonZero = true;
    i++;
    digits++;
  }
  if (text[i] === '.') {
    i++;
    while (DIGIT.test(text[i] ?? '')) {
      if (text[i] !== '0') nonZero = true;
      i++;
      digits++;
    }
  }
  if (digits === 0) return { value: 0, end: 0, underflow: false };
  if (text[i] === 'e' || text[i] === 'E') {
    let j = i + 1;
    if (text[j] === '+' || text[j] === '-') j++;
    if (DIGIT.test(text[j] ?? '')) {
      while (DIGIT.test(text[j] ?? '')) j++;
      i = j;
    }
  }
  // JavaScript's Number() rounds decimal text correctly, as glibc's strtod does.
  const value = sign * Number(text.slice(start, i));
  return { value, end: i, underflow: nonZero && value === 0 };
}

/** A hex float after its `0x`, or undefined when no hex digit follows (strtod reads `0`). */
function readHex(text: string, from: number, sign: number): Strtod | undefined {
  let i = from;
  let mantissa = 0n;
  let digits = 0;
  let exponent = 0;
  while (HEX_DIGIT.test(text[i] ?? '')) {
    mantissa = mantissa * 16n + BigInt(Number.parseInt(text[i] as string, 16));
    i++;
    digits++;
  }
  if (text[i] === '.') {
    i++;
    while (HEX_DIGIT.test(text[i] ?? '')) {
      mantissa = mantissa * 16n + BigInt(Number.parseInt(text[i] as string, 16));
      exponent -= 4;
      i++;
      digits++;
    }
  }
  if (digits === 0) return undefined;
  if (text[i] === 'p' || text[i] === 'P') {
    let j = i + 1;
    let expSign = 1;
    if (text[j] === '+' || text[j] === '-') {
      if (text[j] === '-') expSign = -1;
      j++;
    }
    if (DIGIT.test(text[j] ?? '')) {
      let binary = 0;
      while (DIGIT.test(text[j] ?? '')) {
        binary = Math.min(binary * 10 + Number(text[j]), 100_000);
        j++;
      }
      exponent += expSign * binary;
      i = j;
    }
  }
  const value = sign * Number(mantissa) * 2 ** exponent;
  return { value, end: i, underflow: mantissa !== 0n && value === 0 };
}

/**
 * A float argument, checked as Redis's `string2d` checks it; undefined when Redis refuses it.
 *
 * @example
 * ```ts
 * parseFloatArg(Buffer.from('1.5')); // 1.5
 * parseFloatArg(Buffer.from(' 1')); // undefined
 * parseFloatArg(Buffer.from('-inf')); // -Infinity
 * ```
 */
export function parseFloatArg(bytes: Buffer): number | undefined {
  if (bytes.length === 0 || isSpace(String.fromCharCode(bytes[0] as number))) return undefined;
  const text = bytes.toString('latin1');
  const read = strtod(text);
  if (read.end !== text.length || Number.isNaN(read.value) || read.underflow) return undefined;
  if (!Number.isFinite(read.value) && !/inf/i.test(text)) return undefined;
  return read.value;
}

/**
 * A score bound's number as `zslParseRange` reads it (after any `(`); undefined when refused.
 *
 * @example
 * ```ts
 * parseRangeFloat('2.5'); // 2.5
 * parseRangeFloat(''); // 0
 * parseRangeFloat('x'); // undefined
 * ```
 */
export function parseRangeFloat(text: string): number | undefined {
  const read = strtod(text);
  if (read.end !== text.length && text[read.end] !== '\0') return undefined;
  return Number.isNaN(read.value) ? undefined : read.value;
}

/**
 * A double as C's `printf("%.17g")` prints it, with Redis's `inf` and `-inf`.
 *
 * @example
 * ```ts
 * formatDouble(0.1); // '0.10000000000000001'
 * formatDouble(3); // '3'
 * formatDouble(1e21); // '1e+21'
 * ```
 */
export function formatDouble(d: number): string {
  if (d === Infinity) return 'inf';
  if (d === -Infinity) return '-inf';
  if (Number.isNaN(d)) return 'nan';
  if (d === 0) return Object.is(d, -0) ? '-0' : '0';
  // toExponential rounds exactly, so its 17 digits are printf's.
  const [mantissa, exp] = d.toExponential(16).split('e') as [string, string];
  const x = Number(exp);
  const negative = mantissa.startsWith('-');
  const digits = mantissa.replace('-', '').replace('.', '');
  if (x < -4 || x >= 17) {
    const fraction = digits.slice(1).replace(/0+$/, '');
    const abs = Math.abs(x);
    return `${negative ? '-' : ''}${digits[0]}${fraction === '' ? '' : `.${fraction}`}e${
      x < 0 ? '-' : '+'
    }${abs < 10 ? `0${abs}` : abs}`;
  }
  let whole: string;
  let fraction: string;
  if (x >= 0) {
    whole = digits.slice(0, x + 1);
    fraction = digits.slice(x + 1);
  } else {
    whole = '0';
    fraction = '0'.repeat(-x - 1) + digits;
  }
  fraction = fraction.replace(/0+$/, '');
  return `${negative ? '-' : ''}${whole}${fraction === '' ? '' : `.${fraction}`}`;
}

/** Redis's `double2ll` bound: integral doubles within it print as integers in ZSCAN. */
const LL_HALF = 2 ** 62;

/**
 * A score as ZSCAN prints it (Redis's `d2string`): an integral value of moderate size as an
 * integer, anything else as `%.17g`.
 *
 * @example
 * ```ts
 * scanScoreText(1e17); // '100000000000000000'
 * scanScoreText(0.5); // '0.5'
 * ```
 */
export function scanScoreText(d: number): string {
  if (d !== 0 && Number.isInteger(d) && d >= -LL_HALF && d <= LL_HALF) return BigInt(d).toString();
  return formatDouble(d);
}
