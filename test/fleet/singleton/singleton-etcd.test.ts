/**
 * SPEC §10 singleton cron fires on a real etcd (test/helpers/etcd.ts): three etcd3 clients in this
 * process play three hosts, each with its own host lease, its own (skewed) clock and its own gate over
 * singletonLink. The supervisor is a counter: what is checked is which host was let fire which second.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock, type Clock } from '../../../src/clock.js';
import { RunEvents, type FireSkipped } from '../../../src/events.js';
import { CLAIMS_ROTATE_MS, CLAIMS_TTL_S, singletonLink } from '../../../src/fleet/singleton/etcd-link.js';
import { FireGate } from '../../../src/fleet/singleton/gate.js';
import type { RunRecord } from '../../../src/supervisor/run.js';
import type { Task } from '../../../src/tasks/types.js';
import { ETCD, EtcdServer } from '../../helpers/etcd.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { captureLogger, makeTask } from '../../supervisor/fakes.js';
import { connect } from './etcd-connection.js';
import { offsetClock } from './fake-etcd.js';

const TTL_S = 10;
/** The pause test's claim timeout (the gate's default is 3 s). */
const CLAIM_TIMEOUT = 1000;

interface Host {
  readonly name: string;
  readonly clock: Clock;
  readonly gate: FireGate;
  readonly events: RunEvents;
  readonly fired: { task: string; second: number; at: number }[];
  readonly skipped: FireSkipped[];
  close(): Promise<void>;
}

async function host(url: string, fleet: string, name: string, offsetMs: number, runMs: number, claimTimeoutMs?: number): Promise<Host> {
  const connected = await connect(url, fleet, name, TTL_S);
  const { connection } = connected;
  const clock = offsetClock(systemClock, offsetMs);
  const link = singletonLink(connection, clock);
  const events = new RunEvents();
  const fired: Host['fired'] = [];
  const skipped: FireSkipped[] = [];
  events.on('fire-skipped', 'test', (event) => skipped.push(event));
  let counter = 0;
  // A run that lasts runMs, then ends as the supervisor says it: its slot (max > 0) is freed then.
  const fire = (task: Task, second: number, _trigger: unknown, run = ''): 'queued' => {
    const at = Date.now();
    fired.push({ task: task.id, second, at });
    const record: RunRecord = { task: task.id, run, trigger: 'schedule', attempt: 1, jobPid: 1, scheduledAt: second, startedAt: at, lateMs: 0, durationMs: runMs, exitCode: 0, signal: null, timedOut: false, killed: false, replaced: false, bytesKept: 0, bytesDropped: 0, error: null };
    setTimeout(() => events.publish({ type: 'run-finished', task, role: 'job', record, retryInMs: null }), runMs);
    return 'queued';
  };
  const gate = new FireGate({ link: () => link, fire, events, clock, log: captureLogger().logger, runId: (second) => `${second}-${++counter}-${name}`, claimTimeoutMs });
  return {
    name, clock, gate, events, fired, skipped,
    async close() {
      link.close();
      await connected.close();
    },
  };
}

/** Each host fires `tasks` at every second boundary of its own clock, for `ms` (polled every 20 ms). */
async function tick(hosts: readonly Host[], tasks: readonly Task[], ms: number): Promise<void> {
  const last = new Map(hosts.map((h) => [h, Math.floor(h.clock.now() / 1000)]));
  const end = Date.now() + ms;
  while (Date.now() < end) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    for (const h of hosts) {
      const second = Math.floor(h.clock.now() / 1000);
      for (let s = last.get(h)! + 1; s <= second; s++) for (const task of tasks) h.gate.fire(task, s, 'schedule');
      last.set(h, second);
    }
  }
  await new Promise((resolve) => setTimeout(resolve, 1500)); // the last claims answer
}

function bySecond(hosts: readonly Host[], task: string): Map<number, string[]> {
  const seconds = new Map<number, string[]>();
  for (const h of hosts) for (const fire of h.fired) if (fire.task === task) seconds.set(fire.second, [...(seconds.get(fire.second) ?? []), h.name]);
  return seconds;
}

