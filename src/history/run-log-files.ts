/**
 * The run log as history reads it: `runs.log` and the files rotation moved away (`runs.log.1`, the
 * newest, … `runs.log.5`; SPEC §6), newest first, all opened at once so that a rotation while reading
 * cannot show a file twice (a file is known by its inode) or skip one.
 */
import { closeSync, constants, fstatSync, openSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileBytes, linesBackward } from './reverse-lines.js';

export const RUN_LOG_NAME = 'runs.log';

const ROTATED = /^runs\.log\.(\d+)$/;

export interface RunLogFile {
  readonly path: string;
  readonly fd: number;
  /** The size when it was opened: what history reads, and where following it begins. */
  readonly size: number;
  readonly dev: number;
  readonly ino: number;
}

export class RunLog {
  private constructor(
    readonly dir: string,
    /** Newest first. */
    readonly files: readonly RunLogFile[],
  ) {}

  /** Throws when the folder or a file cannot be read, with a message that says which and why. */
  static open(dir: string): RunLog {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch (error) {
      throw new Error(`cannot read the log folder ${dir} (${reason(error)})`);
    }
    const generations = names
      .map((name) => (name === RUN_LOG_NAME ? 0 : Number(ROTATED.exec(name)?.[1] ?? NaN)))
      .filter((generation) => !Number.isNaN(generation))
      .sort((a, b) => a - b);
    const files: RunLogFile[] = [];
    const seen = new Set<string>();
    try {
      for (const generation of generations) {
        const file = path.join(dir, generation === 0 ? RUN_LOG_NAME : `${RUN_LOG_NAME}.${generation}`);
        const opened = openIfPresent(file);
        if (opened === undefined) continue; // rotated away since the folder was listed: its next name is listed too
        if (seen.has(`${opened.dev}:${opened.ino}`)) closeSync(opened.fd);
        else files.push(opened);
        seen.add(`${opened.dev}:${opened.ino}`);
      }
    } catch (error) {
      for (const file of files) closeSync(file.fd);
      throw error;
    }
    return new RunLog(dir, files);
  }

  /** The current file (`runs.log`), if there is one. */
  get current(): RunLogFile | undefined {
    return this.files[0]?.path === path.join(this.dir, RUN_LOG_NAME) ? this.files[0] : undefined;
  }

  /** The lines of every file, the newest first: every line, or as linesBackward's `containing` picks them. */
  *linesNewestFirst(containing?: Buffer): Generator<Buffer> {
    for (const file of this.files) yield* linesBackward(fileBytes(file.fd, file.size), { containing });
  }

  /** Closes every file but `keep` (the one a follower goes on reading). */
  close(keep?: RunLogFile): void {
    for (const file of this.files) if (file !== keep) closeSync(file.fd);
  }
}

function openIfPresent(file: string): RunLogFile | undefined {
  let fd: number;
  try {
    // Non-blocking: a FIFO planted at the name must not hang the command (it is refused just below).
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`cannot read ${file} (${reason(error)})`);
  }
  const stat = fstatSync(fd);
  if (!stat.isFile()) {
    closeSync(fd);
    throw new Error(`${file} is not a regular file`);
  }
  return { path: file, fd, size: stat.size, dev: stat.dev, ino: stat.ino };
}

function reason(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'it does not exist';
  if (code === 'ENOTDIR') return 'it is not a folder';
  return code === 'EACCES' ? 'permission denied' : (code ?? String(error));
}
