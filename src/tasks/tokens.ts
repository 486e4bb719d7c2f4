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

const DOUBLE_QUOTE = 0x22;
const SINGLE_QUOTE = 0x27;
const BACKSLASH = 0x5c;

/**
 * Reads a `key=value` token whose value may be quoted (SPEC §1.5): `cwd="/srv/my app"`, and alike
 * with single quotes (README: choices): `name='c d'`. Inside quotes, a backslash escapes the quote
 * and itself (`\"` or `\'`, and `\\`). The returned text has the quotes removed.
 */
export function readOptionToken(text: string, from: number): Token {
  const plain = readToken(text, from);
  const equals = from + plain.text.indexOf('=');
  const quote = text.charCodeAt(equals + 1);
  if (equals < from || (quote !== DOUBLE_QUOTE && quote !== SINGLE_QUOTE)) return plain;
  // Copies runs between escapes as slices: a long quoted value costs one pass, not one string per character.
  let value = '';
  let run = equals + 2;
  for (let at = run; at < text.length; at++) {
    const code = text.charCodeAt(at);
    if (code === quote) {
      value += text.slice(run, at);
      const end = at + 1;
      if (end < text.length && !isBlank(text.charCodeAt(end))) {
        return { ...plain, error: { at: end, message: 'expected a blank after the closing quote' } };
      }
      return { text: text.slice(from, equals + 1) + value, at: from, end };
    }
    const next = text.charCodeAt(at + 1);
    if (code === BACKSLASH && (next === quote || next === BACKSLASH)) {
      value += text.slice(run, at);
      run = at + 1;
      at++;
    }
  }
  return { text: text.slice(from), at: from, end: text.length, error: { at: equals + 1, message: `unterminated quote: close the value with ${String.fromCharCode(quote)}` } };
}
