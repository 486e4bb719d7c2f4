/**
 * SPEC §6, §12: a root daemon trusts nothing in its runtime folders that it did not create. Folders
 * must be root's and closed to group and others (as task files are); files are never opened through a
 * symlink; temporary files are created exclusively under unpredictable names and renamed into place.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, constants, fchmodSync, fstatSync, lstatSync, openSync, readFileSync, realpathSync, renameSync, statSync, unlinkSync, writeSync, type Stats } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import path from 'node:path';
import { makeFolder } from './folder.js';

const { O_APPEND, O_CREAT, O_EXCL, O_NOFOLLOW, O_NONBLOCK, O_RDONLY, O_RDWR, O_WRONLY } = constants;

/** What the daemon checks as root only: a user's own daemon may keep its files where the user likes. */
export const runningAsRoot = (): boolean => process.getuid?.() === 0;

const describeMode = (stats: Stats): string => (stats.mode & 0o7777).toString(8).padStart(3, '0');

/**
 * Why `dir` (which exists) may not hold a root daemon's files, or undefined. The folder must be root's
 * and not writable by group or others; every folder above it must be root's too, or closed to others,
 * or sticky (like /tmp: nobody can rename another user's entry away and put their own in its place).
 */
export function unsafeFolderReason(given: string): string | undefined {
  // Where the folder really is: a symlink on the way was put there by whoever owns its folder.
  const dir = realpathSync(given);
  const own = statSync(dir);
  if (!own.isDirectory()) return `${dir} is not a folder`;
  if (own.uid !== 0) return `${dir} is owned by uid ${own.uid}, not root; run: chown root ${dir} (or pick a folder of root's)`;
  if ((own.mode & 0o022) !== 0) return `${dir} has mode ${describeMode(own)}: group or others can write it; run: chmod go-w ${dir}`;
  for (let above = path.dirname(dir); ; above = path.dirname(above)) {
    const stats = statSync(above);
    const openToOthers = (stats.mode & 0o022) !== 0 && (stats.mode & 0o1000) === 0;
    if (stats.uid !== 0) return `${above}, above ${dir}, is owned by uid ${stats.uid}: they can replace ${dir}; use a folder whose parents are root's`;
    if (openToOthers) return `${above}, above ${dir}, has mode ${describeMode(stats)} (writable by group or others, not sticky): they can replace ${dir}; run: chmod go-w ${above}`;
    if (above === path.dirname(above)) return undefined;
  }
}

/**
 * Creates `dir` (0700) when missing (an error to create it throws); as root, says why a folder others
 * could plant files in is refused.
 */
export function prepareRuntimeFolder(dir: string, what: string): string | undefined {
  makeFolder(dir, 0o700);
  if (!runningAsRoot()) return undefined;
  const reason = unsafeFolderReason(dir);
  return reason === undefined ? undefined : `refused ${what} ${dir}: ${reason}`;
}

/**
 * Why an existing daemon file may not be used, or undefined when it is missing or fine: it must be a
 * regular file (a FIFO would block the daemon, a symlink would redirect it) owned by this user.
 */
export function unsafeFileReason(stats: Stats, file: string): string | undefined {
  if (stats.isSymbolicLink()) return `${file} is a symlink; the daemon opens no file through one: remove it (rm ${file})`;
  if (!stats.isFile()) return `${file} is not a regular file; remove it (rm ${file})`;
  const uid = process.getuid?.();
  if (uid !== undefined && stats.uid !== uid) return `${file} is owned by uid ${stats.uid}, not by the daemon's user (${uid}); remove it or run: chown ${uid} ${file}`;
  return undefined;
}

/** `unsafeFileReason` for a path that may not exist (lstat: a symlink is judged, not followed). */
export function unsafePathReason(file: string): string | undefined {
  const stats = lstatSync(file, { throwIfNoEntry: false });
  return stats === undefined ? undefined : unsafeFileReason(stats, file);
}