describe.skipIf(ETCD === undefined)('SPEC §10 singleton fires on a real etcd, three hosts', () => {
  let server: EtcdServer;
  beforeAll(async () => {
    server = await EtcdServer.start();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it.each([
    { name: 'clocks in step', offsets: [0, 0, 0] },
    { name: 'clocks skewed by ±400 ms', offsets: [-400, 0, 400] },
  ])('every second claimed exactly once across the fleet for 12 s; a 2.5 s max=1 job never on two hosts at once ($name)', async ({ offsets }) => {
    const fleet = `it-${randomBytes(3).toString('hex')}`;
    const hosts = await Promise.all(offsets.map((offset, i) => host(server.url, fleet, `host-${i + 1}`, offset, 2500)));
    const every = makeTask({ id: 'every', max: 0 }, { singleton: true });
    const long = makeTask({ id: 'long', max: 1 }, { singleton: true });
    try {
      await tick(hosts, [every, long], 12_000);
      const seconds = bySecond(hosts, 'every');
      expect(seconds.size).toBeGreaterThanOrEqual(11);
      for (const [second, ran] of seconds) expect(ran, `second ${second}`).toHaveLength(1);
      const sorted = [...seconds.keys()].sort((a, b) => a - b);
      expect(sorted.at(-1)! - sorted[0] + 1, 'no second missed').toBe(sorted.length);
      expect(hosts.flatMap((h) => h.skipped).filter((skip) => skip.task.id === 'every')).toEqual([]);
      // max=1 across the fleet: runs of `long` (2.5 s each) never overlap, whoever ran them.
      const runs = hosts.flatMap((h) => h.fired.filter((fire) => fire.task === 'long')).sort((a, b) => a.at - b.at);
      expect(runs.length).toBeGreaterThanOrEqual(3);
      for (let i = 1; i < runs.length; i++) expect(runs[i].at - runs[i - 1].at, 'a run started while another ran').toBeGreaterThanOrEqual(2500);
      const maxSkips = hosts.flatMap((h) => h.skipped).filter((skip) => skip.task.id === 'long');
      expect(maxSkips.every((skip) => skip.reason === 'max')).toBe(true);
      // Each skipped second is reported once in the whole fleet.
      expect(new Set(maxSkips.map((skip) => skip.scheduledAt)).size).toBe(maxSkips.length);
      expect(maxSkips.length + runs.length).toBeGreaterThanOrEqual(11);
    } finally {
      await Promise.all(hosts.map((h) => h.close()));
    }
  }, 40_000);

  it('etcd paused for 5 s: no second runs twice, the seconds in the pause are reported skipped (fleet unavailable), then it recovers', async () => {
    const fleet = `it-${randomBytes(3).toString('hex')}`;
    const hosts = await Promise.all([0, 1, 2].map((i) => host(server.url, fleet, `host-${i + 1}`, 0, 100, CLAIM_TIMEOUT)));
    const every = makeTask({ id: 'every', max: 0 }, { singleton: true });
    try {
      const ticking = tick(hosts, [every], 11_000);
      await new Promise((resolve) => setTimeout(resolve, 3000));
      const pausedAt = Date.now();
      server.pause();
      await new Promise((resolve) => setTimeout(resolve, 5000));
      server.resume();
      const resumedAt = Date.now();
      await ticking;
      const seconds = bySecond(hosts, 'every');
      for (const [second, ran] of seconds) expect(ran, `second ${second}`).toHaveLength(1);
      // A claim still waiting for its answer when etcd resumed may be granted and run (once, late): not those.
      const inside = [];
      for (let s = Math.ceil(pausedAt / 1000) + 1; s < Math.floor((resumedAt - CLAIM_TIMEOUT) / 1000); s++) inside.push(s);
      expect(inside.length).toBeGreaterThanOrEqual(2);
      const skippedSeconds = new Set(hosts.flatMap((h) => h.skipped).filter((skip) => skip.reason === 'fleet unavailable').map((skip) => skip.scheduledAt));
      for (const s of inside) {
        expect(seconds.has(s), `second ${s} ran during the pause`).toBe(false);
        expect(skippedSeconds.has(s), `second ${s} not reported`).toBe(true);
      }
      // Recovered: the last seconds ran again.
      const newest = Math.max(...seconds.keys());
      expect(newest).toBeGreaterThanOrEqual(Math.floor(Date.now() / 1000) - 4);
    } finally {
      server.resume();
      await Promise.all(hosts.map((h) => h.close()));
    }
  }, 40_000);
  it('the store on etcd: fire keys on a claims lease of CLAIMS_TTL_S never kept alive, a new one each minute; slots on the host lease; rebind and compare-and-delete', async () => {
    const fleet = `it-${randomBytes(3).toString('hex')}`;
    const connected = await connect(server.url, fleet, 'host-1', TTL_S);
    const clock = new FakeClock(Date.now());
    const link = singletonLink(connected.connection, clock);
    const { client } = connected;
    try {
      const leaseOf = async (key: string): Promise<string> => String((await client.get(key).exec()).kvs[0].lease);
      const ttlOf = async (lease: string): Promise<number> => Number((await client.leaseClient.leaseTimeToLive({ ID: lease })).TTL);
      expect(await link.store.createIfAbsent(['a', 'b'], [{ key: 'a', value: '1', lease: 'claims' }, { key: 'b', value: '1', lease: 'host' }])).toEqual({ created: true });
      expect(await link.store.createIfAbsent(['a'], [{ key: 'a', value: '2', lease: 'claims' }])).toEqual({ created: false, existing: new Map([['a', '1']]) });
      clock.advance(CLAIMS_ROTATE_MS - 1);
      await link.store.createIfAbsent(['c'], [{ key: 'c', value: '1', lease: 'claims' }]);
      clock.advance(1);
      await link.store.createIfAbsent(['d'], [{ key: 'd', value: '1', lease: 'claims' }]);
      const [a, b, c, d] = await Promise.all(['a', 'b', 'c', 'd'].map(leaseOf));
      expect(c).toBe(a);
      expect(d).not.toBe(a);
      expect(b).toBe(String(await connected.connection.hostLease()!.grant()));
      expect(await ttlOf(a)).toBeGreaterThan(CLAIMS_TTL_S - 10);
      expect(await ttlOf(a)).toBeLessThanOrEqual(CLAIMS_TTL_S);
      await client.put('b').value('1').exec(); // no lease: as if bound to a lease the connection gave up
      expect(await link.store.rebind('b', 'other')).toBe(false);
      expect(await link.store.rebind('b', '1')).toBe(true);
      expect(await leaseOf('b')).toBe(b);
      await link.store.removeIf('b', 'other');
      expect(await client.get('b').string()).toBe('1');
      await link.store.removeIf('b', '1');
      expect(await client.get('b').string()).toBeNull();
      expect([...(await link.store.list('c'))]).toEqual(['c']);
    } finally {
      link.close();
      await Promise.all(['a', 'b', 'c', 'd'].map((key) => client.delete().key(key).exec()));
      await connected.close();
    }
  });
});
