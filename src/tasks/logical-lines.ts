/**
 * Physical lines → logical lines (SPEC §1): comments and blank lines dropped, `\` at the end of a line
 * continues it. Each logical line keeps a map back to physical line and column for error messages.
 * As in the shell, only an odd number of trailing backslashes continues a line: `printf %s\\` ends
 * in an escaped backslash and keeps both (README: choices).
 */

export interface LogicalLine {
  readonly text: string;
  /** Start offsets in `text` of each physical piece, with the physical line and column it came from. */
  readonly pieces: readonly { readonly at: number; readonly line: number; readonly column: number }[];
}

export interface Position {
  readonly line: number;
  readonly column: number;
}

export function positionOf(logical: LogicalLine, offset: number): Position {
  let piece = logical.pieces[0];
  for (const candidate of logical.pieces) {
    if (candidate.at > offset) break;
    piece = candidate;
  }
  return { line: piece.line, column: piece.column + (offset - piece.at) };
}

const COMMENT_OR_BLANK = /^[ \t]*(#|$)/;
const BACKSLASH = 0x5c;

/** True when `line` ends in an odd number of backslashes: the last one is not escaped by the one before. */
export function endsInContinuation(line: string): boolean {
  let count = 0;
  for (let at = line.length - 1; at >= 0 && line.charCodeAt(at) === BACKSLASH; at--) count++;
  return count % 2 === 1;
}

/** A generator: a large file is split as it is parsed, slice by slice, never all at once. */
export function* logicalLines(source: string): Generator<LogicalLine> {
  const text = source.charCodeAt(0) === 0xfeff ? source.slice(1) : source;
  let pending: { text: string; pieces: { at: number; line: number; column: number }[] } | undefined;
  let lineNumber = 0;
  for (let start = 0; start <= text.length; ) {
    const newline = text.indexOf('\n', start);
    const end = newline < 0 ? text.length : newline;
    let line = text.slice(start, end);
    start = end + 1;
    lineNumber++;
    if (line.endsWith('\r')) line = line.slice(0, -1);
    if (pending === undefined && COMMENT_OR_BLANK.test(line)) continue;
    const continues = endsInContinuation(line);
    const body = continues ? line.slice(0, -1) : line;
    const piece = { at: pending ? pending.text.length + 1 : 0, line: lineNumber, column: 1 };
    if (pending) {
      pending.text += ' ' + body;
      pending.pieces.push(piece);
    } else {
      pending = { text: body, pieces: [piece] };
    }
    if (!continues) {
      yield pending;
      pending = undefined;
    }
  }
  if (pending) yield pending;
}
