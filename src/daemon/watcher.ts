/**
 * Watches the task file and its includes for edits (SPEC §5: file changes reload by themselves).
 * Watches directories, not files, so atomic saves (write + rename), `mv`, `git checkout` and new files
 * are all seen. A symlink on the way to a file (`ln -sfn` of a file or a release folder) is watched
 * from its parent, and the real file's folder is watched too, so edits after a swap are seen. An
 * include folder that does not exist yet is watched from its nearest existing ancestor. Events are
 * debounced on the trailing edge; the reload itself skips unchanged content. A file written in place
 * (an `scp`, a slow copy, an editor writing in chunks) is applied only once it has been quiet for
 * SETTLE_MS, so a half-written file never stops half the tasks; a file replaced by a rename (atomic
 * saves, `mv`, `git checkout`, a symlink swap) is complete when it appears and is applied at once.
 */
import { lstat, realpath, stat } from 'node:fs/promises';
import { once } from 'node:events';
import path from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import type { Logger } from 'pino';
import { hasMagic, matchesGlob } from '../tasks/glob.js';

export const DEBOUNCE_MS = 100;
/** Quiet time after an in-place write (or a new file, which cannot be told from a copy in progress). */
export const SETTLE_MS = 1000;

export interface WatchSet {
  readonly files: readonly string[];
  readonly patterns: readonly string[];
}

interface WatchPoints {
  readonly directories: Set<string>;
  /** Paths whose change matters: the files, their real paths and the symlinks on the way. */
  readonly relevant: Set<string>;
  /** Folders an include pattern reads from, which may not exist yet. */
  readonly patternFolders: readonly string[];
  /** Inode, size and mtime of each file read, as loaded: an in-place write keeps the inode. */
  readonly loaded: ReadonlyMap<string, FileIdentity>;
}

interface FileIdentity {
  readonly ino: number;
  readonly size: number;
  readonly mtimeMs: number;
}

async function identityOf(file: string): Promise<FileIdentity | undefined> {
  const stats = await stat(file).catch(() => undefined);
  return stats && { ino: stats.ino, size: stats.size, mtimeMs: stats.mtimeMs };
}

async function exists(file: string): Promise<boolean> {
  return (await lstat(file).catch(() => undefined)) !== undefined;
}

async function watchPoints(set: WatchSet): Promise<WatchPoints> {
  const directories = new Set<string>();
  const relevant = new Set<string>();
  const loaded = new Map<string, FileIdentity>();
  for (const file of set.files.map((entry) => path.resolve(entry))) {
    relevant.add(file);
    const identity = await identityOf(file);
    if (identity !== undefined) loaded.set(file, identity);
    directories.add(path.dirname(file));
    const real = await realpath(file).catch(() => file);
    relevant.add(real);
    directories.add(path.dirname(real));
    for (let ancestor = path.dirname(file); ancestor !== path.dirname(ancestor); ancestor = path.dirname(ancestor)) {
      if ((await lstat(ancestor).catch(() => undefined))?.isSymbolicLink()) {
        relevant.add(ancestor);
        directories.add(path.dirname(ancestor));
      }
    }
  }
  const patternFolders: string[] = [];
  for (const pattern of set.patterns) {
    const segments = pattern.split('/');
    const fixed = segments.findIndex(hasMagic);
    let folder = fixed < 0 ? path.dirname(pattern) : segments.slice(0, Math.max(1, fixed)).join('/') || '/';
    patternFolders.push(folder);
    while (!(await exists(folder)) && folder !== path.dirname(folder)) folder = path.dirname(folder);
    directories.add(folder);
  }
  return { directories, relevant, patternFolders, loaded };
}

const sameSet = (a: ReadonlySet<string>, b: ReadonlySet<string>): boolean => a.size === b.size && [...a].every((item) => b.has(item));

