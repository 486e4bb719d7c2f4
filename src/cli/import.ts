/**
 * `gotorch import` (SPEC §11): crontabs → task-file lines on stdout or in `-o FILE`. Reads the files and
 * writes the result; the conversion is src/import's.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { hostListErrors } from '../fleet/host-list.js';
import { parseCrontab } from '../import/crontab.js';
import { importCrontabs, type ImportSource } from '../import/task-lines.js';

export interface ImportOptions {
  readonly host?: string;
  readonly output?: string;
  readonly system?: boolean;
  readonly max: string;
}

const HOST_FILE = /^([^=/]+)=(.+)$/s;
/** Files in the system format: read as user crontabs, their user column would become the command's first word. */
const isSystemCrontab = (file: string): boolean => {
  const absolute = path.resolve(file);
  return absolute === '/etc/crontab' || path.dirname(absolute) === '/etc/cron.d';
};

function usageError(message: string): number {
  process.stderr.write(`gotorch import: ${message}\n`);
  return 2;
}

function hostError(host: string): string | undefined {
  if (host.startsWith('!') || host.includes(',')) return `host "${host}" must be one host (a name, address or glob), not a list or an exclusion`;
  const [error] = hostListErrors(host);
  return error ? `host "${host}": ${error.message}` : undefined;
}

/** FILE... with `--host` (or `*`), or NAME=FILE... each naming its host; `-` reads stdin. */
function sourcesOf(args: readonly string[], options: ImportOptions): { host: string; file: string }[] | string {
  const named = args.map((arg) => HOST_FILE.exec(arg));
  if (named.every((match) => match !== null)) {
    if (options.host !== undefined) return '--host names the host of plain FILE arguments; with NAME=FILE each file names its own';
    return named.map((match) => ({ host: (match as RegExpExecArray)[1], file: (match as RegExpExecArray)[2] }));
  }
  if (named.some((match) => match !== null)) return 'give either FILE... (one host) or NAME=FILE... (one file per host), not both';
  return args.map((file) => ({ host: options.host ?? '*', file }));
}

export function importCommand(args: readonly string[], options: ImportOptions): number {
  const max = Number(options.max);
  if (!/^\d+$/.test(options.max) || max > 100_000) return usageError(`--max "${options.max}" must be a whole number from 0 to 100000 (0 = unlimited, as cron)`);
  const wanted = sourcesOf(args, options);
  if (typeof wanted === 'string') return usageError(wanted);
  for (const { host } of wanted) {
    const error = host === '*' ? undefined : hostError(host);
    if (error) return usageError(error);
  }
  const format = options.system ? 'system' : 'user';
  const sources: ImportSource[] = [];
  for (const { host, file } of wanted) {
    if (format === 'user' && isSystemCrontab(file)) {
      process.stderr.write(`gotorch import: ${file} is a system crontab (a user column after the schedule): add --system\n`);
      return 1;
    }
    let text: string;
    try {
      text = readFileSync(file === '-' ? 0 : file, 'utf8');
    } catch (error) {
      process.stderr.write(`gotorch import: cannot read ${file}: ${(error as Error).message}\n`);
      return 1;
    }
    sources.push({ host, file, parsed: parseCrontab(text, file, format) });
  }
  const result = importCrontabs(sources, { max });
  if (result.problems.length > 0) {
    for (const problem of result.problems) process.stderr.write(`${problem.file}:${problem.line}:${problem.column}: ${problem.message}\n`);
    process.stderr.write(`gotorch import: ${result.problems.length} line(s) cannot be imported as they are; nothing written\n`);
    return 1;
  }
  if (options.output === undefined) process.stdout.write(result.text);
  else writeFileSync(options.output, result.text);
  const tasks = sources.reduce((count, source) => count + source.parsed.tasks.length, 0);
  process.stderr.write(`gotorch import: ${tasks} crontab line(s) from ${sources.length} file(s)${options.output === undefined ? '' : ` written to ${options.output}`}\n`);
  return 0;
}
