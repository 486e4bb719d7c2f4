/**
 * Watches the task file and its includes for edits (SPEC §5: file changes reload by themselves).
 * Watches directories, not files, so atomic saves (write + rename), `mv`, `git checkout` and new files
 * are all seen. A symlink on the way to a file (`ln -sfn` of a file or a release folder) is watched
 * from its parent, and the real file's folder is watched too, so edits after a swap are seen. An
 * include folder that does not exist yet is watched from its nearest existing ancestor. Events are
 * debounced on the trailing edge; the reload itself skips unchanged content.
 */
import { lstat, realpath } from 'node:fs/promises';
import { once } from 'node:events';
import path from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import type { Logger } from 'pino';
import { hasMagic, matchesGlob } from '../tasks/glob.js';

export const DEBOUNCE_MS = 100;

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
}

async function exists(file: string): Promise<boolean> {
  return (await lstat(file).catch(() => undefined)) !== undefined;
}

async function watchPoints(set: WatchSet): Promise<WatchPoints> {
  const directories = new Set<string>();
  const relevant = new Set<string>();
  for (const file of set.files.map((entry) => path.resolve(entry))) {
    relevant.add(file);
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
  return { directories, relevant, patternFolders };
}

const sameSet = (a: ReadonlySet<string>, b: ReadonlySet<string>): boolean => a.size === b.size && [...a].every((item) => b.has(item));

export class TaskFileWatcher {
  private watcher: FSWatcher | undefined;
  private points: WatchPoints = { directories: new Set(), relevant: new Set(), patternFolders: [] };
  private patterns: readonly string[] = [];
  private timer: NodeJS.Timeout | undefined;
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
      // A task file replaced by a folder: once chokidar tracks the path as a folder, it never reports the file's return.
      ignored: (changed, stats) => stats?.isDirectory() === true && this.points.relevant.has(path.resolve(changed)),
    });
    next.on('all', (_event, changed) => this.seen(path.resolve(changed)));
    next.on('error', (error) => this.log.warn({ err: error }, 'watching the task file failed; reload with `gotorch reload`'));
    await once(next, 'ready');
    const previous = this.watcher;
    this.watcher = next;
    await previous?.close();
    if (grew && previous !== undefined) this.schedule();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    await this.watcher?.close();
  }

  private seen(changed: string): void {
    const relevant =
      this.points.relevant.has(changed) ||
      this.patterns.some((pattern) => matchesGlob(pattern, changed)) ||
      // A folder on the way to an include folder appeared (or went): the includes may have changed.
      this.points.patternFolders.some((folder) => folder === changed || folder.startsWith(`${changed}/`));
    if (relevant) this.schedule();
  }

  private schedule(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.onChange(), DEBOUNCE_MS);
  }
}
