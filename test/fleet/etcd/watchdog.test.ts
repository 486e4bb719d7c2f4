import { describe, expect, it } from 'vitest';
import { LeaseWatchdog, watchdogMargin } from '../../../src/fleet/etcd/watchdog.js';
import { FakeClock } from '../../helpers/fake-clock.js';

const T0 = 1_700_000_000_000;

function watchdog(ttlMs: number, earlyMs = 0): { clock: FakeClock; dog: LeaseWatchdog; expiries: number[] } {
  const clock = new FakeClock(T0, earlyMs);
  const expiries: number[] = [];
  const dog = new LeaseWatchdog(clock, ttlMs, () => expiries.push(clock.now()));
  return { clock, dog, expiries };
}

describe('watchdog margin', () => {
  it.each([
    { ttlMs: 2000, margin: 500 },
    { ttlMs: 3000, margin: 600 },
    { ttlMs: 10_000, margin: 2000 },
    { ttlMs: 60_000, margin: 2000 },
  ])('TTL $ttlMs ms: $margin ms', ({ ttlMs, margin }) => expect(watchdogMargin(ttlMs)).toBe(margin));
});

describe('lease watchdog (issue 14: own deadline from the last confirmed keep-alive, not etcd3 lost)', () => {
  it('expires once at grant send time + TTL − margin when no keep-alive is confirmed', () => {
    const { clock, dog, expiries } = watchdog(10_000);
    dog.granted(T0);
    expect(dog.deadline).toBe(T0 + 8000);
    clock.advanceTo(T0 + 7999);
    expect(dog.isAlive()).toBe(true);
    expect(expiries).toEqual([]);
    clock.advanceTo(T0 + 60_000);
    expect(expiries).toEqual([T0 + 8000]);
    expect(dog.isAlive()).toBe(false);
    expect(dog.lastKeepAliveAt).toBeUndefined();
  });

  it('a confirmed keep-alive moves the deadline to its send time + TTL − margin, not its answer time', () => {
    const { clock, dog, expiries } = watchdog(3000);
    dog.granted(T0);
    clock.advanceTo(T0 + 1000);
    dog.fired();
    clock.advanceTo(T0 + 1900); // a slow answer: 900 ms later
    dog.succeeded();
    expect(dog.lastKeepAliveAt).toBe(T0 + 1000);
    expect(dog.deadline).toBe(T0 + 1000 + 3000 - 600);
    clock.advanceTo(T0 + 3399);
    expect(expiries).toEqual([]);
    clock.advanceTo(T0 + 3400);
    expect(expiries).toEqual([T0 + 3400]);
  });

  it('answers are matched to requests in order: two in flight, one answered, counts from the older one', () => {
    const { clock, dog } = watchdog(3000);
    dog.granted(T0);
    clock.advanceTo(T0 + 1000);
    dog.fired();
    clock.advanceTo(T0 + 2000);
    dog.fired();
    dog.succeeded();
    expect(dog.lastKeepAliveAt).toBe(T0 + 1000);
    dog.succeeded();
    expect(dog.lastKeepAliveAt).toBe(T0 + 2000);
  });

  it('requests sent on a stream that was opened again earn nothing; an answer with no request seen moves nothing', () => {
    const { clock, dog } = watchdog(3000);
    dog.granted(T0);
    clock.advanceTo(T0 + 1000);
    dog.fired();
    dog.streamRestarted();
    dog.succeeded();
    expect(dog.lastKeepAliveAt).toBe(T0);
  });

  it('regular keep-alives every TTL/3 keep it alive for as long as they come', () => {
    const { clock, dog, expiries } = watchdog(3000);
    dog.granted(T0);
    for (let at = T0 + 1000; at <= T0 + 60_000; at += 1000) {
      clock.advanceTo(at);
      dog.fired();
      clock.advance(50);
      dog.succeeded();
      expect(dog.isAlive()).toBe(true);
    }
    expect(expiries).toEqual([]);
    clock.advance(3000);
    expect(expiries).toEqual([T0 + 60_000 + 3000 - 600]);
  });

  it('a timer that fires a few ms early expires it then: never later than the deadline (the safe side)', () => {
    const { clock, dog, expiries } = watchdog(3000, 5);
    dog.granted(T0);
    clock.advanceTo(T0 + 2394);
    expect(expiries).toEqual([]);
    clock.advanceTo(T0 + 2395);
    expect(expiries).toEqual([T0 + 2395]);
  });

  it('stop() cancels: no expiry after a lease given up, and a new grant starts afresh', () => {
    const { clock, dog, expiries } = watchdog(3000);
    dog.granted(T0);
    dog.stop();
    clock.advanceTo(T0 + 10_000);
    expect(expiries).toEqual([]);
    expect(clock.pending).toBe(0);
    dog.granted(T0 + 10_000);
    clock.advanceTo(T0 + 20_000);
    expect(expiries).toEqual([T0 + 12_400]);
  });
});
