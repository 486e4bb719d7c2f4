/**
 * SPEC §10 singleton cron fires through the gate (src/fleet/singleton/gate.ts) on the in-memory etcd
 * and the fake clock: three hosts, each with its own gate, clock and leases.
 */
import { describe, expect, it } from 'vitest';
import type { Clock } from '../../../src/clock.js';
import { RunEvents, type FireSkipped } from '../../../src/events.js';
import { CLAIM_TIMEOUT_MS, FireGate } from '../../../src/fleet/singleton/gate.js';
import type { FleetLink } from '../../../src/fleet/singleton/fleet-link.js';
import type { RunRecord } from '../../../src/supervisor/run.js';
import type { Task } from '../../../src/tasks/types.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { captureLogger, makeTask, settle } from '../../supervisor/fakes.js';
import { FakeEtcd, type FakeHost } from './fake-etcd.js';

const START = 1_800_000_000_000;

interface GateHost {
  readonly name: string;
  readonly gate: FireGate;
  readonly events: RunEvents;
  readonly clock: Clock;
  /** Seconds this host's supervisor was asked to fire, per task. */
  readonly fired: { task: string; second: number; runId?: string }[];
  readonly skipped: FireSkipped[];
}

let runs = 0;

function gateHost(name: string, link: FleetLink | undefined, clock: Clock): GateHost {
  const events = new RunEvents();
  const fired: GateHost['fired'] = [];
  const skipped: FireSkipped[] = [];
  events.on('fire-skipped', 'test', (event) => skipped.push(event));
  const gate = new FireGate({ link: () => link, fire: (task, second, _trigger, runId) => (fired.push({ task: task.id, second, runId }), 'queued'), events, clock, log: captureLogger().logger, runId: (second) => `${second}-${++runs}-${name}` });
  return { name, gate, events, clock, fired, skipped };
}

function fleet(offsets: readonly number[] = [0, 0, 0]) {
  const clock = new FakeClock(START);
  const etcd = new FakeEtcd(clock);
  const links: FakeHost[] = offsets.map((offsetMs, i) => etcd.host(`host-${i + 1}`, { offsetMs }));
  for (const link of links) link.keepAliveEvery();
  const hosts = links.map((link) => gateHost(link.hostName, link, link.clock));
  return { clock, etcd, links, hosts };
}

/** Runs every host's tick at its own second boundaries (its own skewed clock) for `seconds`, 100 ms steps. */
async function runTicks(clock: FakeClock, hosts: readonly GateHost[], task: Task, seconds: number): Promise<void> {
  const lastSecond = new Map(hosts.map((host) => [host, Math.floor(host.clock.now() / 1000)]));
  for (let step = 0; step < seconds * 10; step++) {
    clock.advance(100);
    for (const host of hosts) {
      const second = Math.floor(host.clock.now() / 1000);
      if (second > lastSecond.get(host)!) {
        lastSecond.set(host, second);
        host.gate.fire(task, second, 'schedule');
      }
    }
    await settle(5);
  }
  await settle();
}

function firesPerSecond(hosts: readonly GateHost[]): Map<number, string[]> {
  const bySecond = new Map<number, string[]>();
  for (const host of hosts) for (const { second } of host.fired) bySecond.set(second, [...(bySecond.get(second) ?? []), host.name]);
  return bySecond;
}

const finished = (task: Task, second: number): RunRecord => ({
  task: task.id, run: `${second}-1-x`, trigger: 'schedule', attempt: 1, jobPid: 1, scheduledAt: second, startedAt: second * 1000, lateMs: 0,
  durationMs: 10, exitCode: 0, signal: null, timedOut: false, killed: false, replaced: false, bytesKept: 0, bytesDropped: 0, error: null,
});

