/**
 * `logs --follow` (SPEC §7): the lines appended to the run log, across rotation, like `tail -F`. Woken
 * by a watch on the folder (a watch on the file would miss the new file rotation creates) and by a poll,
 * for filesystems without inotify. A rotation (the path names another file, or none yet) is taken only
 * after the old file was read to its end, and the old file is still read for ROTATED_READ_MS, for what
 * its writer flushed after the rename (log-file.ts: a retired stream flushes to the file it opened). A
 * file that shrank (truncated in place, as logrotate's copytruncate does) is read again from its start.
 */
import { closeSync, constants, fstatSync, openSync, readSync, statSync, watch, type FSWatcher } from 'node:fs';
import path from 'node:path';

export const FOLLOW_POLL_MS = 1000;
/** A rotated file's writer flushes what it holds within milliseconds: this is ample. */
export const ROTATED_READ_MS = 2000;

const CHUNK_BYTES = 64 * 1024;

interface Followed {
  readonly fd: number;
  readonly dev: number;
  readonly ino: number;
  position: number;
  /** The start of a line whose newline has not been written yet. */
  partial: Buffer;
  /** Set once rotated away: read until then, then closed. */
  readUntil?: number;
}

export interface FollowStart {
  /** The file already open at `file`'s path, and where to go on from (where a backward read began). */
  readonly fd: number;
  readonly position: number;
}

export class LogFollower {
  private current: Followed | undefined;
  private rotated: Followed[] = [];
  private watcher: FSWatcher | undefined;
  private poll: NodeJS.Timeout | undefined;
  private checkQueued = false;
  private stopped = false;
  /** Inside check(): stop() from a line handler leaves the files to close to the end of it. */
  private checking = false;

  constructor(
    private readonly file: string,
    /** Each complete line, without its newline, in the order written. */
    private readonly onLine: (line: Buffer) => void,
    start?: FollowStart,
    private readonly now: () => number = Date.now,
  ) {
    if (start !== undefined) {
      const stat = fstatSync(start.fd);
      this.current = { fd: start.fd, dev: stat.dev, ino: stat.ino, position: start.position, partial: Buffer.alloc(0) };
    }
  }

  start(): void {
    try {
      this.watcher = watch(path.dirname(this.file), (_event, name) => {
        if (name === null || name.startsWith(path.basename(this.file))) this.queueCheck();
      });
      this.watcher.on('error', () => this.watcher?.close()); // the poll goes on
    } catch {
      // No inotify here (or no folder yet): the poll alone.
    }
    this.poll = setInterval(() => this.check(), FOLLOW_POLL_MS);
    this.check();
  }

  /** May be called from the line handler: no line is handed over after it. */
  stop(): void {
    this.stopped = true;
    this.watcher?.close();
    clearInterval(this.poll);
    if (!this.checking) this.closeFiles();
  }

  private closeFiles(): void {
    for (const followed of [...this.rotated, ...(this.current ? [this.current] : [])]) closeSync(followed.fd);
    this.rotated = [];
    this.current = undefined;
  }

  /** Many changes at once (a burst of records) make one read. */
  private queueCheck(): void {
    if (this.checkQueued) return;
    this.checkQueued = true;
    setImmediate(() => {
      this.checkQueued = false;
      this.check();
    });
  }

  check(): void {
    if (this.stopped) return;
    this.checking = true;
    try {
      this.readEverything();
    } finally {
      this.checking = false;
      if (this.stopped) this.closeFiles();
    }
  }

  private readEverything(): void {
    const now = this.now();
    for (const old of this.rotated) this.readNew(old);
    for (const old of this.rotated.filter((followed) => followed.readUntil! <= now)) closeSync(old.fd); // an unfinished last line there stays unfinished
    this.rotated = this.rotated.filter((followed) => followed.readUntil! > now);
    if (this.current !== undefined) this.readNew(this.current);
    if (this.stopped) return;
    let stat;
    try {
      stat = statSync(this.file);
    } catch {
      return; // renamed away and not created again yet (or not yet at all)
    }
    if (this.current !== undefined && stat.ino === this.current.ino && stat.dev === this.current.dev) return;
    const next = this.open();
    if (next === undefined) return;
    if (this.current !== undefined) this.rotated.push({ ...this.current, readUntil: now + ROTATED_READ_MS });
    this.current = next;
    this.readNew(next);
  }

  private open(): Followed | undefined {
    try {
      const fd = openSync(this.file, constants.O_RDONLY | constants.O_NONBLOCK);
      const stat = fstatSync(fd);
      return { fd, dev: stat.dev, ino: stat.ino, position: 0, partial: Buffer.alloc(0) };
    } catch {
      return undefined; // gone again between the stat and the open: the next check sees the next file
    }
  }

  private readNew(followed: Followed): void {
    if (this.stopped) return;
    if (fstatSync(followed.fd).size < followed.position) {
      followed.position = 0;
      followed.partial = Buffer.alloc(0);
    }
    const chunk = Buffer.allocUnsafe(CHUNK_BYTES);
    for (let read = readSync(followed.fd, chunk, 0, CHUNK_BYTES, followed.position); read > 0; read = readSync(followed.fd, chunk, 0, CHUNK_BYTES, followed.position)) {
      followed.position += read;
      let text = Buffer.concat([followed.partial, chunk.subarray(0, read)]);
      for (let newline = text.indexOf(0x0a); newline !== -1; newline = text.indexOf(0x0a)) {
        if (newline > 0) this.onLine(text.subarray(0, newline));
        if (this.stopped) return;
        text = text.subarray(newline + 1);
      }
      // A copy: the chunk is read into again.
      followed.partial = Buffer.from(text);
    }
  }
}
