import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, statSync } from 'node:fs';
import type { Readable } from 'node:stream';
import type { HttpOptions } from '../tasks/types.js';
import type { AdoptedJob } from './adoption.js';
import type { JobEnvironment } from './job-env.js';
import { requestHandle } from './http-request.js';
import { procTable } from './process-table.js';
import { resolveUser, type UserIds } from './user.js';

/** What to start: `shell -c command` (SPEC §2). `env` is complete: nothing is added to it. */
export interface SpawnRequest {
  readonly shell: string;
  readonly command: string;
  readonly env: Readonly<Record<string, string>>;
  /** The same environment as a run's (job-env.ts): the native spawner takes its NAME=value strings from it without building `env`. */
  readonly jobEnv?: JobEnvironment;
  readonly cwd?: string;
  /** `user=` (SPEC §1.5): a name or numeric uid; only works when the daemon runs as root. */
  readonly user?: string;
  /** SPEC §11: an HTTP task: `command` is the URL, requested with fetch (shell, cwd and user unused). */
  readonly http?: HttpOptions;
}

/** How a child ended. Exactly one of exitCode, signal, error is set. */
export interface SpawnOutcome {
  readonly exitCode: number | null;
  readonly signal: string | null;
  /** Why the child could not be started (missing cwd, shell not found, not executable, unknown user). */
  readonly error?: string;
  /** An HTTP task's response status (exitCode says whether it counts as a success). */
  readonly httpStatus?: number;
}

export type OutputStream = 'stdout' | 'stderr';
export type OutputListener = (stream: OutputStream, chunk: Buffer) => void;

/** A started child, leader of its own process group. */
export interface ChildHandle {
  /** Undefined when the spawn failed, or for a request. */
  readonly pid: number | undefined;
  /** SPEC §11: an HTTP task's request, started though it has no pid (nothing to adopt after a crash). */
  readonly request?: boolean;
  /** This daemon's read ends of the job's pipes, for the job keeper to hold (issue 17); absent for an adopted run. */
  readonly outputFds?: Readonly<Record<OutputStream, number>>;
  /**
   * Issue 17, a handover: stops reading the output pipes here (what was read is delivered first); the
   * next daemon reads its own copies. The outcome then never settles in this daemon.
   */
  pauseOutput?(): void;
  /** Output arrives here; chunks read before a listener is set are counted by nobody and dropped. */
  onOutput(listener: OutputListener): void;
  /** Signals the whole process group; false when the group is gone (or never existed). */
  signalGroup(signal: NodeJS.Signals | 0): boolean;
  /** Resolves once the child exited and its output pipes closed; never rejects. */
  readonly outcome: Promise<SpawnOutcome>;
  /**
   * Stops reading `stream` here and hands the pipe to a counting process; resolves with the bytes it
   * read to the end. Undefined when no such process could start (the caller keeps reading itself).
   */
  drain(stream: OutputStream): Promise<number> | undefined;
}

/** The one edge to starting and taking over processes: injected so the supervisor runs on a scripted spawner in tests. */
export interface Spawner {
  spawn(request: SpawnRequest): ChildHandle;
  /** A job a previous daemon started (SPEC §6), already checked to be that run's process. */
  adopt(job: AdoptedJob): ChildHandle;
}

/**
 * Sends `signal` to process group `pgid`. Never throws (it runs from timers): a gone group (ESRCH) is
 * false; any other error (EPERM) means the group still exists.
 */
