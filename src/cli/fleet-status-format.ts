/** `gotorch fleet status` (SPEC §10): one row per live host, drift flagged; `--tasks`: task × host. */
import type { HostRecord } from '../fleet/etcd/host-record.js';
import { table } from './format.js';
import { duration } from './status-format.js';

export interface FleetView {
  readonly fleet: string;
  /** The digest most hosts run; a host with another one drifts. */
  readonly commonDigest: string | null;
  readonly hosts: readonly (HostRecord & { readonly drift: boolean })[];
}

/** Since when a host runs its digest, as far as its record tells: its last applied reload, else its start. */
const runsSince = (record: HostRecord): number => (record.lastReload?.ok === true ? record.lastReload.at : record.startedAt);

/**
 * Hosts by name, and the digest most hosts run. On a tie, the one some host has run the longest: the
 * hosts that changed last are the ones that drift (then by value, so the answer is stable).
 */
export function fleetView(fleet: string, records: readonly HostRecord[]): FleetView {
  const groups = new Map<string, { count: number; since: number }>();
  for (const record of records) {
    const group = groups.get(record.digest) ?? { count: 0, since: Infinity };
    groups.set(record.digest, { count: group.count + 1, since: Math.min(group.since, runsSince(record)) });
  }
  const common = [...groups.entries()].sort(([a, x], [b, y]) => y.count - x.count || x.since - y.since || a.localeCompare(b))[0]?.[0] ?? null;
  const hosts = [...records].sort((a, b) => a.host.localeCompare(b.host)).map((record) => ({ ...record, drift: groups.size > 1 && record.digest !== common }));
  return { fleet, commonDigest: common, hosts };
}

const short = (digest: string): string => digest.slice(0, 12);

function reload(record: HostRecord): string {
  const last = record.lastReload;
  if (!last) return 'none since start';
  return last.ok ? `ok (${last.summary ?? ''})` : `rejected (${last.errors?.length ?? 0} errors)`;
}

export function formatFleetStatus(view: FleetView, now: number): string {
  if (view.hosts.length === 0) return `no live host in fleet "${view.fleet}"\n`;
  const rows = [['HOST', 'PID', 'VERSION', 'UP', 'DIGEST', 'TASKS', 'RUNNING', 'LAST RELOAD']];
  for (const host of view.hosts) {
    rows.push([
      host.host,
      String(host.pid),
      host.version,
      duration(Math.max(0, now - host.startedAt)),
      host.drift ? `${short(host.digest)} drift` : short(host.digest),
      String(host.tasks.length),
      String(host.running.length),
      reload(host),
    ]);
  }
  const drifting = view.hosts.filter((host) => host.drift).length;
  const summary = `fleet "${view.fleet}": ${view.hosts.length} live host(s)${drifting > 0 ? `, ${drifting} with another task file than ${short(view.commonDigest ?? '')} (drift)` : ''}`;
  return `${summary}\n${table(rows)}\n`;
}

/** A cell: `.` where the task does not apply; else the running pids (or `-`) and the last result. */
function cell(host: HostRecord, task: string): string {
  const pids = host.running.filter((run) => run.task === task).map((run) => run.pid ?? 'request');
  const last = host.lastResults[task]?.result;
  if (!host.tasks.includes(task) && pids.length === 0) return '.';
  return `${pids.length === 0 ? '-' : pids.join(',')}${last ? ` ${last}` : ''}`;
}

export function formatFleetTasks(view: FleetView): string {
  const names = [...new Set(view.hosts.flatMap((host) => [...host.tasks, ...host.running.map((run) => run.task)]))].sort();
  const rows = [['TASK', ...view.hosts.map((host) => host.host)], ...names.map((name) => [name, ...view.hosts.map((host) => cell(host, name))])];
  return `${table(rows)}\n(cells: running pids ("request": an HTTP task's request in flight) or -, then the last result; . where the task does not apply)\n`;
}
