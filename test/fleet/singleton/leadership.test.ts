/**
 * SPEC §10 daemon-type singletons (src/fleet/singleton/leadership.ts) on the in-memory etcd and the
 * fake clock: hosts each with a supervisor on the scripted spawner, driven by a tick every second as
 * the daemon does (keepDaemons with the window open only where this host holds the task).
 */
import { describe, expect, it } from 'vitest';
import { Leadership, stopMarginMs } from '../../../src/fleet/singleton/leadership.js';
import type { Task } from '../../../src/tasks/types.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { captureLogger, makeTask, ScriptedSpawner, settle, wiredSupervisor } from '../../supervisor/fakes.js';
import { FakeEtcd, type FakeHost } from './fake-etcd.js';

const START = 1_800_000_000_000;
const TTL = 10_000;

const worker = makeTask({ id: 'worker', type: 'daemon', max: 2, command: 'node worker.js' }, { singleton: true, graceMs: 2000 });

interface Host {
  readonly link: FakeHost;
  readonly spawner: ScriptedSpawner;
  readonly leadership: Leadership;
  tick(): void;
  /** When this host's instances got SIGTERM, by the fleet's clock. */
  readonly terminatedAt: number[];
  readonly log: ReturnType<typeof captureLogger>['records'];
}

function fleet(count: number) {
  const clock = new FakeClock(START);
  const etcd = new FakeEtcd(clock);
  const hosts: Host[] = [];
  for (let i = 0; i < count; i++) {
    const link = etcd.host(`host-${i + 1}`, { ttlMs: TTL });
    link.keepAliveEvery();
    const spawner = new ScriptedSpawner();
    const { supervisor } = wiredSupervisor({ clock: link.clock, spawner, baseEnv: {} });
    supervisor.setTasks([worker]);
    const { logger, records } = captureLogger();
    const leadership = new Leadership({ link: () => link, clock: link.clock, log: logger, instance: `i${i}`, changed: (task, may) => supervisor.keepDaemons(task, may) });
    hosts.push({ link, spawner, leadership, terminatedAt: [], log: records, tick: () => supervisor.keepDaemons(worker, leadership.mayRun(worker, true)) });
  }
  /** Steps of 100 ms; each host ticks at every whole second; an instance sent TERM exits `exitAfterMs` later. */
  const run = async (ms: number, onStep: () => void = () => undefined, exitAfterMs = 500): Promise<void> => {
    for (let step = 0; step < ms / 100; step++) {
      clock.advance(100);
      if (clock.now() % 1000 === 0) for (const host of hosts) host.tick();
      await settle(5);
      for (const host of hosts) {
        for (const child of host.spawner.alive()) {
          const termAt = (child as unknown as { termAt?: number }).termAt;
          if (child.signals.includes('SIGTERM') && termAt === undefined) {
            (child as unknown as { termAt: number }).termAt = clock.now();
            host.terminatedAt.push(clock.now());
          } else if (termAt !== undefined && clock.now() - termAt >= exitAfterMs) child.exit(null, 'SIGTERM');
        }
      }
      onStep();
      await settle(5);
    }
  };
  return { clock, etcd, hosts, run };
}

const holders = (hosts: readonly Host[]) => hosts.filter((host) => host.spawner.alive().length > 0);