describe('SPEC §10 singleton cron fires: one claim per (task, second)', () => {
  const every = makeTask({ id: 'report', max: 0 }, { singleton: true });

  it.each([
    { name: 'clocks in step', offsets: [0, 0, 0] },
    { name: 'clocks skewed by ±400 ms', offsets: [-400, 0, 400] },
  ])('an every-second singleton over 30 s among three hosts runs each second exactly once ($name)', async ({ offsets }) => {
    const { clock, hosts } = fleet(offsets);
    await runTicks(clock, hosts, every, 30);
    const bySecond = firesPerSecond(hosts);
    const planned = Math.floor(hosts[0].clock.now() / 1000) - Math.floor((START + offsets[0]) / 1000);
    expect(bySecond.size).toBeGreaterThanOrEqual(planned - 1);
    for (const [second, ran] of bySecond) expect(ran, `second ${second}`).toHaveLength(1);
    // Every second that any host planned ran somewhere: the union of planned seconds, none missing.
    const seconds = [...bySecond.keys()].sort((a, b) => a - b);
    expect(seconds.at(-1)! - seconds[0] + 1).toBe(seconds.length);
    expect(hosts.flatMap((host) => host.skipped)).toEqual([]);
  });

  it('three hosts claiming the same second at the same instant: one wins, the others stay quiet', async () => {
    const { hosts, etcd } = fleet();
    for (let second = 1_800_000_001; second < 1_800_000_021; second++) for (const host of hosts) host.gate.fire(every, second, 'schedule');
    await settle();
    const bySecond = firesPerSecond(hosts);
    expect(bySecond.size).toBe(20);
    for (const ran of bySecond.values()) expect(ran).toHaveLength(1);
    expect(etcd.commits).toHaveLength(20);
    // The fire key names the claiming host and the run id the run then gets (GOTORCH_RUN_ID).
    for (const host of hosts) {
      for (const { second, runId } of host.fired) {
        expect(JSON.parse(etcd.keys.get(`gotorch/test/fires/report/${second}`)!.value)).toMatchObject({ host: host.name, run: runId, second });
        expect(runId).toMatch(new RegExp(`^${second}-\\d+-${host.name}$`));
      }
    }
    expect(hosts.flatMap((host) => host.skipped)).toEqual([]);
  });

  it('a host whose clock is 61 s behind finds the fire still claimed (the claims lease outlives the skew)', async () => {
    const { clock, hosts, etcd, links } = fleet();
    const second = Math.floor(START / 1000) + 1;
    hosts[0].gate.fire(every, second, 'schedule');
    await settle();
    clock.advance(61_000);
    const late = gateHost('late', links[1], links[1].clock);
    late.gate.fire(every, second, 'schedule');
    await settle();
    expect(hosts[0].fired).toMatchObject([{ task: 'report', second }]);
    expect(late.fired).toEqual([]);
    expect(late.skipped).toEqual([]);
    expect(late.gate.lastClaim('report')).toEqual({ second, holder: 'host-1' });
    expect(etcd.keys.has(`gotorch/test/fires/report/${second}`)).toBe(true);
  });
});

describe('SPEC §10 max counts across the fleet (slot keys)', () => {
  it('max=2: two runs anywhere in the fleet, the third fire skipped once fleet-wide for max, a slot freed when a run ends', async () => {
    const task = makeTask({ id: 'backup', max: 2 }, { singleton: true });
    const { hosts, etcd } = fleet();
    const s = 1_800_000_001;
    for (const second of [s, s + 1, s + 2]) {
      for (const host of hosts) host.gate.fire(task, second, 'schedule');
      await settle();
    }
    const bySecond = firesPerSecond(hosts);
    expect([...bySecond.keys()].sort()).toEqual([s, s + 1]);
    const skips = hosts.flatMap((host) => host.skipped);
    expect(skips.map(({ scheduledAt, reason }) => ({ scheduledAt, reason }))).toEqual([{ scheduledAt: s + 2, reason: 'max' }]);
    expect([...etcd.keys.keys()].filter((key) => key.includes('/slots/')).sort()).toEqual(['gotorch/test/slots/backup/0', 'gotorch/test/slots/backup/1']);

    // The run of second s ends on the host that ran it: its slot is deleted, the next fire takes it.
    const runner = hosts.find((host) => host.fired.some((fire) => fire.second === s))!;
    runner.events.publish({ type: 'run-finished', task, role: 'job', record: finished(task, s), retryInMs: null });
    await settle();
    expect([...etcd.keys.keys()].filter((key) => key.includes('/slots/'))).toHaveLength(1);
    for (const host of hosts) host.gate.fire(task, s + 3, 'schedule');
    await settle();
    expect(firesPerSecond(hosts).get(s + 3)).toHaveLength(1);
  });

  it('a failed attempt that is retried keeps its slot; a host that dies frees its slots with its lease', async () => {
    const task = makeTask({ id: 'sync', max: 1 }, { singleton: true });
    const { hosts, etcd, links, clock } = fleet();
    const s = 1_800_000_001;
    hosts[0].gate.fire(task, s, 'schedule');
    await settle();
    hosts[0].events.publish({ type: 'run-finished', task, role: 'job', record: { ...finished(task, s), exitCode: 1 }, retryInMs: 10_000 });
    await settle();
    expect(etcd.keys.has('gotorch/test/slots/sync/0')).toBe(true);
    links[0].stopKeepAlive();
    clock.advance(10_000);
    hosts[1].gate.fire(task, s + 11, 'schedule');
    await settle();
    expect(hosts[1].fired).toMatchObject([{ task: 'sync', second: s + 11 }]);
  });
});

