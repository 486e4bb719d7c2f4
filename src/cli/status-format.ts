/** `gotorch status` for people: the daemon, its last reload, and one row per task. */
import type { StatusReport, TaskReport } from '../daemon/status.js';
import { table } from './format.js';

export function duration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  const parts = [[Math.floor(seconds / 86_400), 'd'], [Math.floor(seconds / 3600) % 24, 'h'], [Math.floor(seconds / 60) % 60, 'm'], [seconds % 60, 's']] as const;
  const shown = parts.filter(([value]) => value > 0).slice(0, 2);
  return shown.length === 0 ? '0s' : shown.map(([value, unit]) => `${value}${unit}`).join(' ');
}

const clock = (ms: number): string => new Date(ms).toISOString().replace('T', ' ').slice(0, 19);

function lastExit(task: TaskReport): string {
  const last = task.lastExit;
  if (!last) return '-';
  const how = last.error ? `error` : last.signal ? last.signal : `exit ${last.exitCode}`;
  return `${how}${last.timedOut ? ' (timed out)' : ''}, ${duration(last.durationMs)}, ${clock(last.at)}`;
}

/** The pids running, then what waits (SPEC §8): `1234 (+1 waiting)`, `- (attempt 2 in 25s)`. */
function running(task: TaskReport, now: number): string {
  const pids = task.running.length === 0 ? '-' : task.running.map((run) => run.pid ?? (task.type === 'http' ? 'request' : '?')).join(',');
  const waits = [
    ...task.retries.map((retry) => `attempt ${retry.attempt} in ${duration(Math.max(0, retry.at - now))}`),
    ...(task.waiting === null ? [] : ['+1 waiting']),
  ];
  return waits.length === 0 ? pids : `${pids} (${waits.join(', ')})`;
}

/** SPEC §10: `fleet: default as web-1 on http://10.0.0.1:2379: etcd up, last keep-alive 2s ago (TTL 10s)`. */
function fleetLine(fleet: NonNullable<StatusReport['fleet']>): string {
  const alive = fleet.lastKeepAliveAgeMs === null ? 'no lease (reconnecting)' : `last keep-alive ${(fleet.lastKeepAliveAgeMs / 1000).toFixed(1)}s ago`;
  return `fleet: ${fleet.fleet} as ${fleet.host} on ${fleet.endpoints.join(',')}: etcd ${fleet.etcd}, ${alive} (TTL ${fleet.ttlMs / 1000}s)`;
}

export function formatStatus(status: StatusReport, now: number): string {
  const reload = status.lastReload;
  const lines = [
    `gotorch is running: pid ${status.pid}, up ${duration(status.uptimeMs)}${status.keeper ? ` under the job keeper (pid ${status.keeper.pid})` : ''}`,
    `task file: ${status.file} (${status.tasksInFile} tasks, ${status.tasks.filter((task) => task.current).length} for this host: ${status.host})`,
    ...(status.metrics ? [`metrics: http://${status.metrics}/metrics (health: /healthz)`] : []),
    ...(status.fleet ? [fleetLine(status.fleet)] : []),
    reload ? `last reload: ${clock(reload.at)} by ${reload.trigger}: ${reload.ok ? reload.summary : `rejected (${reload.errors?.length ?? 0} errors)`}` : 'last reload: none since start',
    '',
  ];
  const rows = [['NAME', 'TYPE', 'MAX', 'RUNNING', 'LAST EXIT', 'LAST OK', 'FAILS', 'NEXT (UTC)']];
  for (const task of status.tasks) {
    rows.push([
      task.current ? task.name : `${task.name} (removed)`,
      // SPEC §10: who holds a singleton task.
      task.singleton === undefined ? task.type : `${task.type} (singleton: ${task.singleton ?? 'holder unknown'})`,
      task.max === null ? '-' : String(task.max),
      running(task, now),
      lastExit(task),
      // SPEC §7: the last success and the failures since it (failures without a success: `-` and their count).
      task.lastSuccess === null ? '-' : `${duration(Math.max(0, now - task.lastSuccess))} ago`,
      String(task.failuresSinceSuccess),
      task.next === null ? (task.done ? 'done' : '-') : task.next * 1000 - now < 0 ? 'now' : clock(task.next * 1000),
    ]);
  }
  // Issue 17: jobs this daemon took over, with their original start and the output logged so far.
  const adopted = status.tasks.flatMap((task) => task.running.filter((run) => run.adopted !== null && run.adopted !== undefined).map((run) => `  ${task.name} pid ${run.pid ?? '?'}: adopted ${run.adopted === 'state file' ? 'from the state file' : `after a ${run.adopted}`}, started ${clock(run.startedAt)}, ${run.bytesLogged} bytes logged`));
  const adoptedLines = adopted.length === 0 ? '' : `\nadopted jobs:\n${adopted.join('\n')}\n`;
  return `${lines.join('\n')}\n${table(rows)}\n${adoptedLines}`;
}
