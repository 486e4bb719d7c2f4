/**
 * The registry's write policy on a fake connection and the fake clock (STYLE: a seam per edge): a
 * change marks it dirty, a one-second timer writes it (at most once a second, however many events);
 * a new lease writes it at once; no write without a lease; a failed write is tried again. The task
 * names go under a key of their own, written again only after a reload or on a new lease.
 */
import { describe, expect, it } from 'vitest';
import type { Lease } from 'etcd3';
import pino from 'pino';
import { RunEvents } from '../../../src/events.js';
import type { FleetConnection } from '../../../src/fleet/etcd/connection.js';
import type { HostFacts } from '../../../src/fleet/etcd/host-record.js';
import { HostRegistry } from '../../../src/fleet/etcd/registry.js';
import type { Task } from '../../../src/tasks/types.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { makeTask } from '../../supervisor/fakes.js';

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function harness() {
  const clock = new FakeClock();
  const all: { key: string; at: number; record: { host: string; digest: string } }[] = [];
  /** The host record's writes (the task names' key apart: names). */
  const writes: typeof all = [];
  const names: typeof all = [];
  let failing = false;
  // A new lease object per grant, as etcd3 gives.
  const newLease = (): Lease => ({
    put: (key: string) => ({
      value: async (text: string) => {
        if (failing) throw new Error('14 UNAVAILABLE');
        const write = { key, at: clock.now(), record: JSON.parse(text) as { host: string; digest: string } };
        all.push(write);
        (key.includes('/tasks/') ? names : writes).push(write);
      },
    }),
  }) as unknown as Lease;
  let current: Lease | undefined;
  const upListeners: ((lease: Lease) => void)[] = [];
  const connection = {
    fleet: 'prod',
    hostName: 'web-1',
    ttlMs: 3000,
    key: (...parts: string[]) => ['gotorch', 'prod', ...parts].join('/'),
    get lease() {
      return current;
    },
    isUp: () => current !== undefined,
    on: (event: string, listener: (lease: Lease) => void) => {
      if (event === 'up') upListeners.push(listener);
      return () => undefined;
    },
  } as unknown as FleetConnection;
  const events = new RunEvents();
  let schedule = { loaded: { digest: 'abc' }, applicable: [makeTask({ id: 'report' })] as readonly Task[] };
  const facts: HostFacts = {
    host: 'web-1',
    addresses: ['10.0.1.5'],
    taskFile: '/etc/gotorch/tasks.conf',
    startedAt: clock.now(),
    now: () => clock.now(),
    schedule: () => schedule,
    lastReload: () => null,
    supervisor: { snapshot: () => [] },
    results: { get: () => undefined },
  };
  const registry = new HostRegistry(connection, events, facts, pino({ level: 'silent' }), clock);
  return {
    clock,
    writes,
    names,
    all,
    events,
    /** A reload: a new file with these tasks. */
    reloaded: (digest: string, ids: readonly string[]) => (schedule = { loaded: { digest }, applicable: ids.map((id) => makeTask({ id })) }),
    registry,
    setFailing: (value: boolean) => (failing = value),
    up: () => {
      const lease = newLease();
      current = lease;
      for (const listener of upListeners) listener(lease);
    },
    down: () => (current = undefined),
  };
}

const reload = { type: 'reload-rejected', trigger: 'test', errors: [] } as const;

describe('registry writes', () => {
  it('none without a lease; at once when one is granted, under gotorch/<fleet>/hosts/<host>', async () => {
    const h = harness();
    h.clock.advance(5000);
    await turn();
    expect(h.writes).toEqual([]);
    h.up();
    await turn();
    expect(h.writes).toEqual([{ key: 'gotorch/prod/hosts/web-1', at: h.clock.now(), record: expect.objectContaining({ host: 'web-1', digest: 'abc', taskCount: 1 }) }]);
    expect(h.writes[0].record).not.toHaveProperty('tasks');
    // The names first, under their own key: a reader that finds the record finds them.
    expect(h.all.map((write) => write.key)).toEqual(['gotorch/prod/tasks/web-1', 'gotorch/prod/hosts/web-1']);
    expect(h.names[0].record).toEqual({ digest: 'abc', tasks: ['report'] });
    h.registry.close();
  });

  it('the task names are written again only after a reload or on a new lease, not with every change of the record', async () => {
    const h = harness();
    h.up();
    await turn();
    for (let second = 0; second < 5; second++) {
      h.events.publish(reload);
      h.clock.advance(1000);
      await turn();
    }
    expect(h.writes.length).toBeGreaterThanOrEqual(5);
    expect(h.names).toHaveLength(1);
    h.reloaded('def', ['report', 'cleanup']);
    h.events.publish(reload);
    h.clock.advance(1000);
    await turn();
    expect(h.names.map((write) => write.record)).toEqual([{ digest: 'abc', tasks: ['report'] }, { digest: 'def', tasks: ['report', 'cleanup'] }]);
    h.down();
    h.up();
    await turn();
    expect(h.names).toHaveLength(3);
    h.registry.close();
  });

  it('many changes within a second: one write, on the next one-second timer; no change, no write', async () => {
    const h = harness();
    h.up();
    await turn();
    for (let i = 0; i < 50; i++) h.events.publish(reload);
    // Delivery is budgeted per event-loop turn (src/events.ts): on a loaded machine 50 take more than one.
    await h.events.drained();
    await turn();
    expect(h.writes).toHaveLength(1);
    h.clock.advance(1000);
    await turn();
    expect(h.writes).toHaveLength(2);
    h.clock.advance(10_000);
    await turn();
    expect(h.writes).toHaveLength(2);
    const gaps = h.writes.slice(1).map((write, index) => write.at - h.writes[index].at);
    expect(gaps.every((gap) => gap >= 1000)).toBe(true);
    h.registry.close();
  });

  it('a failed write is tried again on the next timer; after an outage the new lease writes at once', async () => {
    const h = harness();
    h.up();
    await turn();
    h.setFailing(true);
    h.events.publish(reload);
    await turn();
    h.clock.advance(1000);
    await turn();
    expect(h.writes).toHaveLength(1);
    h.down();
    h.setFailing(false);
    h.clock.advance(3000);
    await turn();
    expect(h.writes).toHaveLength(1);
    h.up();
    await turn();
    expect(h.writes).toHaveLength(2);
    h.registry.close();
    h.events.publish(reload);
    h.clock.advance(5000);
    await turn();
    expect(h.writes).toHaveLength(2);
  });
});
