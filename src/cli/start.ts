/** `gotorch start`, `stop`, `quit`, `restart` (SPEC §4): through the pidfile and signals. */
import path from 'node:path';
import { socketPathProblem, type NextDaemonOptions } from '../daemon/control-server.js';
import { isGotorchProcess, readPid } from '../daemon/pidfile.js';
import { runtimePaths, type RuntimePaths } from '../daemon/paths.js';
import { fleetArgs, fleetOptionsFrom, type FleetOptions, type GivenFleetOptions } from '../fleet/etcd/fleet-options.js';
import { formatListenAddress, parseListenAddress, type ListenAddress } from '../metrics/listen-address.js';
import { formatErrors, loadTaskFile } from '../tasks/load.js';
import type { StatusReport } from '../daemon/status.js';
import { request } from './control-client.js';
import { daemonStatus } from './control-commands.js';
import { keeperExecutable } from '../supervisor/native-addon.js';
import { daemonize, keeperArgs, keeperFolderUsable } from './daemonize.js';
import type { CommonOptions } from './main.js';

/** The live daemon holding the pidfile, if any. */
export function runningPid(paths: RuntimePaths): number | undefined {
  const pid = readPid(paths.pidfile);
  return pid !== undefined && isGotorchProcess(pid) ? pid : undefined;
}

function fail(reason: string, code = 1): number {
  process.stderr.write(`gotorch: ${reason}\n`);
  return code;
}

export interface StartOptions extends GivenFleetOptions {
  readonly foreground?: boolean;
  readonly daemonChild?: boolean;
  /** Issue 17: given by a handover to the next daemon (handover.ts). */
  readonly takeOver?: boolean;
  /** SPEC §9 `--metrics [host:]port`, validated by the command line. */
  readonly metrics?: ListenAddress;
}

/** SPEC §10 options as given; a contradiction (TLS files without --etcd) is a usage error. */
export function fleetOptions(options: GivenFleetOptions): FleetOptions | undefined | { usage: string } {
  try {
    return fleetOptionsFrom(options);
  } catch (error) {
    return { usage: (error as Error).message };
  }
}

export async function startCommand(common: CommonOptions, options: StartOptions, fleetGiven?: FleetOptions): Promise<number> {
  const paths = runtimePaths(common);
  const fleet = fleetGiven ?? fleetOptions(options);
  if (fleet !== undefined && 'usage' in fleet) return fail(fleet.usage, 2);
  // Refused before anything is claimed or created (the daemon checks again before it listens).
  const socketProblem = socketPathProblem(paths.socket);
  if (socketProblem !== undefined) return fail(socketProblem);
  // Absolute in every mode: status reports it, and reload and restart from any folder use it (SPEC §4).
  const daemonOptions = { tasksFile: path.resolve(common.tasks), paths, hostId: common.hostId, metrics: options.metrics, fleet, takeOver: options.takeOver };
  if (options.daemonChild || options.foreground) {
    // `node .../main.js start -f` without the daemon's node flags: exec'ed again with them (same pid).
    // Issue 17: a foreground daemon becomes the job keeper in place first (when it is built), which starts it again beneath.
    const keeperFile = options.foreground && process.env.GOTORCH_KEEPER_SOCKET === undefined && keeperFolderUsable(paths) ? keeperExecutable() : undefined;
    const flags = options.foreground ? await import('../daemon/node-flags.js') : undefined;
    const notKept = keeperFile === undefined ? undefined : flags?.execUnderKeeper(keeperFile, keeperArgs(paths));
    if (notKept !== undefined) process.stderr.write(`gotorch: ${notKept}\n`);
    const withoutFlags = flags?.execWithDaemonFlags();
    if (withoutFlags !== undefined) process.stderr.write(`gotorch: ${withoutFlags}\n`);
    const { foregroundReadiness, pipeReadiness, quietReadiness, runDaemonProcess } = await import('../daemon/process.js');
    // Under the job keeper (issue 17): the readiness pipe is the first daemon's only, and the jobs' pipes it holds are kept.
    const keeper = process.env.GOTORCH_KEEPER_SOCKET !== undefined;
    const readyFd = keeper ? Number(process.env.GOTORCH_READY_FD ?? -1) : 3;
    const heldFds = keeper ? (process.env.GOTORCH_KEEPER_FDS ?? '').split(',').filter(Boolean).map(Number) : [];
    // Nothing the caller's shell left open stays open here or reaches a job; the readiness pipe moves to a close-on-exec descriptor.
    const kept = (await import('../daemon/descriptors.js')).closeInheritedDescriptors(options.daemonChild && readyFd >= 0 ? [readyFd] : [], heldFds);
    const keeperFds = new Map([...kept].filter(([fd]) => heldFds.includes(fd)));
    if (options.daemonChild) return runDaemonProcess({ ...daemonOptions, stdoutLogs: false, keeperFds }, readyFd >= 0 ? pipeReadiness(kept.get(readyFd) ?? readyFd) : quietReadiness);
    return runDaemonProcess({ ...daemonOptions, stdoutLogs: true, keeperFds }, foregroundReadiness);
  }
  // SPEC §4 validates first: the child does, before it claims the pidfile, and reports every error here.
  const live = runningPid(paths);
  if (live !== undefined) return fail(`gotorch is already running (pid ${live}, pidfile ${paths.pidfile})`);
  const args = ['--tasks', daemonOptions.tasksFile, '--pidfile', paths.pidfile, '--log-dir', paths.logDir, ...(common.hostId ? ['--host-id', common.hostId] : [])];
  const started = await daemonize(args, paths, daemonStartArgs(options.metrics, fleet));
  if (!started.ok) return fail(started.reason);
  process.stdout.write(`gotorch started (pid ${started.pid})\n`);
  return 0;
}