describe('SPEC §10 the gate and etcd trouble', () => {
  const every = makeTask({ id: 'report', max: 1 }, { singleton: true });
  const local = makeTask({ id: 'local' });

  it('never delays the tick: with etcd hung, fire() returns at once, local tasks fire synchronously, the claim gives up after its timeout', async () => {
    const { clock, hosts, etcd } = fleet();
    const [host] = hosts;
    etcd.hang();
    const s = 1_800_000_001;
    const began = performance.now();
    for (let i = 0; i < 1000; i++) host.gate.fire(every, s + i, 'schedule');
    host.gate.fire(local, s, 'schedule');
    expect(performance.now() - began).toBeLessThan(100);
    expect(host.fired).toMatchObject([{ task: 'local', second: s }]);
    await settle();
    expect(host.skipped).toEqual([]);
    clock.advance(CLAIM_TIMEOUT_MS);
    await settle();
    expect(host.skipped).toHaveLength(1000);
    expect(host.skipped[0]).toMatchObject({ reason: 'fleet unavailable', detail: `no answer from etcd within ${CLAIM_TIMEOUT_MS} ms` });
    // etcd answers after all: the one claim it commits is not run, and its slot is given back.
    etcd.release();
    await settle();
    expect(host.fired).toMatchObject([{ task: 'local', second: s }]);
    expect(etcd.commits.length).toBeGreaterThan(0);
    expect([...etcd.keys.keys()].filter((key) => key.includes('/slots/'))).toEqual([]);
  });

  it('etcd down: the fire is not run, it is skipped as fleet unavailable with the reason', async () => {
    const { hosts, etcd } = fleet();
    etcd.failing = true;
    hosts[0].gate.fire(every, 1_800_000_001, 'schedule');
    await settle();
    expect(hosts[0].fired).toEqual([]);
    expect(hosts[0].skipped).toMatchObject([{ scheduledAt: 1_800_000_001, reason: 'fleet unavailable', detail: 'etcd is unreachable' }]);
  });

  it('a transaction that fails (the host lease is gone on the server) skips the fire and says so', async () => {
    const { hosts, links, clock } = fleet();
    links[0].hostLease = 999; // revoked: the server no longer knows it, though the connection is up
    hosts[0].gate.fire(every, 1_800_000_001, 'schedule');
    await settle();
    clock.advance(1);
    expect(hosts[0].fired).toEqual([]);
    expect(hosts[0].skipped[0]).toMatchObject({ reason: 'fleet unavailable' });
    expect(hosts[0].skipped[0].detail).toContain('the claim failed: etcdserver: requested lease not found');
  });

  it('its own watchdog: no keep-alive answered for TTL − 1 s, the connection still said up: not claimed', async () => {
    const { hosts, links, clock } = fleet();
    links[0].stopKeepAlive();
    clock.advance(links[0].ttlMs - 1000);
    hosts[0].gate.fire(every, 1_800_000_009, 'schedule');
    await settle();
    expect(links[0].isUp()).toBe(true);
    expect(hosts[0].fired).toEqual([]);
    expect(hosts[0].skipped[0]).toMatchObject({ reason: 'fleet unavailable', detail: 'the host lease may have expired (no keep-alive answered in time)' });
  });

  it('without --etcd a singleton task never runs and reports nothing each second (warned at load)', async () => {
    const host = gateHost('alone', undefined, new FakeClock(START));
    host.gate.fire(every, 1_800_000_001, 'schedule');
    host.gate.fire(local, 1_800_000_001, 'schedule');
    await settle();
    expect(host.fired).toMatchObject([{ task: 'local', second: 1_800_000_001 }]);
    expect(host.skipped).toEqual([]);
  });
});
