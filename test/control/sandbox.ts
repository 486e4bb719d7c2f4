/**
 * A gotorch installation in a temp dir for the control-plane tests: task file, pidfile, socket, state
 * file and logs all inside it, the built CLI bound to them, and cleanup by pid (daemon first, then every
 * process whose command line names the dir, with their process groups).
 */
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach } from 'vitest';
import { groupMembers, inotifyWatchedInodes, isAlive, killAll, processesMentioning, runCli, waitFor } from '../helpers/processes.js';

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export type LogRecord = Record<string, unknown>;

export interface RunningJob {
  readonly pid: number | null;
  readonly run: string;
  readonly startedAt: number;
  readonly bytesLogged: number;
  readonly adopted: 'crash' | 'handover' | 'state file' | null;
}

export interface TaskJson {
  readonly name: string;
  readonly type: string;
  readonly max: number | null;
  readonly schedule: string | null;
  readonly current: boolean;
  readonly running: readonly RunningJob[];
  readonly lastExit: LogRecord | null;
  readonly next: number | null;
  /** SPEC §8: the task's jitter offset on this host (0 without jitter). */
  readonly jitterOffsetS: number | null;
}

export interface StatusJson {
  readonly running: boolean;
  readonly pid: number;
  readonly version?: string;
  /** Issue 17: the job keeper the daemon runs under, or null. */
  readonly keeper?: { readonly pid: number; readonly socket: string } | null;
  readonly uptimeMs: number;
  readonly file: string;
  /** `host:port` of /metrics and /healthz, or null. */
  readonly metrics: string | null;
  readonly host: string;
  readonly tasksInFile: number;
  readonly lastReload: { ok: boolean; trigger: string; at: number; summary?: string; errors?: string[] } | null;
  readonly tasks: readonly TaskJson[];
}

/**
 * Runs `command` to its end and collects its output: for a CLI run from another folder, as another user
 * (through setpriv), or into a pipe whose reader is gone before the first write (`closeStdout`).
 */
export function runToEnd(command: string, args: readonly string[], options: { cwd?: string; closeStdout?: boolean } = {}): Promise<CliResult> {
  const child = spawn(command, args, { cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  if (options.closeStdout) child.stdout.destroy();
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

/** The JSON records of a log file; a line being written right now is skipped. */
export function readJsonLines(file: string): LogRecord[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as LogRecord];
      } catch {
        return []; // a line being written right now
      }
    });
}

/** A log file with the generations rotation moved away (`name.5` … `name.1`), oldest first. */
export function readRotatedLog(file: string): LogRecord[] {
  return [5, 4, 3, 2, 1].map((generation) => `${file}.${generation}`).concat(file).flatMap(readJsonLines);
}

export class Sandbox {
  readonly dir = mkdtempSync(path.join(os.tmpdir(), 'gotorch-control-'));
  /** What `-c` names. */
  readonly conf: string;
  readonly runDir = path.join(this.dir, 'run');
  readonly pidfile = path.join(this.runDir, 'gotorch.pid');
  readonly socket = path.join(this.runDir, 'gotorch.sock');
  readonly state = path.join(this.runDir, 'gotorch.state.json');
  readonly logDir = path.join(this.dir, 'log');
  readonly daemonLog = path.join(this.logDir, 'gotorch.log');
  readonly runsLog = path.join(this.logDir, 'runs.log');
  /** Other processes a test started and wants gone at the end. */
  private readonly extraPids: number[] = [];

  /** `tasks`: the task file's path inside the dir (it may lead through a symlink). */
  constructor(tasks = 'tasks.conf') {
    this.conf = path.join(this.dir, tasks);
  }

  /** The options every command gets, before the command itself. */
  get globalArgs(): string[] {
    return ['-c', this.conf, '--pidfile', this.pidfile, '--log-dir', this.logDir];
  }

  async cli(...args: string[]): Promise<CliResult> {
    return this.cliWithEnv({}, ...args);
  }

