/** `gotorch check` (SPEC §4): validate like `nginx -t`; list the tasks for a host and their next fire times. */
import { applicableTasks, HostList } from '../fleet/host-list.js';
import { singletonWarnings } from '../fleet/singleton/without-fleet.js';
import { describeIdentity, hostName, resolveIdentity } from '../fleet/identity.js';
import { hostJitter, nextTaskFires } from '../planner/jitter.js';
import { formatErrors, formatWarnings, loadTaskFile, type LoadResult } from '../tasks/load.js';
import type { Task } from '../tasks/types.js';
import { shownType } from '../tasks/http-options.js';
import { fleetMatrix, formatMatrix, parseHostsOption, readHostsFile } from './fleet-view.js';
import { formatInstant, formatJitter, table, zoneAsWritten } from './format.js';
import type { CommonOptions } from './main.js';

export interface CheckOptions {
  readonly next: string;
  readonly json?: boolean;
  /** Fleet view: `web-1=10.0.1.5,web-2=10.0.1.6`. */
  readonly hosts?: string;
  /** Fleet view from a file: `name address ...` per line. */
  readonly hostsFile?: string;
}

/** Warnings go to stderr with the errors (stdout stays the listing); they never change the exit code. */
function printWarnings(loaded: LoadResult): void {
  if (loaded.warnings.length > 0) process.stderr.write(`${formatWarnings(loaded.warnings)}\n`);
}

const warningCount = (loaded: LoadResult): string => (loaded.warnings.length > 0 ? `; ${loaded.warnings.length} warning(s)` : '');

export async function checkCommand(common: CommonOptions, options: CheckOptions): Promise<number> {
  // Decimal digits only: Number() would also take 0x10, 1e2, " 5" and "".
  const count = /^\d{1,4}$/.test(options.next) ? Number(options.next) : NaN;
  if (Number.isNaN(count) || count > 1000) {
    process.stderr.write(`gotorch: --next "${options.next}" must be a whole number from 0 to 1000, in decimal digits (e.g. --next 5)\n`);
    return 2;
  }
  const fleetView = options.hosts !== undefined || options.hostsFile !== undefined;
  const identity = resolveIdentity(common.hostId);
  // cwd, shell and user are facts of this machine: check them for the tasks it would run, and for
  // none in the fleet view, which is about other hosts.
  const read = await loadTaskFile(common.tasks, (task) => !fleetView && new HostList(task.hosts).appliesTo(identity));
  // SPEC §10: `check` has no --etcd; GOTORCH_ETCD says whether the daemons of this shell have a fleet.
  const loaded = process.env.GOTORCH_ETCD ? read : { ...read, warnings: [...read.warnings, ...singletonWarnings(read.tasks)] };
  if (loaded.errors.length > 0) {
    if (options.json) {
      process.stdout.write(JSON.stringify({ file: common.tasks, ok: false, errors: loaded.errors, warnings: loaded.warnings }, null, 2) + '\n');
    } else {
      process.stderr.write(`${formatErrors(loaded.errors)}\n`);
      printWarnings(loaded);
      process.stderr.write(`${common.tasks}: ${loaded.errors.length} error(s)${warningCount(loaded)}; nothing was applied\n`);
    }
    return 1;
  }
  if (fleetView) {
    const hosts = [...(options.hosts ? parseHostsOption(options.hosts) : []), ...(options.hostsFile ? await readHostsFile(options.hostsFile) : [])];
    const matrix = fleetMatrix(loaded.tasks, hosts, Math.floor(Date.now() / 1000));
    if (options.json) {
      process.stdout.write(JSON.stringify({ file: common.tasks, ok: true, ...matrix, warnings: loaded.warnings }, null, 2) + '\n');
    } else {
      process.stdout.write(`${common.tasks}: ok, ${loaded.tasks.length} task(s) for ${hosts.length} host(s)${warningCount(loaded)}\n\n${formatMatrix(matrix)}`);
      printWarnings(loaded);
    }
    return 0;
  }
  const applicable = applicableTasks(loaded.tasks, identity);
  const host = describeIdentity(identity, common.hostId);
  const now = Math.floor(Date.now() / 1000);
  // SPEC §8: the times shown are the shifted ones, for this host's name.
  const jitterOf = hostJitter(hostName(common.hostId));
  const upcoming = (task: Task): number[] => nextTaskFires(task, jitterOf(task), now, count);
  if (options.json) {
    const tasks = applicable.map((task) => ({
      name: task.id,
      type: shownType(task),
      max: task.max,
      schedule: task.scheduleText,
      zone: zoneAsWritten(task.zone),
      hosts: task.hosts,
      command: task.command,
      location: `${task.location.file}:${task.location.line}`,
      jitterOffsetS: jitterOf(task),
      next: upcoming(task).map((second) => new Date(second * 1000).toISOString()),
    }));
    const otherHosts = loaded.tasks.filter((task) => !applicable.includes(task)).map((task) => task.id);
    process.stdout.write(JSON.stringify({ file: common.tasks, ok: true, host, tasks, otherHosts, warnings: loaded.warnings }, null, 2) + '\n');
    return 0;
  }
  const rows: string[][] = [['NAME', 'TYPE', 'MAX', 'SCHEDULE', 'ZONE', 'JITTER', 'NEXT']];
  for (const task of applicable) {
    const next = upcoming(task).map((second) => formatInstant(second, task.zone));
    const first = task.schedule.kind === 'reboot' ? 'at boot' : task.type === 'daemon' ? (next.length ? `window ${next[0]}` : 'never') : (next[0] ?? (task.schedule.kind === 'at' ? 'done' : 'never'));
    rows.push([task.id, shownType(task), String(task.max), task.scheduleText, zoneAsWritten(task.zone), formatJitter(task, jitterOf(task)), count === 0 ? '' : first]);
    for (const later of task.type === 'daemon' ? [] : next.slice(1)) rows.push(['', '', '', '', '', '', later]);
  }
  const skipped = loaded.tasks.length - applicable.length;
  process.stdout.write(
    `${common.tasks}: ok, ${loaded.tasks.length} task(s) in ${loaded.files.length} file(s); ${applicable.length} apply to ${host}` +
      (skipped > 0 ? ` (${skipped} for other hosts)` : '') +
      warningCount(loaded) +
      '\n\n' +
      table(rows) +
      '\n',
  );
  printWarnings(loaded);
  return 0;
}
