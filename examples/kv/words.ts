/**
 * Case-insensitive matching of option words (`EX`, `nx`, `Count`) against argument bytes,
 * without building a string per argument.
 */

/**
 * Whether `bytes` spell `upper` (an upper-case ASCII word) in any letter case.
 *
 * @example
 * ```ts
 * isWord(Buffer.from('ex'), 'EX'); // true
 * ```
 */
export function isWord(bytes: Buffer, upper: string): boolean {
  const length = upper.length;
  if (bytes.length !== length) return false;
  for (let i = 0; i < length; i++) {
    let byte = bytes[i] as number;
    // Fold a-z only: folding every byte would make '@' equal '`'.
    if (byte >= 0x61 && byte <= 0x7a) byte -= 0x20;
    if (byte !== upper.charCodeAt(i)) return false;
  }
  return true;
}
