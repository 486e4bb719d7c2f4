/**
 * Loads the optional posix_spawn addon (native/spawn.c, built by `npm ci`). Never throws: a missing
 * build, a failed load or a kernel without pidfd_open is a reason, and the daemon runs child_process.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** A started child: its pid, its pipes' read ends (the job keeper holds them: issue 17), and the handle of its watched exit and pipes (for detachOutput). */
export type NativeSpawnResult = { pid: number; stdoutFd: number; stderrFd: number; job: object } | { errno: number };

export interface NativeAddon {
  /**
   * posix_spawn `file argv` (the environment: sharedEnv's strings, then envp; cwd or null): own process
   * group, stdin /dev/null, two pipes, read on the event loop. `onOutput` gets each chunk (index 0 stdout, 1 stderr); `onDone` is called once,
   * when the child exited (reaped with waitid on its pidfd) and both pipes ended or were detached (errno
   * when waiting failed).
   */
  spawn(
    file: string,
    argv: readonly string[],
    sharedEnv: object | null,
    envp: readonly string[],
    cwd: string | null,
    onOutput: (index: number, chunk: Buffer) => void,
    onDone: (code: number, signal: number, errno: number) => void,
  ): NativeSpawnResult;
  /** NAME=value strings copied once, for every spawn of a task definition's runs. */
  prepareEnv(pairs: readonly string[]): object;
  /** Null when pidfd_open works on this kernel, else why not. */
  probe(): string | null;
  /** Stops reading a job's pipe (index 0 stdout, 1 stderr), no longer waited for: its fd (blocking again) for another reader; -1 once it ended. */
  detachOutput(job: object, index: number): number;
  /** Issue 17, a handover: stops watching the job's exit without reaping it (the keeper reaps it once this daemon is gone). */
  detachExit(job: object): void;
  /** Reads a pipe on the event loop (a detached one nobody else could take): each chunk, then null once at its end (the fd is closed then). */
  readOutput(fd: number, callback: (chunk: Buffer | null) => void): void;
  /** A timerfd on the event loop calling back at each instant armTimer sets (src/daemon/wake-timer.ts). */
  createTimer(callback: () => void): object;
  /** The next call back at `epochMs` (fractions honoured; at once if past); NaN disarms. */
  armTimer(timer: object, epochMs: number): void;
  closeTimer(timer: object): void;
  /** Sleeps until `epochMs` (wall clock), for at most `maxMs`; returns at once if it passed. */
  holdUntil(epochMs: number, maxMs: number): void;
  /** execve: replaces this process (same pid); returns the errno only when that failed. */
  exec(file: string, argv: readonly string[], envp: readonly string[]): number;
}

/** Where node-gyp puts the build: under the package root (binding.gyp's folder), above src/ or dist/src/. */
function built(file: string): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'binding.gyp')) && dirname(dir) !== dir) dir = dirname(dir);
  return join(dir, 'build', 'Release', file);
}

const builtAddon = (): string => built('gotorch_spawn.node');

/**
 * Issue 17: the job keeper (native/keeper.c), built with the addon: every `gotorch start` runs the daemon
 * under it. Undefined when it is not built (no compiler at install) or `GOTORCH_KEEPER=off` is in the
 * environment of `gotorch start`: the daemon then runs alone (a restart stops its jobs, a crash loses
 * the output they write after it).
 */
export function keeperExecutable(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.GOTORCH_KEEPER === 'off') return undefined;
  const path = built('gotorch_keeper');
  return existsSync(path) ? path : undefined;
}

/** The addon as built, without checking the kernel: `GOTORCH_NATIVE_ADDON` overrides the path (tests point it at a missing file). */
export function loadAddonFile(env: NodeJS.ProcessEnv = process.env): { addon: NativeAddon } | { reason: string } {
  const path = env.GOTORCH_NATIVE_ADDON ?? builtAddon();
  if (!existsSync(path)) return { reason: `the native addon is not built (${path} is missing; \`npm rebuild gotorch\`, or \`npm run install\` in a checkout, builds it)` };
  try {
    return { addon: createRequire(import.meta.url)(path) as NativeAddon };
  } catch (error) {
    return { reason: `the native addon did not load: ${(error as Error).message}` };
  }
}

/** The addon for spawning: built, loaded, and pidfd_open works on this kernel. */
export function loadNativeAddon(env: NodeJS.ProcessEnv = process.env): { addon: NativeAddon } | { reason: string } {
  const loaded = loadAddonFile(env);
  if ('reason' in loaded) return loaded;
  const unsupported = loaded.addon.probe();
  return unsupported === null ? loaded : { reason: `pidfd_open is not available (Linux 5.3 or later is needed): ${unsupported}` };
}
