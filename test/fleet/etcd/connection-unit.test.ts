/**
 * The connection's state machine on a fake etcd client and the fake clock: grants with back-off while
 * etcd does not answer (logged once), up with a lease, down by the watchdog or by etcd's `lost` (once),
 * a new lease after it, a grant answered too late dropped, and a close that revokes.
 */
import { EventEmitter } from 'node:events';
import type { Etcd3 } from 'etcd3';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { EtcdConnection } from '../../../src/fleet/etcd/connection.js';
import { FakeClock } from '../../helpers/fake-clock.js';

const turn = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
};

class FakeLease extends EventEmitter {
  released = false;
  revoked = false;
  private settle!: { resolve: (id: string) => void; reject: (error: Error) => void };
  private readonly granted = new Promise<string>((resolve, reject) => (this.settle = { resolve, reject }));
  constructor(readonly ttlS: number) {
    super();
    this.granted.catch(() => undefined);
  }
  grant(): Promise<string> {
    return this.granted;
  }
  answer(id: string): void {
    this.settle.resolve(id);
  }
  refuse(): void {
    this.settle.reject(new Error('14 UNAVAILABLE: connect ECONNREFUSED'));
  }
  release(): void {
    this.released = true;
  }
  async revoke(): Promise<void> {
    this.revoked = true;
  }
}

function harness(ttlMs = 3000) {
  const clock = new FakeClock();
  const leases: FakeLease[] = [];
  let closed = false;
  const client = {
    lease: (ttl: number) => {
      const lease = new FakeLease(ttl);
      leases.push(lease);
      return lease;
    },
    close: () => (closed = true),
  } as unknown as Etcd3;
  const logs: { msg: string; level: number }[] = [];
  const log = pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line) as { msg: string; level: number }) });
  const connection = EtcdConnection.over(client, { endpoints: ['http://e:2379'], fleet: 'prod', ttlMs, tls: {} }, 'web-1', log, clock);
  const events: string[] = [];
  connection.on('up', () => events.push('up'));
  connection.on('down', () => events.push('down'));
  const said = (msg: string): number => logs.filter((record) => record.msg === msg).length;
  return { clock, leases, connection, events, said, isClosed: () => closed };
}

describe('fleet connection', () => {
  it('etcd does not answer: retries at 0.5 s doubling, says so once; then up with a lease of the TTL', async () => {
    const h = harness();
    const asked: number[] = [];
    for (let i = 0; i < 4; i++) {
      await turn();
      asked.push(h.clock.now());
      expect(h.leases).toHaveLength(i + 1);
      h.leases[i].refuse();
      await turn();
      h.clock.advance(500 * 2 ** i);
    }
    expect(asked.map((at) => at - asked[0])).toEqual([0, 500, 1500, 3500]);
    expect(h.said('fleet: etcd does not answer; retrying with back-off (local tasks are not affected)')).toBe(1);
    expect(h.connection.isUp()).toBe(false);
    expect(h.connection.lease).toBeUndefined();
    await turn();
    const lease = h.leases[4];
    expect(lease.ttlS).toBe(3);
    const sentAt = h.clock.now();
    h.clock.advance(100);
    lease.answer('77');
    await turn();
    expect(h.events).toEqual(['up']);
    expect(h.connection.isUp()).toBe(true);
    expect(h.connection.lease).toBe(lease);
    expect(h.connection.lastKeepAliveAt()).toBe(sentAt);
    expect(h.connection.key('hosts', 'web-1')).toBe('gotorch/prod/hosts/web-1');
    expect(h.said('fleet connection up')).toBe(1);
  });

  it('keep-alives keep it up; without them it is down at the deadline (once), and a new lease comes with the next up', async () => {
    const h = harness();
    await turn();
    h.leases[0].answer('1');
    await turn();
    for (let i = 0; i < 5; i++) {
      h.clock.advance(1000);
      h.leases[0].emit('keepaliveFired');
      h.clock.advance(20);
      h.leases[0].emit('keepaliveSucceeded', {});
      expect(h.connection.isUp()).toBe(true);
    }
    const lastSent = h.connection.lastKeepAliveAt() as number;
    h.clock.advanceTo(lastSent + 3000 - 600 - 1);
    expect(h.events).toEqual(['up']);
    h.clock.advanceTo(lastSent + 3000 - 600);
    expect(h.events).toEqual(['up', 'down']);
    expect(h.connection.isUp()).toBe(false);
    expect(h.connection.lease).toBeUndefined();
    expect(h.leases[0].released).toBe(true);
    h.clock.advance(500);
    await turn();
    expect(h.leases).toHaveLength(2);
    h.leases[1].answer('2');
    await turn();
    expect(h.events).toEqual(['up', 'down', 'up']);
    expect(h.connection.lease).toBe(h.leases[1]);
    expect([h.said('fleet connection down'), h.said('fleet connection up')]).toEqual([1, 2]);
  });

  it("etcd's own lost event is a down too, once; events of a lease given up are ignored", async () => {
    const h = harness();
    await turn();
    h.leases[0].answer('1');
    await turn();
    h.leases[0].emit('lost', new Error('lease expired'));
    h.leases[0].emit('lost', new Error('again'));
    expect(h.events).toEqual(['up', 'down']);
  });

  it('a grant answered after TTL/3 (sent into a hung etcd) is dropped and asked again at once, with no up', async () => {
    const h = harness();
    await turn();
    h.clock.advance(1000);
    h.leases[0].answer('1');
    await turn();
    h.clock.advance(0);
    await turn();
    expect(h.events).toEqual([]);
    expect(h.leases[0].revoked).toBe(true);
    expect(h.leases).toHaveLength(2);
    h.leases[1].answer('2');
    await turn();
    expect(h.events).toEqual(['up']);
  });

  it('close revokes the lease (the record goes at once) and asks for no other', async () => {
    const h = harness();
    await turn();
    h.leases[0].answer('1');
    await turn();
    await h.connection.close();
    expect(h.leases[0].revoked).toBe(true);
    expect(h.isClosed()).toBe(true);
    h.clock.advance(60_000);
    await turn();
    expect(h.leases).toHaveLength(1);
    expect(h.events).toEqual(['up']);
  });
});
