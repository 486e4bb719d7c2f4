/** What `gotorch status` shows (SPEC §4): the daemon, its last reload, and per task pids, last exit, next run. */
import { nextTaskFires, type JitterOf } from '../planner/jitter.js';
import type { FleetStatus } from '../fleet/etcd/fleet.js';
import type { RunRecord } from '../supervisor/run.js';
import type { SpawnerName } from '../supervisor/choose-spawner.js';
import type { TaskStatus } from '../supervisor/supervisor.js';
import type { Task } from '../tasks/types.js';
import { shownType } from '../tasks/http-options.js';
import type { TaskResults } from './task-results.js';
import type { TickLatenessSummary } from './tick-lateness.js';

export interface ReloadResult {
  readonly ok: boolean;
  readonly trigger: string;
  /** ms since the epoch. */
  readonly at: number;
  /** `added 2, changed 1, removed 1, unchanged 40`, when applied. */
  readonly summary?: string;
  /** Every error, as `file:line:column: message`, when rejected. */
  readonly errors?: readonly string[];
}

export interface TaskReport {
  readonly name: string;
  readonly type: string;
  readonly max: number | null;
  readonly schedule: string | null;
  /** False for a task no longer in the file whose jobs are still tracked (SPEC §5). */
  readonly current: boolean;
  readonly running: readonly { readonly pid: number | null; readonly run: string; readonly startedAt: number; readonly bytesLogged: number; readonly adopted: 'crash' | 'handover' | 'state file' | null }[];
  readonly lastExit: Pick<RunRecord, 'exitCode' | 'signal' | 'timedOut' | 'durationMs' | 'error'> & { readonly at: number } | null;
  /** SPEC §7: when the last successful run ended (ms), and the failed runs since it. */
  readonly lastSuccess: number | null;
  readonly failuresSinceSuccess: number;
  /** Unix seconds of the next fire (cron, jitter included) or window second (daemon), or null. */
  readonly next: number | null;
  /** SPEC §8: the task's jitter offset on this host in seconds (0 without jitter); null for a removed task. */
  readonly jitterOffsetS: number | null;
  /** SPEC §8: failed attempts waiting for their retry (the attempt it starts, when in ms). */
  readonly retries: readonly { readonly attempt: number; readonly at: number }[];
  /** SPEC §8 overlap=queue / replace: the scheduled second of the fire waiting for a slot, or null. */
  readonly waiting: number | null;
  /** `@at` tasks only: true once its second passed (it fired, or was past at load), so `next` is null for good. */
  readonly done?: boolean;
  /** SPEC §10 singleton tasks only: who holds it (`this host` or a host name; a cron task's latest fire), null while unknown. */
  readonly singleton?: string | null;
}

export interface StatusReport {
  readonly pid: number;
  readonly startedAt: number;
  readonly uptimeMs: number;
  readonly file: string;
  /** Where /metrics and /healthz are served (`host:port`, as `start --metrics` takes it), or null. */
  readonly metrics: string | null;
  readonly host: string;
  /** `--host-id` as the daemon was given it (or GOTORCH_HOST), null when it found its identity itself: `restart` passes it on. */
  readonly hostId: string | null;
  readonly tasksInFile: number;
  readonly lastReload: ReloadResult | null;
  /** How late the latest ticks woke after their second began; null before the first tick. */
  readonly ticks: TickLatenessSummary | null;
  /** SPEC §10: the fleet connection with `--etcd`, else null. */
  readonly fleet: FleetStatus | null;
  /** Optional engines this daemon loaded (`etcd3`, `@grpc/grpc-js`, `prom-client`): none without their options. */
  readonly loadedEngines: readonly string[];
  /** Issue 16: `native` (posix_spawn addon) or `child_process`, the one starting jobs. */
  readonly spawner: SpawnerName;
  /** The version of the gotorch this daemon runs (issue 17: an upgrade hands over to the one installed). */
  readonly version: string;
  /** Issue 17: the job keeper the daemon runs under (the default), else null (GOTORCH_KEEPER=off, or not built). */
  readonly keeper: { readonly pid: number; readonly socket: string } | null;
  readonly tasks: readonly TaskReport[];
}

export function taskReports(tasks: readonly Task[], statuses: readonly TaskStatus[], results: TaskResults, nowSecond: number, jitterOf: JitterOf, holderOf?: (task: Task) => string | null): TaskReport[] {
  const byId = new Map(statuses.map((status) => [status.id, status]));
  const reports: TaskReport[] = tasks.map((task) => {
    const row = report(task.id, shownType(task), byId.get(task.id), task, results, nowSecond, jitterOf);
    return task.options.singleton ? { ...row, singleton: holderOf?.(task) ?? null } : row;
  });
  const listed = new Set(tasks.map((task) => task.id));
  for (const status of statuses) if (!listed.has(status.id) && (status.running.length > 0 || status.retries.length > 0)) reports.push(report(status.id, status.type, status, undefined, results, nowSecond, jitterOf));
  return reports;
}

function report(name: string, type: string, status: TaskStatus | undefined, task: Task | undefined, results: TaskResults, nowSecond: number, jitterOf: JitterOf): TaskReport {
  const result = results.get(name);
  const last = result?.lastRecord;
  const offset = task ? jitterOf(task) : null;
  const next = task && offset !== null ? (nextTaskFires(task, offset, nowSecond, 1)[0] ?? null) : null;
  return {
    name,
    type,
    max: task?.max ?? null,
    schedule: task?.scheduleText ?? null,
    current: task !== undefined,
    running: (status?.running ?? []).map((run) => ({ pid: run.pid, run: run.run, startedAt: run.startedAt, bytesLogged: run.bytesLogged, adopted: run.adopted })),
    lastExit: last ? { exitCode: last.exitCode, signal: last.signal, timedOut: last.timedOut, durationMs: last.durationMs, error: last.error, at: last.startedAt + last.durationMs } : null,
    lastSuccess: result?.lastSuccessAt ?? null,
    failuresSinceSuccess: result?.failuresSinceSuccess ?? 0,
    next,
    ...(task?.schedule.kind === 'at' ? { done: next === null } : {}),
    jitterOffsetS: offset,
    retries: status?.retries ?? [],
    waiting: status?.waiting ?? null,
  };
}
