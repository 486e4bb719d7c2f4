/**
 * One task file's text → its tasks, include directives and errors (SPEC §1, §1.6). Pure: the loader
 * does the reading and follows the includes.
 */
import { zoneError } from '../schedule/zone.js';
import { logicalLines, positionOf, type LogicalLine } from './logical-lines.js';
import type { TaskFileError } from './errors.js';
import { parseTaskLine, type LineContext, type ParsedTaskLine } from './task-line.js';
import type { SourceLocation } from './types.js';

export type Entry =
  | { readonly kind: 'task'; readonly task: ParsedTaskLine; readonly location: SourceLocation }
  | { readonly kind: 'include'; readonly pattern: string; readonly location: SourceLocation; readonly context: LineContext };

export interface ParsedFile {
  readonly entries: readonly Entry[];
  readonly errors: readonly TaskFileError[];
}

const ENV_LINE = /^[ \t]*([A-Za-z_][A-Za-z0-9_]*)[ \t]*=[ \t]*(.*)$/;
const INCLUDE_LINE = /^([ \t]*include(?:[ \t]+|$))(.*)$/;

function unquote(value: string): string {
  const trimmed = value.trim();
  const quote = trimmed[0];
  return (quote === '"' || quote === "'") && trimmed.length >= 2 && trimmed.endsWith(quote) ? trimmed.slice(1, -1) : trimmed;
}

export function parseTaskFile(source: string, file: string, inherited: LineContext): ParsedFile {
  const entries: Entry[] = [];
  const errors: TaskFileError[] = [];
  let context = inherited;
  const nul = source.indexOf('\0');
  if (nul >= 0) {
    const before = source.slice(0, nul);
    const line = before.split('\n').length;
    const column = nul - before.lastIndexOf('\n');
    return { entries, errors: [{ file, line, column, message: 'NUL byte: a task file must be text (is this the right file?)' }] };
  }
  const at = (logical: LogicalLine, offset: number): SourceLocation => ({ file, ...positionOf(logical, offset) });

  for (const logical of logicalLines(source)) {
    const env = ENV_LINE.exec(logical.text);
    if (env) {
      const [, name, raw] = env;
      const value = unquote(raw);
      const valueAt = logical.text.length - raw.length;
      if (name === 'TZ' && zoneError(value) !== undefined) {
        errors.push({ ...at(logical, valueAt), message: zoneError(value) as string });
        continue;
      }
      if (name === 'SHELL' && !value.startsWith('/')) {
        errors.push({ ...at(logical, valueAt), message: `SHELL must be an absolute path such as /bin/bash, not "${value}"` });
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
    const parsed = parseTaskLine(logical.text, context);
    for (const error of parsed.errors) errors.push({ ...at(logical, error.at), message: error.message });
    if (parsed.task) entries.push({ kind: 'task', task: parsed.task, location: at(logical, 0) });
  }
  return { entries, errors };
}
