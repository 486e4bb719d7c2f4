/**
 * What a daemon checks before it claims anything (SPEC §4 start validates first; SPEC §12 file safety):
 * the task file loads, the runtime folders and log files are safe, no live daemon holds the pidfile.
 * A refused start leaves nothing behind.
 */
import path from 'node:path';
import { formatErrors, type LoadResult } from '../tasks/load.js';
import { runtimeRefusal } from './file-safety.js';
import { claimPidfile, DAEMON_TITLE } from './pidfile.js';
import type { RuntimePaths } from './paths.js';
import { loadForHost } from './reloads.js';

export type StartCheck = { readonly loaded: LoadResult; readonly replacedStale?: number } | { readonly exitCode: number; readonly reason: string };

/** `takeOver` (issue 17): the pidfile is claimed later, once the daemon holding it has handed over. */
export async function prepareStart(tasksFile: string, paths: RuntimePaths, hostId: string | undefined, takeOver = false): Promise<StartCheck> {
  const loaded = await loadForHost(tasksFile, hostId);
  if (loaded.errors.length > 0) {
    return { exitCode: 1, reason: `${tasksFile} rejected (${loaded.errors.length} error(s)), nothing started:\n${formatErrors(loaded.errors)}` };
  }
  // As root, runtime folders only root can write; nowhere a symlink or FIFO in place of a log.
  const refused = runtimeRefusal(
    [
      { dir: path.dirname(paths.pidfile), what: 'the pidfile folder' },
      { dir: paths.logDir, what: 'the log folder' },
    ],
    ['gotorch.log', 'runs.log'].map((name) => path.join(paths.logDir, name)),
  );
  if (refused !== undefined) return { exitCode: 1, reason: refused };
  // The title marks this process as a gotorch daemon for the pidfile's liveness check: set it first.
  process.title = `${DAEMON_TITLE} -c ${tasksFile}`;
  if (takeOver) return { loaded };
  const claim = claimPidfile(paths.pidfile, process.pid);
  if (!claim.ok) return { exitCode: 1, reason: `gotorch is already running (pid ${claim.livePid}, pidfile ${paths.pidfile})` };
  return { loaded, replacedStale: claim.replacedStale };
}
