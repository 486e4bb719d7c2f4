/**
 * Watches the task file and its includes for edits (SPEC §5: file changes reload by themselves).
 * Watches directories, not files, so atomic saves (write + rename), `mv`, `git checkout` and new files
 * are all seen; a symlink on the way to a file (`ln -sfn` of a release folder) is watched from its
 * parent. Events are debounced on the trailing edge; the reload itself skips unchanged content.
 */
import { lstat } from 'node:fs/promises';
import path from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import type { Logger } from 'pino';
import { hasMagic, matchesGlob } from '../tasks/glob.js';

export const DEBOUNCE_MS = 100;

export interface WatchSet {
  readonly files: readonly string[];
  readonly patterns: readonly string[];
}

/** The folders that hold the files, the include patterns' fixed prefixes, and the parents of symlinks on the way. */
async function watchPoints(set: WatchSet): Promise<{ directories: Set<string>; relevant: Set<string> }> {
  const directories = new Set<string>();
  const relevant = new Set<string>();
  for (const file of set.files.map((entry) => path.resolve(entry))) {
    relevant.add(file);
    directories.add(path.dirname(file));
    for (let ancestor = path.dirname(file); ancestor !== path.dirname(ancestor); ancestor = path.dirname(ancestor)) {
      const info = await lstat(ancestor).catch(() => undefined);
      if (info?.isSymbolicLink()) {
        relevant.add(ancestor);
        directories.add(path.dirname(ancestor));
      }
    }
  }
  for (const pattern of set.patterns) {
    const fixed = pattern.split('/').findIndex(hasMagic);
    directories.add(fixed < 0 ? path.dirname(pattern) : pattern.split('/').slice(0, Math.max(1, fixed)).join('/') || '/');
  }
  return { directories, relevant };
}

export class TaskFileWatcher {
  private readonly watcher: FSWatcher;
  private directories = new Set<string>();
  private relevant = new Set<string>();
  private patterns: readonly string[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly onChange: () => void,
    private readonly log: Logger,
  ) {
    this.watcher = watch([], { ignoreInitial: true, depth: 0, followSymlinks: false, atomic: false, ignorePermissionErrors: true });
    this.watcher.on('all', (_event, changed) => this.seen(path.resolve(changed)));
    this.watcher.on('error', (error) => this.log.warn({ err: error }, 'watching the task file failed; reload with `gotorch reload`'));
  }

  /** Watches exactly what the last successful load read (and where its includes may add files). */
  async update(set: WatchSet): Promise<void> {
    const { directories, relevant } = await watchPoints(set);
    const gone = [...this.directories].filter((directory) => !directories.has(directory));
    const added = [...directories].filter((directory) => !this.directories.has(directory));
    if (gone.length > 0) this.watcher.unwatch(gone);
    if (added.length > 0) this.watcher.add(added);
    this.directories = directories;
    this.relevant = relevant;
    this.patterns = set.patterns;
  }

  close(): Promise<void> {
    clearTimeout(this.timer);
    return this.watcher.close();
  }

  private seen(changed: string): void {
    if (!this.relevant.has(changed) && !this.patterns.some((pattern) => matchesGlob(pattern, changed))) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.onChange(), DEBOUNCE_MS);
  }
}