export function signalProcessGroup(pgid: number | undefined, signal: NodeJS.Signals | 0): boolean {
  if (pgid === undefined) return false;
  try {
    process.kill(-pgid, signal);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/**
 * SPEC §2 "memory does not grow with a job's output": past log_limit, `wc -c` reads the rest of the
 * pipe instead of this process, whose 64 KiB read buffers would otherwise pile up ahead of the GC.
 * It runs in its own process group so a terminal's Ctrl-C does not cut the job's pipe.
 */
export function drainPipe(source: Readable | null | undefined): Promise<number> | undefined {
  if (!source || source.destroyed) return undefined;
  // A stream with a file descriptor is handed to the child as its stdin: nothing is read here.
  return countRest(source, () => source.destroy());
}

/** drainPipe for a bare file descriptor (the native spawner's pipes): closed here once `wc` has its own. */
export function drainDescriptor(fd: number): Promise<number> | undefined {
  return countRest(fd, () => closeSync(fd));
}

function countRest(stdin: Readable | number, handedOver: () => void): Promise<number> | undefined {
  // child_process, not execa: a job's pipe as stdin and one number back need none of execa's, and the
  // daemon then loads execa only for a command hook (its ~120 modules were 1.9 MB of a daemon's RSS, measured).
  let counter: ChildProcess;
  try {
    counter = spawn('wc', ['-c'], { stdio: [stdin as Readable, 'pipe', 'ignore'], detached: true });
  } catch {
    return undefined;
  }
  if (counter.pid === undefined) {
    counter.on('error', () => undefined);
    return undefined;
  }
  handedOver();
  let out = '';
  counter.stdout?.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  return new Promise((resolve) => {
    counter.on('error', () => resolve(0));
    counter.on('close', () => resolve(Number.parseInt(out.trim(), 10) || 0));
  });
}

/**
 * SPEC §2: timeout, stop and kill act on the whole process group, and on whatever of the run escaped
 * it (issue: a double-forked job must be gone after its timeout). Signal 0 asks whether any is left.
 */
export function signalRun(pgid: number | undefined, runId: string | undefined, signal: NodeJS.Signals | 0): boolean {
  let alive = signalProcessGroup(pgid, signal);
  for (const pid of runId === undefined ? [] : (procTable.byRun().get(runId) ?? [])) {
    try {
      process.kill(pid, signal);
      alive = true;
    } catch {
      // exited meanwhile
    }
  }
  return alive;
}

export function failedHandle(error: string): ChildHandle {
  return {
    pid: undefined,
    onOutput: () => undefined,
    signalGroup: () => false,
    outcome: Promise.resolve({ exitCode: null, signal: null, error }),
    drain: () => undefined,
  };
}

const SETPRIV = '/usr/bin/setpriv';
let setprivAvailable: boolean | undefined;

/**
 * SPEC §1.5 `user=`: uid, gid and the user's supplementary groups. Node (libuv) can set uid and gid
 * but clears the supplementary groups, so `setpriv` (util-linux) switches and then execs the shell in
 * place: same pid, same process group. Without setpriv, uid and gid only.
 */
export function asUser(ids: Extract<UserIds, { ok: true }>, request: Pick<SpawnRequest, 'shell' | 'command'>): [string, string[], { uid?: number; gid?: number }] {
  setprivAvailable ??= existsSync(SETPRIV);
  if (!setprivAvailable) return [request.shell, ['-c', request.command], { uid: ids.uid, gid: ids.gid }];
  const groups = ids.name === undefined ? '--clear-groups' : '--init-groups';
  return [SETPRIV, [`--reuid=${ids.uid}`, `--regid=${ids.gid}`, groups, '--', request.shell, '-c', request.command], {}];
}

/** What runs for `request`: `shell -c command`, through setpriv for `user=`; or why nothing can (an unknown user). */
export function jobCommand(request: SpawnRequest): { command: ReturnType<typeof asUser> } | { error: string } {
  const ids = request.user === undefined ? undefined : resolveUser(request.user);
  if (ids !== undefined && !ids.ok) return { error: ids.error };
  return { command: ids === undefined ? [request.shell, ['-c', request.command], {}] : asUser(ids, request) };
}

/** A child_process child's handle over its output streams, `outcome` and the run it belongs to (the native spawner reads its pipes in the addon). */
function childHandle(pid: number | undefined, output: Record<OutputStream, Readable | null>, outcome: Promise<SpawnOutcome>, runId: string | undefined): ChildHandle {
  let listener: OutputListener | undefined;
  // libuv's descriptor of each stdio socketpair (no public API names it).
  const fdOf = (stream: Readable | null): number => (stream as unknown as { _handle?: { fd?: number } } | null)?._handle?.fd ?? -1;
  // Always drain both pipes, so a child never blocks on a full pipe whoever listens.
  output.stdout?.on('data', (chunk: Buffer) => listener?.('stdout', chunk));
  output.stderr?.on('data', (chunk: Buffer) => listener?.('stderr', chunk));
  return {
    pid,
    outputFds: { stdout: fdOf(output.stdout), stderr: fdOf(output.stderr) },
    onOutput: (next) => {
      listener = next;
    },
    pauseOutput: () => {
      for (const stream of ['stdout', 'stderr'] as const) stopReading(output[stream], (chunk) => listener?.(stream, chunk));
    },
    signalGroup: (signal) => signalRun(pid, runId, signal),
    outcome,
    drain: (stream) => drainPipe(output[stream]),
  };
}

/**
 * Issue 17, a handover: libuv stops reading `readable` (a socket or pipe), and what the stream already
 * holds is delivered now; the next daemon reads its own copy of the pipe from there.
 */
export function stopReading(readable: Readable | null, deliver: (chunk: Buffer) => void): void {
  if (readable === null || readable.destroyed) return;
  readable.pause();
  (readable as unknown as { _handle?: { readStop?: () => void } })._handle?.readStop?.();
  for (let chunk = readable.read() as Buffer | null; chunk !== null; chunk = readable.read() as Buffer | null) deliver(chunk);
}

/** A spawn failure as a run record says it; a missing working directory is named as such, not as ENOENT. */
export function spawnFailure(error: unknown, file: string, cwd: string | undefined): string {
  const code = (error as NodeJS.ErrnoException).code;
  const message = error instanceof Error ? error.message : String(error);
  if (cwd !== undefined && (code === 'ENOENT' || code === 'ENOTDIR')) {
    let isDirectory = false;
    try {
      isDirectory = statSync(cwd).isDirectory();
    } catch {
      // missing: reported below
    }
    if (!isDirectory) return `cwd ${cwd} is not an existing directory (${message})`;
  }
  return code === 'ENOENT' && !message.includes(file) ? `${message}: ${file}` : message;
}

/**
 * SPEC §2: own process group, stdin closed, output streamed (never buffered), failures as values.
 * Straight `child_process.spawn`: on the path every job takes, execa's result promise and stream
 * plumbing (which this spawner does not use) doubled the daemon's CPU per start (README, load test).
 * The outcome waits for `close`: the exit, and the end of the output pipes.
 */
export const jobSpawner: Spawner = {
  spawn(request) {
    if (request.http !== undefined) return requestHandle(request.command, request.http, request.env);
    const planned = jobCommand(request);
    if ('error' in planned) return failedHandle(planned.error);
    const [file, args, switchIds] = planned.command;
    let child: ChildProcess;
    try {
      child = spawn(file, args, { cwd: request.cwd, env: request.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'], ...switchIds });
    } catch (error) {
      return failedHandle(spawnFailure(error, file, request.cwd));
    }
    const outcome = new Promise<SpawnOutcome>((resolve) => {
      let failure: string | undefined;
      child.on('error', (error) => (failure ??= spawnFailure(error, file, request.cwd)));
      child.on('close', (code, signal) => {
        if (failure !== undefined) resolve({ exitCode: null, signal: null, error: failure });
        else if (signal !== null) resolve({ exitCode: null, signal });
        else resolve({ exitCode: code, signal: null });
      });
    });
    return childHandle(child.pid, child, outcome, request.env.GOTORCH_RUN_ID);
  },
  adopt: adoptedHandle,
};

const ADOPTED_POLL_MS = 1000;

/**
 * SPEC §6: a process group left running by a previous daemon. Not our child, so its exit status is
 * unknown; it is polled until the pid is gone or is no longer the same process (start time).
 */
export function adoptedHandle({ pid, processStart, run }: AdoptedJob): ChildHandle {
  const outcome = new Promise<SpawnOutcome>((resolve) => {
    const poll = setInterval(() => {
      if (procTable.stat(pid)?.startTime === processStart) return;
      clearInterval(poll);
      resolve({ exitCode: null, signal: null, error: 'exit status unknown: adopted from a previous daemon' });
    }, ADOPTED_POLL_MS).unref(); // the daemon's own timers keep it alive; a released run must not
  });
  return { pid, onOutput: () => undefined, signalGroup: (signal) => signalRun(pid, run, signal), outcome, drain: () => undefined };
}
