/**
 * Issue 16: the Spawner on posix_spawn (native/spawn.c) instead of child_process, whose fork of the
 * whole daemon blocks the event loop until the child has exec'ed. Same semantics and failure messages
 * as jobSpawner (spawner.ts): own process group, stdin /dev/null, output streamed, the outcome once the
 * child exited and both pipes closed.
 */
import { accessSync, closeSync, constants as fsConstants } from 'node:fs';
import { constants } from 'node:os';
import { getSystemErrorName } from 'node:util';
import { givenEnvironment } from './job-env.js';
import type { NativeAddon } from './native-addon.js';
import { adoptedHandle, drainDescriptor, failedHandle, jobCommand, jobSpawner, signalRun, spawnFailure, type OutputListener, type OutputStream, type SpawnOutcome, type Spawner } from './spawner.js';

/** Signal numbers to names, the first name of each number as Node reports it (SIGABRT, not SIGIOT). */
const SIGNAL_NAMES = new Map<number, string>();
for (const [name, number] of Object.entries(constants.signals)) if (!SIGNAL_NAMES.has(number)) SIGNAL_NAMES.set(number, name);

/** A signal number as Node names it (a number it has no name for, as digits). */
export const signalName = (signal: number): string => SIGNAL_NAMES.get(signal) ?? String(signal);

/** The failures child_process reports as an `error` event naming the file; it throws the others as `spawn CODE`. */
const NAMED_FAILURES = new Set(['EACCES', 'EAGAIN', 'EMFILE', 'ENFILE', 'ENOENT']);

/** A failed posix_spawn as child_process reports it, so spawnFailure words both alike. */
function spawnError(errno: number, file: string): NodeJS.ErrnoException {
  const code = getSystemErrorName(-errno);
  const syscall = NAMED_FAILURES.has(code) ? `spawn ${file}` : 'spawn';
  return Object.assign(new Error(`${syscall} ${code}`), { code, errno: -errno, syscall });
}

/** execvp's search, on the job's own PATH as libuv does it: a file without a slash is looked up there. */
function executablePath(file: string, path: string | undefined): string {
  if (file.includes('/')) return file;
  for (const dir of (path ?? '/usr/bin:/bin').split(':')) {
    const candidate = `${dir || '.'}/${file}`;
    try {
      accessSync(candidate, fsConstants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return file;
}

/** The addon's pipe indexes. */
const STREAMS: readonly OutputStream[] = ['stdout', 'stderr'];

/** How the addon's onDone reads. */
function exitOutcome(code: number, signal: number, errno: number): SpawnOutcome {
  if (errno !== 0) return { exitCode: null, signal: null, error: `exit status unknown: waiting for the job failed (${getSystemErrorName(-errno)})` };
  if (signal !== 0) return { exitCode: null, signal: signalName(signal) };
  return { exitCode: code, signal: null };
}

const hasNul = (text: string): boolean => text.includes('\0');
/** A definition's shared environment holding a NUL, which a C string cannot: its runs go through child_process. */
const NUL = Symbol('NUL');

export function nativeSpawner(addon: NativeAddon): Spawner {
  // Each definition's shared NAME=value strings, copied to C once (by the array job-env.ts keeps per definition).
  const prepared = new WeakMap<readonly string[], object | typeof NUL>();
  const preparedEnv = (shared: readonly string[]): object | typeof NUL | null => {
    if (shared.length === 0) return null;
    let known = prepared.get(shared);
    if (known === undefined) prepared.set(shared, (known = shared.some(hasNul) ? NUL : addon.prepareEnv(shared)));
    return known;
  };
  return {
    spawn(request) {
      if (request.http !== undefined) return jobSpawner.spawn(request); // a fetch, no process
      const planned = jobCommand(request);
      if ('error' in planned) return failedHandle(planned.error);
      const [file, args, switchIds] = planned.command;
      const env = request.jobEnv ?? givenEnvironment(request.env);
      const { shared, own } = env.pairs();
      const sharedEnv = preparedEnv(shared);
      // posix_spawn cannot switch uid/gid (only without setpriv), and C strings end at a NUL: child_process
      // does both and words the NUL error.
      if (switchIds.uid !== undefined || sharedEnv === NUL || [file, ...args, ...own, request.cwd ?? ''].some(hasNul)) return jobSpawner.spawn(request);
      let listener: OutputListener | undefined;
      let exit: SpawnOutcome | undefined;
      /** Detached pipes no counting process took, read here: the outcome waits for their end too. */
      let rereading = 0;
      /** Issue 17, a handover: this daemon reads no more and its outcome never settles. */
      let paused = false;
      let settle: (outcome: SpawnOutcome) => void = () => undefined;
      const outcome = new Promise<SpawnOutcome>((resolve) => (settle = resolve));
      const settleOnceRead = (): void => {
        if (exit !== undefined && rereading === 0 && !paused) settle(exit);
      };
      // One call back when the child exited and both pipes ended (as child_process's `close`), and one per chunk read.
      const started = addon.spawn(
        executablePath(file, env.get('PATH')),
        [file, ...args],
        sharedEnv,
        own,
        request.cwd ?? null,
        (index, chunk) => listener?.(STREAMS[index], chunk),
        (code, signal, errno) => {
          exit = exitOutcome(code, signal, errno);
          settleOnceRead();
        },
      );
      if ('errno' in started) return failedHandle(spawnFailure(spawnError(started.errno, file), file, request.cwd));
      const runId = env.get('GOTORCH_RUN_ID');
      return {
        pid: started.pid,
        outputFds: { stdout: started.stdoutFd, stderr: started.stderrFd },
        onOutput: (next) => {
          listener = next;
        },
        /** Issue 17, a handover: stops reading both pipes and closes this daemon's ends (the next one has its own). */
        pauseOutput: () => {
          paused = true;
          // Nor reaps it: a job ending now is the keeper's to reap once this daemon is gone, and to tell the next one.
          addon.detachExit(started.job);
          for (const index of [0, 1]) {
            const fd = addon.detachOutput(started.job, index);
            if (fd >= 0) closeSync(fd);
          }
        },
        signalGroup: (signal) => signalRun(started.pid, runId, signal),
        outcome,
        /** Hands the rest of `stream` to a counting process (drainDescriptor); reads on here if none starts. */
        drain: (stream) => {
          const fd = addon.detachOutput(started.job, STREAMS.indexOf(stream));
          if (fd < 0) return undefined;
          const counted = drainDescriptor(fd);
          if (counted === undefined) {
            rereading++;
            addon.readOutput(fd, (chunk) => {
              if (chunk !== null) return listener?.(stream, chunk);
              rereading--;
              settleOnceRead();
            });
          }
          return counted;
        },
      };
    },
    adopt: adoptedHandle,
  };
}