export class TaskFileWatcher {
  private watcher: FSWatcher | undefined;
  private points: WatchPoints = { directories: new Set(), relevant: new Set(), patternFolders: [], loaded: new Map() };
  private patterns: readonly string[] = [];
  private timer: NodeJS.Timeout | undefined;
  /** When the last relevant event came, and whether one was for a file not read before (performance.now()). */
  private lastEventAt = 0;
  private sawNewFile = false;
  private closed = false;

  constructor(
    private readonly onChange: () => void,
    private readonly log: Logger,
  ) {}

  /**
   * Watches exactly what the last successful load read, and where its includes may add files.
   * Resolves once the watches are armed (chokidar's `ready`); when the folders changed, one more
   * change check follows, for an edit made between the load and the arming.
   */
  async update(set: WatchSet): Promise<void> {
    const points = await watchPoints(set);
    this.patterns = set.patterns;
    const grew = [...points.directories].some((directory) => !this.points.directories.has(directory));
    const unchanged = this.watcher !== undefined && sameSet(points.directories, this.points.directories);
    this.points = points;
    if (unchanged || this.closed) return;
    const next = watch([...points.directories], {
      ignoreInitial: true,
      depth: 0,
      followSymlinks: false,
      atomic: false,
      ignorePermissionErrors: true,
      ignored: (changed, stats) => {
        const resolved = path.resolve(changed);
        // A task file replaced by a folder: once chokidar tracks the path as a folder, it never reports the file's return.
        if (stats?.isDirectory() === true && this.points.relevant.has(resolved)) return true;
        // Nothing else in a watched folder is watched (issue 16: the runtime folder may be the task
        // file's, and chokidar would otherwise watch each state file a save renames into it).
        return !this.points.directories.has(resolved) && !this.relevant(resolved);
      },
    });
    next.on('all', (_event, changed) => this.seen(path.resolve(changed)));
    next.on('error', (error) => this.log.warn({ err: error }, 'watching the task file failed; reload with `gotorch reload`'));
    await once(next, 'ready');
    const previous = this.watcher;
    this.watcher = next;
    await previous?.close();
    if (grew && previous !== undefined) this.schedule(DEBOUNCE_MS);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    await this.watcher?.close();
  }

  /** A file read last time, one an include may add, or a folder on the way to an include folder. */
  private relevant(changed: string): boolean {
    return (
      this.points.relevant.has(changed) ||
      this.patterns.some((pattern) => matchesGlob(pattern, changed)) ||
      // A folder on the way to an include folder appeared (or went): the includes may have changed.
      this.points.patternFolders.some((folder) => folder === changed || folder.startsWith(`${changed}/`))
    );
  }

  private seen(changed: string): void {
    if (!this.relevant(changed)) return;
    this.lastEventAt = performance.now();
    if (!this.points.relevant.has(changed)) this.sawNewFile = true;
    this.schedule(DEBOUNCE_MS);
  }

  private schedule(delayMs: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.settle(), delayMs);
  }

  /** Reloads, unless a file is being written in place and has not yet been quiet for SETTLE_MS. */
  private async settle(): Promise<void> {
    const eventAt = this.lastEventAt;
    const quietFor = performance.now() - eventAt;
    const inProgress = quietFor < SETTLE_MS && (this.sawNewFile || (await this.writtenInPlace()));
    // Closed meanwhile, or a newer event re-armed the timer: that one decides.
    if (this.closed || this.lastEventAt !== eventAt) return;
    if (inProgress) return this.schedule(SETTLE_MS - quietFor);
    this.sawNewFile = false;
    this.onChange();
  }

  /** A file read last time changed but kept its inode: someone is writing into it. */
  private async writtenInPlace(): Promise<boolean> {
    for (const [file, before] of this.points.loaded) {
      const now = await identityOf(file);
      if (now !== undefined && now.ino === before.ino && (now.size !== before.size || now.mtimeMs !== before.mtimeMs)) return true;
    }
    return false;
  }
}
