/** Fleet tests: daemons in their own sandboxes, each a host by `--host-id` on loopback, and one real etcd. */
import { procTable } from '../../../src/supervisor/process-table.js';
import { commandLine, type CliResult, type Sandbox } from '../../control/sandbox.js';
import type { EtcdServer } from '../../helpers/etcd.js';
import { runCli, waitFor } from '../../helpers/processes.js';

export interface FleetHost {
  readonly name: string;
  readonly box: Sandbox;
  readonly pid: number;
}

/**
 * The host dies: its job keeper (issue 17: the daemon's parent, which would start it again) and its daemon,
 * by SIGKILL. Returns the pids killed.
 */
export function killHost(host: FleetHost): number[] {
  const parent = procTable.stat(host.pid)?.parent;
  const keeper = parent !== undefined && commandLine(parent).includes('gotorch_keeper') ? [parent] : [];
  for (const pid of [...keeper, host.pid]) process.kill(pid, 'SIGKILL');
  return [...keeper, host.pid];
}

let fleets = 0;
/** A fleet name of its own per test: one etcd serves the whole file. */
export const newFleet = (): string => `t${process.pid}-${++fleets}`;

export async function startHost(box: Sandbox, etcd: EtcdServer, fleet: string, name: string, lines: readonly string[], ttl = '3s', extra: readonly string[] = [], env: NodeJS.ProcessEnv = {}): Promise<FleetHost> {
  box.write(lines);
  const pid = await box.startWithEnv(env, '--host-id', name, '--etcd', etcd.url, '--fleet', fleet, '--fleet-ttl', ttl, ...extra);
  return { name, box, pid };
}

export async function fleetCli(etcd: EtcdServer, fleet: string, ...args: string[]): Promise<CliResult> {
  const run = runCli(['fleet', ...args, '--etcd', etcd.url, '--fleet', fleet]);
  const code = await run.closed;
  return { code, stdout: run.stdout(), stderr: run.stderr() };
}

export interface FleetJson {
  readonly fleet: string;
  readonly commonDigest: string | null;
  readonly hosts: readonly {
    readonly host: string;
    readonly pid: number;
    readonly digest: string;
    readonly drift: boolean;
    readonly tasks: readonly string[];
    readonly running: readonly { readonly task: string; readonly pid: number | null }[];
    readonly lastResults: Readonly<Record<string, { readonly result: string }>>;
  }[];
}

export async function fleetJson(etcd: EtcdServer, fleet: string): Promise<FleetJson> {
  const result = await fleetCli(etcd, fleet, 'status', '--json');
  if (result.code !== 0) throw new Error(`fleet status failed (${result.code}): ${result.stdout}${result.stderr}`);
  return JSON.parse(result.stdout) as FleetJson;
}

/** Polls `fleet status --json` until `check` holds. */
export function waitForFleet(etcd: EtcdServer, fleet: string, check: (view: FleetJson) => boolean, timeoutMs: number, what: string): Promise<FleetJson> {
  let last: FleetJson | undefined;
  return waitFor(
    async () => {
      last = await fleetJson(etcd, fleet);
      return check(last) ? last : undefined;
    },
    timeoutMs,
    what,
  ).catch((error: Error) => {
    throw new Error(`${error.message}; last fleet status: ${JSON.stringify(last)}`);
  });
}

export const hostNames = (view: FleetJson): string[] => view.hosts.map((host) => host.host);
