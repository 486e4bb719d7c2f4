/**
 * SPEC §10 registry: what one daemon says of itself under `gotorch/<fleet>/hosts/<host>`, built from
 * the daemon's view; `fleet status` reads these records and nothing else.
 */
import { GOTORCH_VERSION } from '../../version.js';
import type { ReloadResult } from '../../daemon/status.js';
import type { TaskResults } from '../../daemon/task-results.js';
import type { Supervisor } from '../../supervisor/supervisor.js';
import type { Task } from '../../tasks/types.js';

export interface HostRecord {
  readonly host: string;
  readonly addresses: readonly string[];
  readonly pid: number;
  readonly version: string;
  /** ms since the epoch. */
  readonly startedAt: number;
  readonly writtenAt: number;
  readonly uptimeMs: number;
  readonly taskFile: string;
  /** The task file's SHA-256 (every file and include): hosts with another one show as drift. */
  readonly digest: string;
  /** The names of the tasks that apply to this host. */
  readonly tasks: readonly string[];
  readonly running: readonly { readonly task: string; readonly pid: number | null; readonly run: string; readonly startedAt: number }[];
  readonly lastReload: ReloadResult | null;
  /** Per task that ran since this daemon started: its last result (`ok`, `exit 1`, …) and when it ended (ms). */
  readonly lastResults: Readonly<Record<string, { readonly result: string; readonly at: number }>>;
}

/**
 * What is stored under `hosts/<host>`, rewritten at most once a second while runs start and end: the
 * record without its task names, which only a reload changes and which are the bulk of it (10,000
 * tasks: 139 KB of names), stored apart under `tasks/<host>` (HostTasks) when they change.
 */
export type StoredHostRecord = Omit<HostRecord, 'tasks'> & { readonly taskCount: number };

/** `tasks/<host>`: the names of the tasks that apply to this host, for the file with this digest. */
export interface HostTasks {
  readonly digest: string;
  readonly tasks: readonly string[];
}

/** What the record is made of: the daemon provides it (src/daemon/daemon.ts). */
export interface HostFacts {
  readonly host: string;
  readonly addresses: readonly string[];
  readonly taskFile: string;
  readonly startedAt: number;
  readonly now: () => number;
  readonly schedule: () => { readonly loaded: { readonly digest: string }; readonly applicable: readonly Task[] };
  readonly lastReload: () => ReloadResult | null;
  readonly supervisor: Pick<Supervisor, 'snapshot'>;
  readonly results: Pick<TaskResults, 'get'>;
}

export { GOTORCH_VERSION };

export function hostTasks(facts: HostFacts): HostTasks {
  const { loaded, applicable } = facts.schedule();
  return { digest: loaded.digest, tasks: applicable.map((task) => task.id) };
}

/** `fleet status` reads both keys of a host: the record and its task names (none yet: an empty list). */
export function joinHostRecord(stored: StoredHostRecord, tasks: HostTasks | undefined): HostRecord {
  const { taskCount: _count, ...record } = stored;
  return { ...record, tasks: tasks?.tasks ?? [] };
}

export function hostRecord(facts: HostFacts): StoredHostRecord {
  const now = facts.now();
  const { loaded, applicable } = facts.schedule();
  const snapshot = facts.supervisor.snapshot();
  const lastResults: Record<string, { result: string; at: number }> = {};
  for (const name of new Set([...applicable.map((task) => task.id), ...snapshot.map((status) => status.id)])) {
    const result = facts.results.get(name);
    if (result) lastResults[name] = { result: result.lastResult, at: result.lastRecord.startedAt + result.lastRecord.durationMs };
  }
  return {
    host: facts.host,
    addresses: facts.addresses,
    pid: process.pid,
    version: GOTORCH_VERSION,
    startedAt: facts.startedAt,
    writtenAt: now,
    uptimeMs: now - facts.startedAt,
    taskFile: facts.taskFile,
    digest: loaded.digest,
    taskCount: applicable.length,
    running: snapshot.flatMap((status) => status.running.map((run) => ({ task: status.id, pid: run.pid, run: run.run, startedAt: run.startedAt }))),
    lastReload: facts.lastReload(),
    lastResults,
  };
}
