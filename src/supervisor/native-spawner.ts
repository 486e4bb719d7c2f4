/**
 * Issue 16: the Spawner on posix_spawn (native/spawn.c) instead of child_process, whose fork of the
 * whole daemon blocks the event loop until the child has exec'ed. Same semantics and failure messages
 * as jobSpawner (spawner.ts): own process group, stdin /dev/null, output streamed, the outcome once the
 * child exited and both pipes closed.
 */
import { accessSync, closeSync, constants as fsConstants } from 'node:fs';
import { constants } from 'node:os';
import { getSystemErrorName } from 'node:util';
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

type OutputHandle = ReturnType<NativeAddon['readOutput']>;

/**
 * Both output pipes read by the addon on the event loop; `ended` once both reached their end (or were
 * handed to a drain). Always read, so a child never blocks on a full pipe whoever listens.
 */
function readOutputs(addon: NativeAddon, fds: Record<OutputStream, number>, ended: () => void) {
  let listener: OutputListener | undefined;
  let open = 2;
  const handles = new Map<OutputStream, OutputHandle>();
  const closed = (stream: OutputStream): void => {
    handles.delete(stream);
    if (--open === 0) ended();
  };
  const read = (stream: OutputStream, fd: number): void => {
    handles.set(stream, addon.readOutput(fd, (chunk) => (chunk === null ? closed(stream) : listener?.(stream, chunk))));
  };
  read('stdout', fds.stdout);
  read('stderr', fds.stderr);
  return {
    onOutput: (next: OutputListener) => {
      listener = next;
    },
    /** Issue 17, a handover: stops reading both pipes and closes this daemon's ends (the next one has its own). */
    pause: (): void => {
      for (const [stream, handle] of [...handles]) {
        handles.delete(stream);
        closeSync(addon.detachOutput(handle));
      }
    },
    /** Hands the rest of `stream` to a counting process (drainDescriptor); reads on if none starts. */
    drain: (stream: OutputStream): Promise<number> | undefined => {
      const handle = handles.get(stream);
      if (handle === undefined) return undefined;
      const fd = addon.detachOutput(handle);
      const counted = drainDescriptor(fd);
      if (counted === undefined) read(stream, fd);
      else closed(stream);
      return counted;
    },
  };
}

export function nativeSpawner(addon: NativeAddon): Spawner {
  return {
    spawn(request) {
      if (request.http !== undefined) return jobSpawner.spawn(request); // a fetch, no process
      const planned = jobCommand(request);
      if ('error' in planned) return failedHandle(planned.error);
      const [file, args, switchIds] = planned.command;
      const envp = Object.entries(request.env).map(([name, value]) => `${name}=${value}`);
      // posix_spawn cannot switch uid/gid (only without setpriv), and C strings end at a NUL: child_process
      // does both and words the NUL error.
      if (switchIds.uid !== undefined || [file, ...args, ...envp, request.cwd ?? ''].some((text) => text.includes('\0'))) return jobSpawner.spawn(request);
      const started = addon.spawn(executablePath(file, request.env.PATH), [file, ...args], envp, request.cwd ?? null);
      if ('errno' in started) return failedHandle(spawnFailure(spawnError(started.errno, file), file, request.cwd));
      let exit: SpawnOutcome | undefined;
      let outputEnded = false;
      let settle: (outcome: SpawnOutcome) => void = () => undefined;
      const outcome = new Promise<SpawnOutcome>((resolve) => (settle = resolve));
      // The outcome waits for the exit and both pipes' end, as child_process's `close` does.
      const output = readOutputs(addon, { stdout: started.stdoutFd, stderr: started.stderrFd }, () => {
        outputEnded = true;
        if (exit !== undefined) settle(exit);
      });
      addon.watchExit(started.pidfd, (code, signal, errno) => {
        if (errno !== 0) exit = { exitCode: null, signal: null, error: `exit status unknown: waiting for the job failed (${getSystemErrorName(-errno)})` };
        else if (signal !== 0) exit = { exitCode: null, signal: signalName(signal) };
        else exit = { exitCode: code, signal: null };
        if (outputEnded) settle(exit);
      });
      const runId = request.env.GOTORCH_RUN_ID;
      const outputFds = { stdout: started.stdoutFd, stderr: started.stderrFd };
      return { pid: started.pid, outputFds, onOutput: output.onOutput, pauseOutput: output.pause, signalGroup: (signal) => signalRun(started.pid, runId, signal), outcome, drain: output.drain };
    },
    adopt: adoptedHandle,
  };
}
