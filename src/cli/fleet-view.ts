/**
 * `gotorch check --hosts` (fleet view): which listed host runs which task, so a reviewer sees what a
 * commit changes per host before it is deployed. Hosts come from `--hosts` or from a file, one per line
 * (`name address address`, `#` comments). A task with `jitter=` fires at another second on each host
 * (SPEC §8): the view shows each host's offset and shifted next fire.
 */
import { readFile } from 'node:fs/promises';
import { HostList, type HostIdentity } from '../fleet/host-list.js';
import { parseAddress } from '../fleet/address.js';
import { hostName, identityFromList } from '../fleet/identity.js';
import { jitterOffset, nextTaskFires } from '../planner/jitter.js';
import type { Task } from '../tasks/types.js';
import { formatInstant, table, zoneAsWritten } from './format.js';

export interface FleetHost {
  readonly name: string;
  readonly identity: HostIdentity;
  /** The name its daemon hashes for jitter, were it given the same list as `--host-id`. */
  readonly hostName: string;
}

function fleetHost(name: string, items: readonly string[]): FleetHost {
  const list = items.join(',');
  return { name, identity: identityFromList(list), hostName: hostName(list) };
}

/**
 * `web-1=10.0.1.5,web-2=10.0.1.6,fd00::6,db-1`: `name=address` starts a host, a further address belongs
 * to the host before it, and a bare name is a host known by its name alone.
 */
export function parseHostsOption(text: string): FleetHost[] {
  const hosts: { name: string; items: string[] }[] = [];
  for (const item of text.split(/[,;\s]+/).filter(Boolean)) {
    const equals = item.indexOf('=');
    if (equals > 0) hosts.push({ name: item.slice(0, equals), items: [item.slice(0, equals), item.slice(equals + 1)] });
    else if (parseAddress(item) && hosts.length > 0) hosts[hosts.length - 1].items.push(item);
    else hosts.push({ name: item, items: [item] });
  }
  return hosts.map((host) => fleetHost(host.name, host.items));
}

export async function readHostsFile(file: string): Promise<FleetHost[]> {
  const text = await readFile(file, 'utf8');
  return text
    .split('\n')
    .map((line) => line.replace(/#.*/, '').trim())
    .filter(Boolean)
    .map((line) => {
      const [name, ...addresses] = line.split(/[\s,]+/);
      return fleetHost(name, [name, ...addresses]);
    });
}

/** A jittered task on one host: its offset there and its next (shifted) fire, ISO time or null. */
export interface HostJitter {
  readonly host: string;
  readonly jitterOffsetS: number;
  readonly next: string | null;
}

export interface FleetMatrix {
  readonly hosts: readonly string[];
  readonly tasks: readonly {
    readonly name: string;
    readonly type: string;
    readonly hosts: readonly string[];
    /** For a task with `jitter=`: the zone of its schedule, and per host that runs it its offset and next fire. */
    readonly zone?: string;
    readonly jitter?: readonly HostJitter[];
  }[];
  /** Tasks that no listed host runs: a typo in a host list, or a host missing from the list. */
  readonly unmatched: readonly string[];
}

/** `now`: Unix seconds the next fires are shown after. */
export function fleetMatrix(tasks: readonly Task[], hosts: readonly FleetHost[], now: number): FleetMatrix {
  const rows = tasks.map((task) => {
    const list = new HostList(task.hosts);
    const running = hosts.filter((host) => list.appliesTo(host.identity));
    const row = { name: task.id, type: task.type, hosts: running.map((host) => host.name) };
    if (task.options.jitterS === 0) return row;
    const jitter = running.map((host) => {
      const offset = jitterOffset(task.id, host.hostName, task.options.jitterS);
      const next = nextTaskFires(task, offset, now, 1)[0];
      return { host: host.name, jitterOffsetS: offset, next: next === undefined ? null : new Date(next * 1000).toISOString() };
    });
    return { ...row, zone: zoneAsWritten(task.zone), jitter };
  });
  return { hosts: hosts.map((host) => host.name), tasks: rows, unmatched: rows.filter((row) => row.hosts.length === 0).map((row) => row.name) };
}

/** A cell: `.` (not run there), `x`, or for a jittered task its offset on that host (`+37s`). */
function cell(task: FleetMatrix['tasks'][number], host: string): string {
  if (!task.hosts.includes(host)) return '.';
  const jitter = task.jitter?.find((entry) => entry.host === host);
  return jitter ? `+${jitter.jitterOffsetS}s` : 'x';
}

export function formatMatrix(matrix: FleetMatrix): string {
  const header = ['TASK', 'TYPE', ...matrix.hosts];
  const rows = matrix.tasks.map((task) => [task.name, task.type, ...matrix.hosts.map((host) => cell(task, host))]);
  const totals = ['(tasks per host)', '', ...matrix.hosts.map((host) => String(matrix.tasks.filter((task) => task.hosts.includes(host)).length))];
  const warnings = matrix.unmatched.map((name) => `warning: task "${name}" runs on none of the listed hosts`);
  const shifted = matrix.tasks.flatMap((task) =>
    (task.jitter ?? []).map((entry) => [task.name, entry.host, `+${entry.jitterOffsetS}s`, entry.next === null ? 'never' : formatInstant(Date.parse(entry.next) / 1000, task.zone ?? 'UTC')]),
  );
  const jitter = shifted.length === 0 ? [] : ['', 'jitter (SPEC §8): each host fires these tasks at its own offset', table([['TASK', 'HOST', 'JITTER', 'NEXT'], ...shifted])];
  return [table([header, ...rows, totals]), ...warnings, ...jitter].join('\n') + '\n';
}
