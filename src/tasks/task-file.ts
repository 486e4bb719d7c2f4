/**
 * One task file's text → its tasks, include directives and errors (SPEC §1, §1.6). Pure: the loader
 * does the reading and follows the includes.
 */
import { zoneError } from '../schedule/zone.js';
import { argumentTooLong } from './arg-limit.js';
import { applyDefaultsLine, isDefaultsLine } from './alert-options.js';
import { finishBetweenTicks, finishNow, type Sliced } from '../sliced.js';
import { logicalLines, positionOf, type LogicalLine } from './logical-lines.js';
import type { TaskFileError } from './errors.js';
import { parseTaskLine, readsAsTaskLine, type LineContext } from './task-line.js';
import type { SourceLocation, Task } from './types.js';

export type Entry =
  | { readonly kind: 'task'; readonly task: Task }
  | { readonly kind: 'include'; readonly pattern: string; readonly location: SourceLocation; readonly context: LineContext };

export interface ParsedFile {
  readonly entries: readonly Entry[];
  readonly errors: readonly TaskFileError[];
  /** Likely mistakes that still parse, in the errors' `file:line:column` shape; they never reject a file. */
  readonly warnings: readonly TaskFileError[];
}

const ENV_LINE = /^[ \t]*([A-Za-z_][A-Za-z0-9_]*)[ \t]*=[ \t]*(.*)$/s;
const INCLUDE_LINE = /^([ \t]*include(?:[ \t]+|$))(.*)$/s;

function unquote(value: string): string {
  const trimmed = value.trim();
  const quote = trimmed[0];
  return (quote === '"' || quote === "'") && trimmed.length >= 2 && trimmed.endsWith(quote) ? trimmed.slice(1, -1) : trimmed;
}

/** Lines parsed between two yields of the event loop: a few ms of work (SPEC §3: never block the tick). */
export const SLICE_LINES = 500;

export function parseTaskFile(source: string, file: string, inherited: LineContext): ParsedFile {
  return finishNow(parseSlices(source, file, inherited));
}

/** The same parse, yielding to the event loop between slices of lines (reloads of large files). */
export function parseTaskFileInSlices(source: string, file: string, inherited: LineContext): Promise<ParsedFile> {
  return finishBetweenTicks(parseSlices(source, file, inherited));
}

/**
 * A continued line that joins a line reading as a task of its own: most likely a `\` meant literally
 * or left over, which would make that task part of the line above and silently disappear.
 */
function continuationWarnings(logical: LogicalLine, at: (offset: number) => SourceLocation): TaskFileError[] {
  const warnings: TaskFileError[] = [];
  for (let index = 1; index < logical.pieces.length; index++) {
    const piece = logical.pieces[index];
    const end = index + 1 < logical.pieces.length ? logical.pieces[index + 1].at - 1 : logical.text.length;
    if (!readsAsTaskLine(logical.text.slice(piece.at, end))) continue;
    // The joining blank stands where the previous line's `\` was.
    warnings.push({
      ...at(piece.at - 1),
      message:
        `this "\\" joins line ${piece.line} to this line, but line ${piece.line} reads as a task line of its own and would not run as one: ` +
        `remove the "\\" if line ${piece.line} is a separate task (end a line with "\\\\" for a literal backslash)`,
    });
  }
  return warnings;
}

function* parseSlices(source: string, file: string, inherited: LineContext): Sliced<ParsedFile> {
  const entries: Entry[] = [];
  const errors: TaskFileError[] = [];
  const warnings: TaskFileError[] = [];
  let context = inherited;
  const nul = source.indexOf('\0');
  if (nul >= 0) {
    const before = source.slice(0, nul);
    const line = before.split('\n').length;
    const column = nul - before.lastIndexOf('\n');
    errors.push({ file, line, column, message: 'NUL byte: a task file must be text (is this the right file?)' });
    return { entries, errors, warnings };
  }
  const at = (logical: LogicalLine, offset: number): SourceLocation => ({ file, ...positionOf(logical, offset) });

  let count = 0;
  for (const logical of logicalLines(source)) {
    if (++count % SLICE_LINES === 0) yield;
    // A continuation can join blank lines into a logical line with nothing on it: skip it like a blank line.
    if (logical.text.trim() === '') continue;
    if (logical.pieces.length > 1) warnings.push(...continuationWarnings(logical, (offset) => at(logical, offset)));
    const env = ENV_LINE.exec(logical.text);
    if (env) {
      const [, name, raw] = env;
      const value = unquote(raw);
      const valueAt = logical.text.length - raw.length;
      if (name === 'TZ' && zoneError(value) !== undefined) {
        errors.push({ ...at(logical, valueAt), message: zoneError(value) as string });
        continue;
      }
      // SPEC §8: gotorch's own defaults; kept out of the jobs' environment (no ping key leaks to jobs).
      if (isDefaultsLine(name)) {
        const result = applyDefaultsLine(name, value, context);
        if ('defaults' in result) context = { ...context, ...result.defaults };
        else errors.push({ ...at(logical, valueAt + result.offset), message: result.message });
        continue;
      }
      if (name === 'SHELL' && !value.startsWith('/')) {
        errors.push({ ...at(logical, valueAt), message: `SHELL must be an absolute path such as /bin/bash, not "${value}"` });
        continue;
      }
      // The job's environment holds it as one `NAME=value` string.
      const tooLong = argumentTooLong(`${name}=${value}`, `the environment line ${name}=`);
      if (tooLong) {
        errors.push({ ...at(logical, 0), message: tooLong });
        continue;
      }
      context = {
        ...context,
        env: Object.freeze({ ...context.env, [name]: value }),
        shell: name === 'SHELL' ? value : context.shell,
        zone: name === 'TZ' ? value : context.zone,
      };
      continue;
    }
    const include = INCLUDE_LINE.exec(logical.text);
    if (include) {
      const pattern = unquote(include[2]);
      if (pattern === '') errors.push({ ...at(logical, include[1].length), message: 'include needs a file or glob, e.g. include conf.d/*.conf' });
      else entries.push({ kind: 'include', pattern, location: at(logical, include[1].length), context });
      continue;
    }
    const line = parseTaskLine(logical.text, context, at(logical, 0));
    for (const error of line.errors) errors.push({ ...at(logical, error.at), message: error.message });
    for (const warning of line.warnings) warnings.push({ ...at(logical, warning.at), message: warning.message });
    if (line.task) entries.push({ kind: 'task', task: line.task });
  }
  return { entries, errors, warnings };
}
