/**
 * Glob patterns as Redis reads them (KEYS, SCAN MATCH, PSUBSCRIBE), over latin1 strings so that
 * one char is one byte and binary keys match byte for byte.
 *
 * | pattern  | matches                                               |
 * |----------|-------------------------------------------------------|
 * | `*`      | any run of bytes, empty included                      |
 * | `?`      | exactly one byte                                      |
 * | `[abc]`  | one of a, b, c; `[^abc]` anything else; `[a-z]` a range (either order) |
 * | `\x`     | the byte x itself (also inside brackets)              |
 *
 * An unclosed `[` runs to the end of the pattern, as in Redis. Matching is iterative: on a
 * mismatch it goes back to the last `*` and lets it swallow one more byte, so a pattern costs
 * at most O(pattern × text) and never recurses (Redis had to add a nesting limit to its
 * recursive matcher for that reason).
 */

const STAR = 0x2a;
const QUESTION = 0x3f;
const OPEN = 0x5b;
const CLOSE = 0x5d;
const CARET = 0x5e;
const DASH = 0x2d;
const BACKSLASH = 0x5c;

/**
 * Whether `text` matches the glob `pattern` (both latin1 strings, one char per byte).
 *
 * @example
 * ```ts
 * globMatch('user:*:name', 'user:42:name'); // true
 * globMatch('h[^e]llo', 'hello');            // false
 * ```
 */
export function globMatch(pattern: string, text: string): boolean {
  let p = 0;
  let t = 0;
  // Where to resume after the last `*`: the pattern after it, and the text it swallowed up to.
  let starP = -1;
  let starT = 0;
  const pl = pattern.length;
  const tl = text.length;
  while (t < tl) {
    if (p < pl) {
      const c = pattern.charCodeAt(p);
      if (c === STAR) {
        // Collapse runs of stars: `**` is `*`.
        while (p < pl && pattern.charCodeAt(p) === STAR) p++;
        if (p === pl) return true;
        starP = p;
        starT = t;
        continue;
      }
      const end = matchOne(pattern, p, text.charCodeAt(t));
      if (end > 0) {
        p = end;
        t++;
        continue;
      }
    }
    if (starP < 0) return false;
    p = starP;
    t = ++starT;
  }
  while (p < pl && pattern.charCodeAt(p) === STAR) p++;
  return p === pl;
}

/**
 * Matches one text byte against the pattern element at `p` (not a star). Returns where the next
 * element starts, or -1 when the byte does not match.
 */
function matchOne(pattern: string, p: number, byte: number): number {
  const pl = pattern.length;
  const c = pattern.charCodeAt(p);
  if (c === QUESTION) return p + 1;
  if (c === BACKSLASH && p + 1 < pl) return pattern.charCodeAt(p + 1) === byte ? p + 2 : -1;
  if (c !== OPEN) return c === byte ? p + 1 : -1;
  let i = p + 1;
  const negate = i < pl && pattern.charCodeAt(i) === CARET;
  if (negate) i++;
  let matched = false;
  while (i < pl) {
    let first = pattern.charCodeAt(i);
    if (first === CLOSE) break;
    if (first === BACKSLASH && i + 1 < pl) {
      i++;
      first = pattern.charCodeAt(i);
    } else if (
      i + 2 < pl &&
      pattern.charCodeAt(i + 1) === DASH &&
      pattern.charCodeAt(i + 2) !== CLOSE
    ) {
      let last = pattern.charCodeAt(i + 2);
      if (last === BACKSLASH && i + 3 < pl) {
        i++;
        last = pattern.charCodeAt(i + 2);
      }
      const low = Math.min(first, last);
      const high = Math.max(first, last);
      if (byte >= low && byte <= high) matched = true;
      i += 3;
      continue;
    }
    if (first === byte) matched = true;
    i++;
  }
  // `i` is at the `]` or at the end of an unclosed class.
  const next = i < pl ? i + 1 : i;
  return matched !== negate ? next : -1;
}
