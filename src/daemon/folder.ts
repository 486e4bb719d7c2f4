/** Creating the runtime and log folders, and saying plainly why that failed (SPEC §4: start prints why). */
import { existsSync, mkdirSync, statSync } from 'node:fs';
import path from 'node:path';

/**
 * Creates `dir` and its missing parents one level at a time. mkdirSync's recursive mode reports a
 * read-only mount (EROFS) as ENOENT; level by level, the error is the real one, at the real folder.
 * A file where the folder should be is ENOTDIR.
 */
export function makeFolder(dir: string, mode: number): void {
  const missing: string[] = [];
  for (let at = path.resolve(dir); !existsSync(at) && at !== path.dirname(at); at = path.dirname(at)) missing.unshift(at);
  for (const folder of missing) {
    try {
      mkdirSync(folder, { mode });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
  if (!statSync(dir).isDirectory()) throw notAFolder(dir);
}

function notAFolder(file: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`ENOTDIR: a file, not a directory, mkdir '${file}'`), { code: 'ENOTDIR', syscall: 'mkdir', path: file });
}

/** "EROFS: read-only file system" out of Node's "EROFS: read-only file system, open '/x'": the path is named by the caller. */
export function fsReason(error: unknown): string {
  return (error as Error).message.replace(/, \w+ '.*'$/s, '');
}

/** The real cause of a failed recursive mkdir (see makeFolder); any other error as it is. */
export function realCause(error: NodeJS.ErrnoException, mode: number): NodeJS.ErrnoException {
  if (error.syscall !== 'mkdir' || typeof error.path !== 'string') return error;
  // mkdirSync's recursive mode says EEXIST for a file where a folder should be.
  if (error.code === 'EEXIST') return notAFolder(error.path);
  if (error.code !== 'ENOENT') return error;
  try {
    makeFolder(error.path, mode);
    return error;
  } catch (real) {
    return real as NodeJS.ErrnoException;
  }
}