/** `start`'s own options (metrics, fleet) as arguments again: for the daemon it forks, and for a systemd unit. */
export function daemonStartArgs(metrics: ListenAddress | undefined, fleet: FleetOptions | undefined): string[] {
  return [...(metrics ? ['--metrics', formatListenAddress(metrics)] : []), ...(fleet ? fleetArgs(fleet) : [])];
}

async function waitUntilGone(pid: number): Promise<void> {
  while (isGotorchProcess(pid)) await new Promise((resolve) => setTimeout(resolve, 50));
}

/** SPEC §4 stop (SIGTERM) and quit (SIGQUIT): signal, then wait until the daemon is gone. */
export async function signalCommand(common: CommonOptions, signal: 'SIGTERM' | 'SIGQUIT'): Promise<number> {
  const paths = runtimePaths(common);
  const pid = runningPid(paths);
  if (pid === undefined) {
    // LSB: stopping a service that is not running succeeds.
    process.stdout.write(`gotorch is not running (pidfile ${paths.pidfile}); nothing to ${signal === 'SIGTERM' ? 'stop' : 'quit'}\n`);
    return 0;
  }
  try {
    process.kill(pid, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') throw error;
    return fail(`permission denied: cannot signal the daemon (pid ${pid}, pidfile ${paths.pidfile}), which runs as another user; run gotorch as that user`);
  }
  await waitUntilGone(pid);
  process.stdout.write(`gotorch ${signal === 'SIGTERM' ? 'stopped' : 'quit'} (pid ${pid})\n`);
  return 0;
}

/**
 * Validates before stopping: a bad file must not turn a restart into an outage. Without `-c`, the file
 * is the one the running daemon runs, not `./tasks.conf`; without `--metrics`, the daemon's metrics
 * address stays what it was.
 */
export async function restartCommand(common: CommonOptions, options: Omit<StartOptions, 'foreground' | 'daemonChild'>): Promise<number> {
  const paths = runtimePaths(common);
  let fleet = fleetOptions(options);
  if (fleet !== undefined && 'usage' in fleet) return fail(fleet.usage, 2);
  // What start would refuse is refused before the running daemon is stopped.
  const socketProblem = socketPathProblem(paths.socket);
  if (socketProblem !== undefined) return fail(socketProblem);
  const pid = runningPid(paths);
  let tasks = common.tasks;
  let metrics = options.metrics;
  let hostId = common.hostId;
  let keeperStatus: StatusReport | null = null;
  const needed = !common.tasksGiven || metrics === undefined || fleet === undefined || hostId === undefined;
  // Asked always (issue 17: a daemon under the job keeper hands over); needed only for what was not given.
  const status = pid === undefined ? undefined : await daemonStatus(common).catch((error: Error) => error);
  if (status instanceof Error && needed) return fail(`cannot ask the daemon (pid ${pid}) what it runs (${status.message}); name the task file with -c (and the metrics address with --metrics)`);
  if (status !== undefined && !(status instanceof Error)) {
    if (status.keeper) keeperStatus = status;
    if (!common.tasksGiven) tasks = status.file;
    // A daemon older than metrics has no such field.
    if (metrics === undefined && status.metrics) metrics = parseListenAddress(status.metrics);
    // A daemon older than the fleet has no such field.
    if (fleet === undefined && status.fleet) fleet = { endpoints: status.fleet.endpoints, fleet: status.fleet.fleet, ttlMs: status.fleet.ttlMs, tls: status.fleet.tls };
    // A daemon older than this field has none: the new one finds its identity itself, as before.
    if (hostId === undefined && status.hostId) hostId = status.hostId;
  }
  const loaded = await loadTaskFile(tasks);
  if (loaded.errors.length > 0) {
    return fail(`${tasks} rejected, ${pid !== undefined ? 'the running daemon was left alone' : 'nothing started'}:\n${formatErrors(loaded.errors)}`);
  }
  // Issue 17: under the job keeper a restart is a handover: no job notices.
  if (pid !== undefined && keeperStatus !== null) {
    // Options the daemon does not have go to the next daemon's command (the keeper keeps it for a later crash too).
    const changed = changedOptions(keeperStatus, { tasks: path.resolve(tasks), metrics, hostId, fleetGiven: fleetOptions(options) !== undefined });
    return handoverCommand(common, 'restart', changed ? { tasks: path.resolve(tasks), hostId: hostId ?? null, start: daemonStartArgs(metrics, fleet) } : undefined);
  }
  if (pid !== undefined) {
    const stopped = await signalCommand(common, 'SIGTERM');
    if (stopped !== 0) return stopped;
  }
  return startCommand({ ...common, tasks, hostId }, { metrics }, fleet);
}

/** Whether a restart under the keeper was given options the running daemon does not have (else it hands over with its own). */
function changedOptions(status: StatusReport, given: { tasks: string; metrics: ListenAddress | undefined; hostId: string | undefined; fleetGiven: boolean }): boolean {
  if (given.tasks !== status.file) return true;
  if (given.metrics !== undefined && formatListenAddress(given.metrics) !== status.metrics) return true;
  if (given.hostId !== undefined && given.hostId !== (status.hostId ?? undefined)) return true;
  return given.fleetGiven;
}

/** Issue 17: `restart` (under the keeper) and `upgrade`: the running daemon hands over to a next one; jobs keep running. */
export async function handoverCommand(common: CommonOptions, verb: 'restart' | 'upgrade', options?: NextDaemonOptions): Promise<number> {
  const paths = runtimePaths(common);
  const pid = runningPid(paths);
  if (pid === undefined) return fail(`gotorch is not running (pidfile ${paths.pidfile}); nothing to ${verb}${verb === 'upgrade' ? ': start it' : ''}`);
  const answer = await request(paths.socket, options === undefined ? { cmd: 'handover' } : { cmd: 'handover', options }, 120_000).catch((error: Error) => ({ ok: false as const, error: error.message }));
  if (!answer.ok) return fail(`${verb} failed: ${answer.error}`);
  const next = Number(answer.pid);
  // Answered once the old daemon let go: returns when the next one holds the pidfile and answers, so a `status` right after finds it.
  const answering = await answersAs(paths, next, HANDOVER_SETTLE_MS);
  const note = answering ? '' : ` (it did not answer on ${paths.socket} within ${HANDOVER_SETTLE_MS / 1000} s; see ${paths.logDir}/gotorch.log)`;
  process.stdout.write(`gotorch ${verb === 'upgrade' ? 'upgraded' : 'restarted'}: pid ${pid} handed over to pid ${next}; running jobs kept${note}\n`);
  return 0;
}

/** How long `restart`/`upgrade` wait for the next daemon to hold the pidfile and answer after the old one let go. */
const HANDOVER_SETTLE_MS = 10_000;

async function answersAs(paths: RuntimePaths, pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (runningPid(paths) === pid) {
      const answer = await request(paths.socket, { cmd: 'status' }, 2000).catch(() => undefined);
      if (answer?.ok === true && (answer.status as { pid?: number } | undefined)?.pid === pid) return true;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return false;
}
