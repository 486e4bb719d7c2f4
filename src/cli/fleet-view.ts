/**
 * `gotorch check --hosts` (fleet view): which listed host runs which task, so a reviewer sees what a
 * commit changes per host before it is deployed. Hosts come from `--hosts` or from a file, one per line
 * (`name address address`, `#` comments).
 */
import { readFile } from 'node:fs/promises';
import { HostList, type HostIdentity } from '../fleet/host-list.js';
import { parseAddress } from '../fleet/address.js';
import { identityFromList } from '../fleet/identity.js';
import type { Task } from '../tasks/types.js';
import { table } from './format.js';

export interface FleetHost {
  readonly name: string;
  readonly identity: HostIdentity;
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
  return hosts.map((host) => ({ name: host.name, identity: identityFromList(host.items.join(',')) }));
}

export async function readHostsFile(file: string): Promise<FleetHost[]> {
  const text = await readFile(file, 'utf8');
  return text
    .split('\n')
    .map((line) => line.replace(/#.*/, '').trim())
    .filter(Boolean)
    .map((line) => {
      const [name, ...addresses] = line.split(/[\s,]+/);
      return { name, identity: identityFromList([name, ...addresses].join(',')) };
    });
}

export interface FleetMatrix {
  readonly hosts: readonly string[];
  readonly tasks: readonly { readonly name: string; readonly type: string; readonly hosts: readonly string[] }[];
  /** Tasks that no listed host runs: a typo in a host list, or a host missing from the list. */
  readonly unmatched: readonly string[];
}

export function fleetMatrix(tasks: readonly Task[], hosts: readonly FleetHost[]): FleetMatrix {
  const rows = tasks.map((task) => {
    const list = new HostList(task.hosts);
    return { name: task.id, type: task.type, hosts: hosts.filter((host) => list.appliesTo(host.identity)).map((host) => host.name) };
  });
  return { hosts: hosts.map((host) => host.name), tasks: rows, unmatched: rows.filter((row) => row.hosts.length === 0).map((row) => row.name) };
}

export function formatMatrix(matrix: FleetMatrix): string {
  const header = ['TASK', 'TYPE', ...matrix.hosts];
  const rows = matrix.tasks.map((task) => [task.name, task.type, ...matrix.hosts.map((host) => (task.hosts.includes(host) ? 'x' : '.'))]);
  const totals = ['(tasks per host)', '', ...matrix.hosts.map((host) => String(matrix.tasks.filter((task) => task.hosts.includes(host)).length))];
  const warnings = matrix.unmatched.map((name) => `warning: task "${name}" runs on none of the listed hosts`);
  return [table([header, ...rows, totals]), ...warnings].join('\n') + '\n';
}