/**
 * Opens a daemon-owned file for appending, never through a symlink (ELOOP) and never blocking on a
 * FIFO; refuses what is not a regular file of this user, and closes a file others could read to 0600.
 * Returns the descriptor and whether the mode had to be tightened.
 */
export function openOwnFileForAppend(file: string): { fd: number; tightened?: string } {
  const fd = openSync(file, O_RDWR | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK, 0o600);
  try {
    const stats = fstatSync(fd);
    const reason = unsafeFileReason(stats, file);
    if (reason !== undefined) throw Object.assign(new Error(reason), { code: 'EUNSAFE' });
    if ((stats.mode & 0o077) === 0) return { fd };
    // The daemon owns this file: closing it to others is safe, and every record is private again.
    const was = describeMode(stats);
    fchmodSync(fd, 0o600);
    return { fd, tightened: was };
  } catch (error) {
    closeSync(fd);
    throw error;
  }
}

/** Reads a small daemon file without following a symlink; undefined when missing or unsafe to trust. */
export function readOwnFile(file: string): string | undefined {
  try {
    const { text, stats } = readNoFollow(file);
    return unsafeFileReason(stats, file) === undefined ? text : undefined;
  } catch {
    return undefined;
  }
}

/** A file's text, never through a symlink (ELOOP) and never waiting on a FIFO; errors throw. */
export function readNoFollow(file: string): { text: string; stats: Stats } {
  const fd = openSync(file, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
  try {
    const stats = fstatSync(fd);
    return { text: stats.isFile() ? readFileSync(fd, 'utf8') : '', stats };
  } finally {
    closeSync(fd);
  }
}

const EXCLUSIVE_WRITE = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW;

/**
 * Replaces `file` with `content` atomically: a temporary file beside it, created exclusively (O_EXCL
 * never follows a planted symlink) under a random name, 0600, then renamed over the final name (a
 * rename replaces a symlink itself, never its target).
 */
export function writeFileAtomic(file: string, content: string): void {
  const temporary = temporaryPath(file);
  try {
    const fd = openSync(temporary, EXCLUSIVE_WRITE, 0o600);
    try {
      writeAll(fd, content);
    } finally {
      closeSync(fd);
    }
    renameSync(temporary, file);
  } catch (error) {
    unlinkQuietly(temporary);
    throw error;
  }
}

/** `writeFileAtomic` off the event loop (the state file is saved from ticks). */
export async function writeFileAtomicAsync(file: string, content: string): Promise<void> {
  const temporary = temporaryPath(file);
  try {
    const handle = await open(temporary, EXCLUSIVE_WRITE, 0o600);
    try {
      await handle.writeFile(content);
    } finally {
      await handle.close();
    }
    await rename(temporary, file);
  } catch (error) {
    await unlink(temporary).catch(() => undefined);
    throw error;
  }
}

/** An unpredictable name beside `file`: nobody can plant anything there ahead of us. */
export function temporaryPath(file: string): string {
  return `${file}.${randomBytes(6).toString('hex')}.tmp`;
}

/** Creates `file` exclusively with `content` (0600); fails with EEXIST whatever is there, symlinks included. */
export function createExclusive(file: string, content: string): void {
  const fd = openSync(file, EXCLUSIVE_WRITE, 0o600);
  try {
    writeAll(fd, content);
  } finally {
    closeSync(fd);
  }
}

function writeAll(fd: number, content: string): void {
  const bytes = Buffer.from(content);
  for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at);
}

export function unlinkQuietly(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    // already gone
  }
}

/**
 * Why the daemon may not start with these folders and files, or undefined (and the folders exist; a
 * folder that cannot be created throws). Checked before the pidfile is claimed: a refused start leaves nothing behind.
 */
export function runtimeRefusal(folders: readonly { readonly dir: string; readonly what: string }[], files: readonly string[]): string | undefined {
  for (const { dir, what } of folders) {
    const refused = prepareRuntimeFolder(dir, what);
    if (refused !== undefined) return refused;
  }
  for (const file of files) {
    const reason = unsafePathReason(file);
    if (reason !== undefined) return `refused: ${reason}`;
  }
  return undefined;
}
