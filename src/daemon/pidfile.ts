/** The pidfile (SPEC §4, §6): written atomically, removed only while it still holds this daemon's pid. */
import { linkSync, mkdirSync, readFileSync, renameSync, rmdirSync, statSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import { createExclusive, readNoFollow, temporaryPath, unlinkQuietly } from './file-safety.js';
import { makeFolder } from './folder.js';
import { procTable } from '../supervisor/process-table.js';

/**
 * The pid a pidfile holds; undefined when there is none (no file, or no pid in it). A pidfile that cannot
 * be read throws: "permission denied" must not read as "not running" (another user's daemon holds it).
 */
export function readPid(file: string): number | undefined {
  let text: string;
  try {
    text = readNoFollow(file).text;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // ELOOP: a symlink planted in place of a pidfile holds no pid of ours (the claim replaces it).
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP') return undefined;
    if (code === 'EACCES' || code === 'EPERM') {
      throw new Error(`permission denied reading the pidfile ${file}: it belongs to another user (root?); run gotorch as the user the daemon runs as`);
    }
    throw new Error(`cannot read the pidfile ${file}: ${(error as Error).message}`);
  }
  const pid = Number.parseInt(text.trim(), 10);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/** The title a daemon sets before it claims the pidfile (SPEC §6: a recycled pid is not our daemon). */
export const DAEMON_TITLE = 'gotorch: daemon';

/** A live process that is a gotorch daemon: its command line is the title the daemon set. */
export function isGotorchProcess(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith(DAEMON_TITLE);
  } catch {
    return false;
  }
}

/** Issue 17: the live daemon holding the pidfile when it runs under the same job keeper as this process (GOTORCH_KEEPER_PID). */
export function liveSibling(paths: { readonly pidfile: string }, env: NodeJS.ProcessEnv = process.env): number | undefined {
  const pid = readPid(paths.pidfile);
  if (pid === undefined || pid === process.pid || !isGotorchProcess(pid)) return undefined;
  return String(procTable.stat(pid)?.parent) === env.GOTORCH_KEEPER_PID ? pid : undefined;
}

export type PidfileClaim = { ok: true; replacedStale?: number } | { ok: false; livePid: number };

/** A lock older than this was left by a process that died while holding it (it is held for microseconds). */
const STALE_LOCK_MS = 10_000;
const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** Runs `fn` holding `file.lock` (mkdir is atomic): two starts never both judge and replace a stale pidfile. */
function withLock<T>(file: string, fn: () => T): T {
  const lock = `${file}.lock`;
  for (;;) {
    try {
      mkdirSync(lock, { mode: 0o700 });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const age = Date.now() - (statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
      if (age > STALE_LOCK_MS) rmdirSync(lock);
      else Atomics.wait(sleeper, 0, 0, 5);
    }
  }
  try {
    return fn();
  } finally {
    rmdirSync(lock);
  }
}

/**
 * Writes `pid` into `file` unless a live gotorch daemon holds it. The new content is written to a
 * temporary file first (created exclusively under a random name: nothing planted is followed) and
 * linked or renamed into place, so readers never see a partial pidfile.
 */
export function claimPidfile(file: string, pid: number): PidfileClaim {
  makeFolder(path.dirname(file), 0o700); // checked by the start (start-checks.ts) as root
  const temporary = temporaryPath(file);
  createExclusive(temporary, `${pid}\n`);
  try {
    return withLock(file, () => {
      try {
        linkSync(temporary, file);
        return { ok: true };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const holder = readPid(file);
      if (holder !== undefined && holder !== pid && isGotorchProcess(holder)) return { ok: false, livePid: holder };
      renameSync(temporary, file);
      return { ok: true, replacedStale: holder };
    });
  } finally {
    unlinkQuietly(temporary); // unless renamed into place
  }
}

export function releasePidfile(file: string, pid: number): void {
  if (readPid(file) === pid) unlinkSync(file);
}
