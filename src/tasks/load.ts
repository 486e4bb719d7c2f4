/**
 * Reads a task file and its includes into tasks, or every error found (SPEC §1.6, §1.7, §6).
 * The result is all-or-nothing: callers apply `tasks` only when `errors` is empty. Warnings never
 * reject a file: callers report them (check prints them, the daemon logs them).
 */
import { createHash, type Hash } from 'node:crypto';
import { realpath, stat, readFile } from 'node:fs/promises';
import path from 'node:path';
import { formatError, type TaskFileError } from './errors.js';
import { LOCAL_ZONE } from '../schedule/zone.js';
import { expandGlob } from './glob.js';
import { hostWarnings } from './host-checks.js';
import { parseTaskFileInSlices } from './task-file.js';
import type { LineContext } from './task-line.js';
import type { SourceLocation, Task } from './types.js';

export const MAX_FILE_BYTES = 16 * 1024 * 1024;
const MAX_INCLUDE_DEPTH = 16;

export interface LoadOptions {
  /** SPEC §6: as root, refuse files not owned by root or writable by group/others; allow `user=`. */
  readonly asRoot: boolean;
  /** The default time zone of tasks without `TZ=` or `tz=`. */
  readonly zone: string;
  /**
   * The tasks whose cwd, shell and user are checked on this host (warnings); default: every task.
   * Tasks meant for other hosts of a fleet need not find their user or folder here.
   */
  readonly appliesHere?: (task: Task) => boolean;
}

export interface LoadResult {
  readonly tasks: readonly Task[];
  readonly errors: readonly TaskFileError[];
  /** Likely mistakes that still load (`file:line:column: message`, as errors): report, never reject. */
  readonly warnings: readonly TaskFileError[];
  /** Every file read (the task file and each include), for watching. */
  readonly files: readonly string[];
  /** The include patterns seen, absolute, for watching directories where files may appear. */
  readonly patterns: readonly string[];
  /** SHA-256 of every file's name (relative to the main file's folder) and content, in reading order: unchanged files, unchanged digest. */
  readonly digest: string;
}

interface LoadState {
  readonly options: LoadOptions;
  readonly tasks: Task[];
  readonly errors: TaskFileError[];
  readonly warnings: TaskFileError[];
  readonly files: string[];
  readonly patterns: string[];
  readonly firstSeen: Map<string, SourceLocation>;
  /** Files read so far (real paths), with where they were included. */
  readonly included: Map<string, string>;
  readonly digest: Hash;
  /** The main file's folder: file names enter the digest relative to it. */
  readonly root: string;
}

function fileError(file: string, message: string, where?: SourceLocation): TaskFileError {
  return where ? { ...where, message: `${message} (${file})` } : { file, line: 0, column: 0, message };
}

async function checkFile(file: string, asRoot: boolean): Promise<string | undefined> {
  const info = await stat(file).catch((error: NodeJS.ErrnoException) => error);
  if (info instanceof Error) {
    return info.code === 'ENOENT' ? 'no such file: check the path (-c/--tasks)' : `cannot read: ${info.code ?? info.message}`;
  }
  if (!info.isFile()) return 'not a regular file: point -c/--tasks at a task file';
  if (info.size > MAX_FILE_BYTES) return `too large (${info.size} bytes; the limit is ${MAX_FILE_BYTES}): is this the right file?`;
  if (asRoot && info.uid !== 0) return `refused: owned by uid ${info.uid}, not root; run: chown root ${file}`;
  if (asRoot && (info.mode & 0o022) !== 0) {
    return `refused: mode ${(info.mode & 0o777).toString(8)} lets group or others write it; run: chmod go-w ${file}`;
  }
  return undefined;
}

async function loadOne(file: string, context: LineContext, state: LoadState, chain: readonly string[], where?: SourceLocation): Promise<void> {
  const problem = await checkFile(file, state.options.asRoot);
  if (problem) {
    state.errors.push(fileError(file, problem, where));
    return;
  }
  const real = await realpath(file);
  if (chain.includes(real)) {
    state.errors.push(fileError(file, 'include cycle: this file includes itself through the chain', where));
    return;
  }
  // Each file once: a second path to it would repeat its tasks, and files that include each other's
  // folder would otherwise be walked along every order of them (factorially many).
  const first = state.included.get(real);
  if (first !== undefined) {
    state.errors.push(fileError(file, `already included (${first}): include each file once`, where));
    return;
  }
  state.included.set(real, where ? `at ${where.file}:${where.line}` : 'as the task file');
  if (chain.length >= MAX_INCLUDE_DEPTH) {
    state.errors.push(fileError(file, `includes nested deeper than ${MAX_INCLUDE_DEPTH} levels`, where));
    return;
  }
  const source = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => error);
  if (source instanceof Error) {
    state.errors.push(fileError(file, `cannot read: ${source.code ?? source.message}`, where));
    return;
  }
  state.files.push(file);
  // Names relative to the main file's folder: one file set installed under another path on another host is no drift (SPEC §10).
  state.digest.update(path.relative(state.root, path.resolve(file))).update('\0').update(source).update('\0');
  const parsed = await parseTaskFileInSlices(source, file, { ...context, baseDir: path.dirname(file) });
  state.errors.push(...parsed.errors);
  state.warnings.push(...parsed.warnings);
  for (const entry of parsed.entries) {
    if (entry.kind === 'task') {
      addTask(entry.task, state);
      continue;
    }
    const pattern = path.isAbsolute(entry.pattern) ? entry.pattern : path.join(path.dirname(file), entry.pattern);
    state.patterns.push(path.resolve(pattern));
    for (const match of await expandGlob(pattern)) await loadOne(match, entry.context, state, [...chain, real], entry.location);
  }
}

function addTask(task: Task, state: LoadState): void {
  const first = state.firstSeen.get(task.id);
  if (first) {
    const where = `${first.file}:${first.line}`;
    state.errors.push({ ...task.location, message: `duplicate task identity "${task.id}" (also at ${where}): give one of them a different name=` });
    return;
  }
  state.firstSeen.set(task.id, task.location);
  state.tasks.push(task);
}

export async function loadTasks(file: string, options: LoadOptions): Promise<LoadResult> {
  const state: LoadState = { options, tasks: [], errors: [], warnings: [], files: [], patterns: [], firstSeen: new Map(), included: new Map(), digest: createHash('sha256'), root: path.dirname(path.resolve(file)) };
  const context: LineContext = { env: Object.freeze({}), shell: '/bin/sh', zone: options.zone, asRoot: options.asRoot, baseDir: path.dirname(file) };
  await loadOne(file, context, state, []);
  state.warnings.push(...(await hostWarnings(options.appliesHere ? state.tasks.filter(options.appliesHere) : state.tasks)));
  return { tasks: state.tasks, errors: state.errors, warnings: state.warnings, files: state.files, patterns: state.patterns, digest: state.digest.digest('hex') };
}

/** The task file as this process reads it: root rules when running as root, the machine's zone. */
export function loadTaskFile(file: string, appliesHere?: (task: Task) => boolean): Promise<LoadResult> {
  return loadTasks(file, { asRoot: process.getuid?.() === 0, zone: LOCAL_ZONE, appliesHere });
}

export function formatErrors(errors: readonly TaskFileError[]): string {
  return errors.map(formatError).join('\n');
}

/** Warnings as `check` prints them: `warning: file:line:column: message`, one a line. */
export function formatWarnings(warnings: readonly TaskFileError[]): string {
  return warnings.map((warning) => `warning: ${formatError(warning)}`).join('\n');
}
