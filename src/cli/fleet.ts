/**
 * `gotorch fleet status / kill / run` (SPEC §10): read the registry and send commands through etcd
 * directly; no local daemon is needed. etcd3 loads with this module only.
 */
import { randomBytes } from 'node:crypto';
import type { Etcd3 } from 'etcd3';
import { openClient } from '../fleet/etcd/client.js';
import type { FleetAnswer, FleetCommand } from '../fleet/etcd/fleet-commands.js';
import { fleetKey, fleetOptionsFrom, type FleetOptions, type GivenFleetOptions } from '../fleet/etcd/fleet-options.js';
import { joinHostRecord, type HostRecord, type HostTasks, type StoredHostRecord } from '../fleet/etcd/host-record.js';
import { fleetView, formatFleetStatus, formatFleetTasks } from './fleet-status-format.js';

export type FleetCliOptions = GivenFleetOptions;

export interface FleetTaskOptions {
  readonly host?: string;
  /** ms */
  readonly timeout: number;
}

/** How often the command looks for answers. */
const ANSWER_POLL_MS = 100;

function fail(reason: string, code = 1): number {
  process.stderr.write(`gotorch: ${reason}\n`);
  return code;
}

/** The client, or a usage error: the fleet commands need --etcd. */
async function connect(given: FleetCliOptions): Promise<{ client: Etcd3; fleet: string } | number> {
  let options: FleetOptions | undefined;
  try {
    options = fleetOptionsFrom(given);
  } catch (error) {
    return fail((error as Error).message, 2);
  }
  if (options === undefined) return fail('the fleet commands need --etcd <urls> (or GOTORCH_ETCD)', 2);
  try {
    return { client: await openClient(options), fleet: options.fleet };
  } catch (error) {
    return fail((error as Error).message);
  }
}

/** Every live host's record, joined with its task names (two prefixes: host-record.ts, StoredHostRecord). */
async function liveHosts(client: Etcd3, fleet: string): Promise<HostRecord[]> {
  const [records, names] = await Promise.all(['hosts', 'tasks'].map((kind) => client.getAll().prefix(fleetKey(fleet, kind, '')).strings()));
  const parse = <T>(text: string | undefined): T | undefined => {
    try {
      return text === undefined ? undefined : (JSON.parse(text) as T);
    } catch {
      return undefined;
    }
  };
  return Object.values(records).flatMap((text) => {
    const stored = parse<StoredHostRecord>(text);
    return stored === undefined ? [] : [joinHostRecord(stored, parse<HostTasks>(names[fleetKey(fleet, 'tasks', stored.host)]))];
  });
}

const unreachable = (error: unknown): number => fail(`etcd did not answer: ${(error as Error).message}`);

export async function fleetStatusCommand(given: FleetCliOptions, options: { tasks?: boolean; json?: boolean }): Promise<number> {
  const connected = await connect(given);
  if (typeof connected === 'number') return connected;
  const { client, fleet } = connected;
  try {
    const view = fleetView(fleet, await liveHosts(client, fleet));
    if (options.json) process.stdout.write(JSON.stringify(view, null, 2) + '\n');
    else process.stdout.write(options.tasks ? formatFleetTasks(view) : formatFleetStatus(view, Date.now()));
    return 0;
  } catch (error) {
    return unreachable(error);
  } finally {
    client.close();
  }
}

/** The hosts that should answer: `--host`, or every live host the registry says runs the task (for kill: also one still running it). */
function expectedHosts(records: readonly HostRecord[], cmd: FleetCommand['cmd'], name: string, host: string | undefined): string[] | string {
  if (host !== undefined) return records.some((record) => record.host === host) ? [host] : `host "${host}" is not live in the fleet (no registry record): see gotorch fleet status`;
  const running = records.filter((record) => record.tasks.includes(name) || (cmd === 'kill' && record.running.some((run) => run.task === name)));
  return running.length > 0 ? running.map((record) => record.host).sort() : `no live host runs a task named "${name}": see gotorch fleet status --tasks`;
}

/** SPEC §10: one line per host, exit 1 if any host failed or did not answer within the timeout. */
export async function fleetTaskCommand(given: FleetCliOptions, cmd: FleetCommand['cmd'], name: string, options: FleetTaskOptions): Promise<number> {
  const connected = await connect(given);
  if (typeof connected === 'number') return connected;
  const { client, fleet } = connected;
  try {
    const expected = expectedHosts(await liveHosts(client, fleet), cmd, name, options.host);
    if (typeof expected === 'string') return fail(expected);
    const id = `${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
    // The command and its answers live on this lease: they go when it expires, or at once when revoked below.
    const lease = client.lease(Math.ceil(options.timeout / 1000) + 5, { autoKeepAlive: false });
    const command: FleetCommand = { id, cmd, name, ...(options.host !== undefined ? { host: options.host } : {}) };
    try {
      await lease.put(fleetKey(fleet, 'commands', id)).value(JSON.stringify(command));
      const answers = await collectAnswers(client, fleetKey(fleet, 'answers', id, ''), expected, Date.now() + options.timeout);
      const hosts = [...new Set([...expected, ...answers.keys()])].sort();
      let failed = false;
      for (const host of hosts) {
        const answer = answers.get(host);
        if (answer === undefined || !answer.ok) failed = true;
        process.stdout.write(`${host}: ${answer === undefined ? `no answer within ${options.timeout / 1000} s` : answer.ok ? answer.message : `failed: ${answer.message}`}\n`);
      }
      return failed ? 1 : 0;
    } finally {
      await lease.revoke().catch(() => undefined);
    }
  } catch (error) {
    return unreachable(error);
  } finally {
    client.close();
  }
}

async function collectAnswers(client: Etcd3, prefix: string, expected: readonly string[], deadline: number): Promise<Map<string, FleetAnswer>> {
  const answers = new Map<string, FleetAnswer>();
  for (;;) {
    const values = await client.getAll().prefix(prefix).strings();
    for (const text of Object.values(values)) {
      try {
        const answer = JSON.parse(text) as FleetAnswer;
        answers.set(answer.host, answer);
      } catch {
        // not an answer
      }
    }
    if (expected.every((host) => answers.has(host)) || Date.now() >= deadline) return answers;
    await new Promise((resolve) => setTimeout(resolve, Math.min(ANSWER_POLL_MS, Math.max(0, deadline - Date.now()))));
  }
}