  /** The CLI with `env` over the test's environment (the daemon it starts inherits it). */
  async cliWithEnv(env: NodeJS.ProcessEnv, ...args: string[]): Promise<CliResult> {
    const run = runCli([...this.globalArgs, ...args], env);
    const code = await run.closed;
    return { code, stdout: run.stdout(), stderr: run.stderr() };
  }

  /** Writes `lines` to `file` (relative to the dir), creating folders. */
  write(lines: readonly string[], file = 'tasks.conf'): string {
    const target = path.resolve(this.dir, file);
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target, lines.join('\n') + '\n');
    return target;
  }

  /** An editor's atomic save: a temporary file renamed over the target. */
  saveAtomically(lines: readonly string[], file = 'tasks.conf'): void {
    const target = path.resolve(this.dir, file);
    const temporary = `${target}.${process.pid}.swp`;
    writeFileSync(temporary, lines.join('\n') + '\n');
    renameSync(temporary, target);
  }

  /** Starts the daemon in the background (with `startArgs` after `start`); returns its pid (from the `gotorch started` line). */
  async start(...startArgs: string[]): Promise<number> {
    return this.startWithEnv({}, ...startArgs);
  }

  /** start() with `env` over the test's environment, for the daemon too. */
  async startWithEnv(env: NodeJS.ProcessEnv, ...startArgs: string[]): Promise<number> {
    const result = await this.cliWithEnv(env, 'start', ...startArgs);
    const match = /^gotorch started \(pid (\d+)\)$/m.exec(result.stdout);
    if (result.code !== 0 || !match) throw new Error(`start failed (${result.code}): ${result.stdout}${result.stderr}`);
    return Number(match[1]);
  }

  /**
   * Waits until the daemon's file watcher has an inotify watch on each path (default: the task file and
   * its folder; symlinks followed). The daemon arms them before it reports ready (watcher-arming.test.ts
   * guards that); waiting here keeps each reload test about its own rule should that regress.
   */
  async watching(...paths: string[]): Promise<void> {
    const pid = this.pidfilePid();
    const inodes = (paths.length > 0 ? paths : [this.conf, path.dirname(this.conf)]).map((file) => statSync(path.resolve(this.dir, file)).ino);
    await waitFor(() => pid !== undefined && inodes.every((inode) => inotifyWatchedInodes(pid).has(inode)), 5000, 'the daemon to watch the task file');
  }

  async status(): Promise<StatusJson> {
    const result = await this.cli('status', '--json');
    if (result.code !== 0) throw new Error(`status failed (${result.code}): ${result.stdout}${result.stderr}`);
    return JSON.parse(result.stdout) as StatusJson;
  }

  /** The status of a daemon other than `pid`, once one answers (a handover's next daemon, the keeper's start after a crash). */
  async statusOfAnother(pid: number, timeoutMs: number, what: string): Promise<StatusJson> {
    return waitFor(async () => {
      const status = await this.status().catch(() => undefined);
      return status !== undefined && status.pid !== pid ? status : undefined;
    }, timeoutMs, what);
  }

  async task(name: string): Promise<TaskJson | undefined> {
    return (await this.status()).tasks.find((task) => task.name === name);
  }

  pidfilePid(): number | undefined {
    if (!existsSync(this.pidfile)) return undefined;
    const pid = Number.parseInt(readFileSync(this.pidfile, 'utf8'), 10);
    return Number.isInteger(pid) ? pid : undefined;
  }

  /** The job pids the state file lists (what a daemon started after a crash re-adopts). */
  savedJobPids(): number[] {
    try {
      return (JSON.parse(readFileSync(this.state, 'utf8')) as { jobs: { pid: number }[] }).jobs.map((job) => job.pid);
    } catch {
      return []; // not written yet
    }
  }

  daemonRecords(): LogRecord[] {
    return readJsonLines(this.daemonLog);
  }

  runRecords(): LogRecord[] {
    return readJsonLines(this.runsLog);
  }

  /** The `run finished` records of `task`. */
  finishedRuns(task: string): LogRecord[] {
    return this.runRecords().filter((record) => record.task === task && record.msg === 'run finished');
  }

  /** Waits until `task` has `count` `run finished` records (they are written asynchronously after the exit). */
  async waitForFinished(task: string, count = 1, timeoutMs = 3000): Promise<LogRecord[]> {
    await waitFor(() => this.finishedRuns(task).length >= count, timeoutMs, `${count} finished run(s) of ${task} in runs.log`);
    return this.finishedRuns(task);
  }

  /** Waits for a gotorch.log record with message `msg` (and `extra` fields) past the first `after` records. */
  async waitForLog(msg: string, extra: LogRecord = {}, timeoutMs = 5000, after = 0): Promise<LogRecord> {
    const matches = (record: LogRecord): boolean => record.msg === msg && Object.entries(extra).every(([key, value]) => record[key] === value);
    return waitFor(() => this.daemonRecords().slice(after).find(matches), timeoutMs, `"${msg}" ${JSON.stringify(extra)} in gotorch.log`).catch((error: Error) => {
      const seen = this.daemonRecords().slice(after).map((record) => JSON.stringify(record)).join('\n');
      throw new Error(`${error.message}; gotorch.log has:\n${seen}`);
    });
  }

  /** Issue 17: per task, the numbers of its `<task> N` stdout lines in runs.log, in order (jobs that number their lines). */
  numberedLines(): Map<string, number[]> {
    const lines = new Map<string, number[]>();
    for (const record of this.runRecords()) {
      if (record.stream !== 'stdout' || typeof record.line !== 'string') continue;
      const [task, n] = record.line.split(' ');
      if (task === undefined) continue;
      lines.set(task, [...(lines.get(task) ?? []), Number(n)]);
    }
    return lines;
  }

  /** Integer lines of a file a task appends to (GOTORCH_SCHEDULED_AT), in write order. */
  numbers(file: string): number[] {
    const target = path.resolve(this.dir, file);
    if (!existsSync(target)) return [];
    return readFileSync(target, 'utf8').split('\n').filter(Boolean).map(Number);
  }

  track(pid: number): void {
    this.extraPids.push(pid);
  }

  /** Stops the daemon (TERM, KILL if it lingers), then kills every leftover job by pid and group. */
  async cleanup(): Promise<void> {
    // The daemon's title is `gotorch: daemon -c <task file>`; a CLI still waiting names main.js.
    const daemons = processesMentioning(this.dir).filter((pid) => /^gotorch: daemon|main\.js/.test(commandLine(pid)));
    const pid = this.pidfilePid();
    if (pid !== undefined && isAlive(pid)) daemons.push(pid);
    for (const daemon of new Set(daemons)) {
      try {
        process.kill(daemon, 'SIGTERM');
      } catch {
        // gone
      }
    }
    await waitFor(() => daemons.every((daemon) => !isAlive(daemon)), 12_000, 'the daemon to stop').catch(() => killAll(daemons));
    const leftovers = [...this.extraPids, ...processesMentioning(this.dir)];
    await killAll([...leftovers, ...leftovers.flatMap(groupMembers)]);
    // GOTORCH_TEST_KEEP=DIR: a copy of each sandbox (logs, state, task file) is kept there to read after the run.
    const keep = process.env.GOTORCH_TEST_KEEP;
    if (keep) cpSync(this.dir, path.join(keep, path.basename(this.dir)), { recursive: true });
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return '';
  }
}

/** Creates sandboxes that are cleaned up after each test of the calling file. */
export function sandboxes(): (tasks?: string) => Sandbox {
  const made: Sandbox[] = [];
  afterEach(async () => {
    for (const box of made.splice(0)) await box.cleanup();
  });
  return (tasks) => {
    const box = new Sandbox(tasks);
    made.push(box);
    return box;
  };
}
