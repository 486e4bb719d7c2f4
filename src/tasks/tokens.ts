/** Splitting a logical line into fields separated by runs of spaces or tabs (SPEC §1). */

export interface Token {
  /** The token's value (for a quoted option value: without the quotes). */
  readonly text: string;
  /** Offset of the token's first character in the logical line. */
  readonly at: number;
  /** Offset just past the token as written (quotes included). */
  readonly end: number;
  readonly error?: { readonly at: number; readonly message: string };
}

const isBlank = (code: number): boolean => code === 0x20 || code === 0x09;

/** Offset of the next non-blank character at or after `from` (text.length when none). */
export function skipBlanks(text: string, from: number): number {
  let at = from;
  while (at < text.length && isBlank(text.charCodeAt(at))) at++;
  return at;
}

/** Reads one plain token (no quoting) starting at a non-blank `from`. */
export function readToken(text: string, from: number): Token {
  let end = from;
  while (end < text.length && !isBlank(text.charCodeAt(end))) end++;
  return { text: text.slice(from, end), at: from, end };
}

/**
 * Reads a `key=value` token whose value may be double-quoted (SPEC §1.5): `cwd="/srv/my app"`.
 * Inside quotes, `\"` and `\\` are escapes. The returned text has the quotes removed.
 */
export function readOptionToken(text: string, from: number): Token {
  const plain = readToken(text, from);
  const equals = from + plain.text.indexOf('=');
  if (equals < from || text.charCodeAt(equals + 1) !== 0x22) return plain;
  let value = '';
  for (let at = equals + 2; at < text.length; at++) {
    const char = text[at];
    if (char === '"') {
      const end = at + 1;
      const token = { text: text.slice(from, equals + 1) + value, at: from, end };
      if (end < text.length && !isBlank(text.charCodeAt(end))) {
        return { ...plain, error: { at: end, message: 'expected a blank after the closing quote' } };
      }
      return token;
    }
    if (char === '\\' && (text[at + 1] === '"' || text[at + 1] === '\\')) at++;
    value += text[at];
  }
  return { text: text.slice(from), at: from, end: text.length, error: { at: equals + 1, message: 'unterminated quote: close the value with "' } };
}
