import { afterAll, beforeAll } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import path from 'node:path';

export const CLI = path.resolve('dist/src/cli/main.js');

/** Polls `condition` until it returns a truthy value or the deadline passes. */
export async function waitFor<T>(condition: () => T | Promise<T>, timeoutMs: number, what: string): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await condition();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** Live pids whose process group is `pgid` (fields after the command name in /proc/PID/stat). */
export function groupMembers(pgid: number): number[] {
  const members: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (fields[0] !== 'Z' && Number(fields[2]) === pgid) members.push(Number(entry));
    } catch {
      // exited while we looked
    }
  }
  return members;
}

/** Live pids whose command line contains `marker` (a temp dir path makes a good marker). */
export function processesMentioning(marker: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(marker) && isAlive(Number(entry))) found.push(Number(entry));
    } catch {
      // exited while we looked
    }
  }
  return found;
}

/** Inode numbers `pid` watches through inotify (from /proc/PID/fdinfo): which files a watcher has armed. */
export function inotifyWatchedInodes(pid: number): Set<number> {
  const inodes = new Set<number>();
  let fds: string[] = [];
  try {
    fds = readdirSync(`/proc/${pid}/fdinfo`);
  } catch {
    return inodes; // gone
  }
  for (const fd of fds) {
    try {
      for (const match of readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8').matchAll(/^inotify wd:\d+ ino:([0-9a-f]+) /gm)) inodes.add(Number.parseInt(match[1], 16));
    } catch {
      // closed while we looked
    }
  }
  return inodes;
}

export interface Started {
  readonly child: ChildProcess;
  /** stdout and stderr together, in arrival order. */
  readonly output: () => string;
  readonly stdout: () => string;
  readonly stderr: () => string;
  readonly exited: Promise<number | null>;
  /** The exit code once the process exited and its output pipes closed: all output is in by then. */
  readonly closed: Promise<number | null>;
}

/** Runs the built CLI with `args`; collects stdout and stderr, together and apart. */
export function runCli(args: readonly string[], env: NodeJS.ProcessEnv = {}): Started {
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
    stdout += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
    stderr += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const closed = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, output: () => output, stdout: () => stdout, stderr: () => stderr, exited, closed };
}

/** `pids` and every live process descending from them (a foreground start is the job keeper, its daemon and jobs beneath). */
export function withDescendants(pids: readonly number[]): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(parent, [...(children.get(parent) ?? []), Number(entry)]);
    } catch {
      // exited while we looked
    }
  }
  const found = new Set(pids);
  for (const pid of found) for (const child of children.get(pid) ?? []) found.add(child);
  return [...found];
}

/** The pipe inodes (`pipe:[N]`) among `pid`'s open file descriptors. */
function pipesOf(pid: number | 'self'): Map<string, string> {
  const pipes = new Map<string, string>();
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        const target = readlinkSync(`/proc/${pid}/fd/${fd}`);
        if (target.startsWith('pipe:')) pipes.set(fd, target);
      } catch {
        // closed while we looked
      }
    }
  } catch {
    // gone
  }
  return pipes;
}

/** What a process is doing, for a report: its pid, state, kernel wait channel and command line. */
function describeProcess(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
    const wchan = readFileSync(`/proc/${pid}/wchan`, 'utf8');
    const command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim().slice(0, 160);
    return `${pid} ${state} ${wchan || '-'} ${command}`;
  } catch {
    return `${pid} (gone)`;
  }
}

/**
 * The exit code of `started` once it exited and its output pipes closed (`closed`); if that has not come
 * within `ms`, fails saying whether it exited, which of its processes still run, which processes hold its
 * output pipes open, and its output's tail (a stop that hangs now and then under load says where).
 */
export async function endOf(started: Started, ms = 20_000): Promise<number | null> {
  let exited = false;
  void started.exited.then(() => (exited = true));
  const ourPipes = new Set(
    [started.child.stdout, started.child.stderr].flatMap((stream) => {
      const fd = (stream as unknown as { _handle?: { fd?: number } } | null)?._handle?.fd;
      return typeof fd === 'number' && fd >= 0 ? [pipesOf('self').get(String(fd)) ?? ''] : [];
    }).filter(Boolean),
  );
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const pid = started.child.pid as number;
      const alive = withDescendants([pid]).map(describeProcess);
      const holders: string[] = [];
      for (const entry of readdirSync('/proc')) {
        if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
        for (const [fd, pipe] of pipesOf(Number(entry))) if (ourPipes.has(pipe)) holders.push(`${describeProcess(Number(entry))} (fd ${fd})`);
      }
      reject(
        new Error(
          `not ended ${ms} ms on (${exited ? 'it exited; its output pipes are still open' : 'it has not exited'}); its processes:\n${alive.join('\n')}\n` +
            `holding its output pipes:\n${holders.join('\n') || '(none)'}\nit printed:\n${started.output().slice(-4000)}`,
        ),
      );
    }, ms);
  });
  try {
    return await Promise.race([started.closed, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Kills every pid still alive and what descends from it, then waits briefly for them to go. */
export async function killAll(given: readonly number[]): Promise<void> {
  const pids = withDescendants(given);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await waitFor(() => pids.every((pid) => !isAlive(pid)), 5000, 'leftover processes to die').catch(() => undefined);
}

/**
 * Issue 17: the daemons a test file starts run alone, without the job keeper, whatever the default
 * (a file about the daemon's own behaviour: state-file adoption, the systemd unit, the flags re-exec).
 */
export function withoutJobKeeper(): void {
  const before = process.env.GOTORCH_KEEPER;
  beforeAll(() => {
    process.env.GOTORCH_KEEPER = 'off';
  });
  afterAll(() => {
    if (before === undefined) delete process.env.GOTORCH_KEEPER;
    else process.env.GOTORCH_KEEPER = before;
  });
}