describe('SPEC §10 daemon-type singleton: an election per task', () => {
  it('one host of three holds it and keeps max instances; status says who holds it on every host', async () => {
    const { hosts, run } = fleet(3);
    await run(5000);
    const running = holders(hosts);
    expect(running).toHaveLength(1);
    expect(running[0].spawner.alive()).toHaveLength(2);
    const name = running[0].link.hostName;
    for (const host of hosts) expect(host.leadership.holderOf('worker')).toBe(host === running[0] ? 'this host' : name);
  });

  it('the next daemon of the holder host (another instance, the old lease still alive): waits for its first answer, then takes the key over at once', async () => {
    const clock = new FakeClock(START);
    const etcd = new FakeEtcd(clock);
    const link = etcd.host('host-1', { ttlMs: TTL });
    link.keepAliveEvery();
    const decisions: boolean[] = [];
    const old = new Leadership({ link: () => link, clock, log: captureLogger().logger, instance: 'old', changed: () => undefined });
    old.mayRun(worker, true);
    await settle(5);
    expect(old.holderOf('worker')).toBe('this host');
    // The daemon crashes (no resign); the next one on the same host starts with adopted instances.
    const next = new Leadership({ link: () => link, clock, log: captureLogger().logger, instance: 'new', changed: (_task, may) => decisions.push(may) });
    expect(next.mayRun(worker, true)).toBe(false);
    expect(next.pending(worker)).toBe(true); // the daemon's tick leaves the adopted instances alone meanwhile
    await settle(5);
    expect(next.pending(worker)).toBe(false);
    expect(decisions).toEqual([true]);
    expect(next.holderOf('worker')).toBe('this host');
    expect(JSON.parse(etcd.keys.get('gotorch/test/leaders/worker')?.value ?? '{}')).toEqual({ host: 'host-1', instance: 'new' });
    expect(next.mayRun(worker, true)).toBe(true);
    // Another host's key is not taken over: its first answer says who holds it, and adopted instances stop.
    const other = new Leadership({ link: () => etcd.host('host-2', { ttlMs: TTL }), clock, log: captureLogger().logger, instance: 'x', changed: (_task, may) => decisions.push(may) });
    other.mayRun(worker, true);
    await settle(5);
    expect(other.holderOf('worker')).toBe('host-1');
    expect(decisions).toEqual([true, false]);
  });

  it('a holder cut off from etcd stops its instances at last keep-alive + TTL − margin; another host starts them only after that, never overlapping', async () => {
    const { hosts, run, clock } = fleet(3);
    await run(5000);
    const [old] = holders(hosts);
    const lastKeepAlive = old.link.lastKeepAliveAt()!;
    old.link.partitioned = true;
    const cutAt = clock.now();
    let overlapSteps = 0;
    let takenOverAt: number | undefined;
    // Instances that take almost their whole grace (2 s) to exit after TERM.
    await run(TTL + 3000, () => {
      if (holders(hosts).length > 1) overlapSteps++;
      const next = holders(hosts).find((host) => host !== old);
      if (next !== undefined && takenOverAt === undefined) takenOverAt = clock.now();
    }, 1900);
    const deadline = lastKeepAlive + TTL - stopMarginMs(worker, TTL);
    expect(lastKeepAlive + TTL - deadline).toBeGreaterThan(worker.options.graceMs);
    // Seen at the 100 ms step after the watchdog's timer, which fires at the deadline itself.
    expect(old.terminatedAt).toHaveLength(2);
    for (const at of old.terminatedAt) expect(at - deadline).toBeGreaterThanOrEqual(0), expect(at - deadline).toBeLessThan(100);
    expect(old.spawner.alive()).toEqual([]);
    expect(takenOverAt).toBeDefined();
    // The server lets the old lease go at last keep-alive + TTL at the earliest: the new holder comes after.
    expect(takenOverAt!).toBeGreaterThanOrEqual(lastKeepAlive + TTL);
    expect(takenOverAt! - cutAt).toBeLessThanOrEqual(TTL + 2000);
    expect(overlapSteps).toBe(0);
    expect(holders(hosts)).toHaveLength(1);
    expect(holders(hosts)[0].spawner.alive()).toHaveLength(2);
    expect(old.log.some((record) => record.msg?.includes('the host lease may expire'))).toBe(true);
  });

  it('keep-alives late by less than the margin: the holder keeps running (no flapping)', async () => {
    const { hosts, run } = fleet(2);
    await run(5000);
    const [holder] = holders(hosts);
    const pids = holder.spawner.alive().map((child) => child.pid);
    holder.link.partitioned = true;
    await run(2000);
    holder.link.partitioned = false;
    await run(10_000);
    expect(holders(hosts)).toEqual([holder]);
    expect(holder.spawner.alive().map((child) => child.pid)).toEqual(pids);
    expect(holder.terminatedAt).toEqual([]);
  });

  it('a lapse past the deadline that the lease survived: the holder stopped, then takes its own key back; no other host ran it', async () => {
    const { hosts, run } = fleet(2);
    await run(5000);
    const [holder] = holders(hosts);
    const other = hosts.find((host) => host !== holder)!;
    const last = holder.link.lastKeepAliveAt()!;
    holder.link.partitioned = true;
    // Past the deadline (last + 7 s), before the server's expiry (last + 10 s).
    await run(Math.ceil((last + TTL - 1500 - holder.link.clock.now()) / 100) * 100);
    expect(holder.terminatedAt).toHaveLength(2);
    holder.link.partitioned = false;
    holder.link.keepAlive();
    await run(5000);
    expect(other.spawner.children).toEqual([]);
    expect(holder.spawner.alive()).toHaveLength(2);
    expect(holder.leadership.holderOf('worker')).toBe('this host');
  });

  it('back after a lapse with a new host lease (the old one left unkept): the key is bound again to the new lease, so it never lapses under a running holder', async () => {
    const { hosts, run, etcd } = fleet(2);
    await run(5000);
    const [holder] = holders(hosts);
    const other = hosts.find((host) => host !== holder)!;
    const last = holder.link.lastKeepAliveAt()!;
    holder.link.partitioned = true;
    await run(Math.ceil((last + TTL - 1500 - holder.link.clock.now()) / 100) * 100);
    expect(holder.terminatedAt).toHaveLength(2);
    // The connection comes back with a fresh lease; the old one (holding the key) is no longer kept alive.
    holder.link.partitioned = false;
    holder.link.hostLease = etcd.grant(TTL);
    holder.link.keepAlive();
    await run(20_000);
    expect(etcd.keys.get('gotorch/test/leaders/worker')?.lease).toBe(holder.link.hostLease);
    expect(other.spawner.children).toEqual([]);
    expect(holder.spawner.alive()).toHaveLength(2);
  });

  it('the window closing gives leadership up at once (the key deleted); a reload that drops the task resigns too', async () => {
    const { hosts, run, etcd } = fleet(2);
    await run(3000);
    const [holder] = holders(hosts);
    holder.leadership.mayRun(worker, false);
    await settle();
    expect(etcd.keys.has('gotorch/test/leaders/worker')).toBe(false);
    expect(holder.leadership.holderOf('worker')).toBeNull();
    await run(2000);
    const [next] = holders(hosts);
    expect(etcd.keys.has('gotorch/test/leaders/worker')).toBe(true);
    next.leadership.setTasks([]);
    await settle();
    expect(etcd.keys.has('gotorch/test/leaders/worker')).toBe(false);
  });

  it('without --etcd a singleton daemon task never runs', async () => {
    const clock = new FakeClock(START);
    const leadership = new Leadership({ link: () => undefined, clock, log: captureLogger().logger, instance: 'x', changed: () => undefined });
    expect(leadership.mayRun(worker as Task, true)).toBe(false);
    expect(leadership.holderOf('worker')).toBeNull();
  });
});
