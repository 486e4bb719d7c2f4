/**
 * SPEC §10 "etcd unreachable": etcd SIGSTOPped for 3 × TTL, then continued; etcd killed and started
 * again. Local tasks keep their schedule throughout (the tick never waits on etcd), the daemon logs the
 * outage once and the recovery once, reconnects by itself, and its registry record comes back.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sandboxes } from '../../control/sandbox.js';
import { freePort } from '../../../scripts/bench/free-port.js';
import { ETCD, EtcdServer } from '../../helpers/etcd.js';
import { waitFor } from '../../helpers/processes.js';
import { fleetCli, fleetJson, newFleet, startHost, waitForFleet } from './fleet-support.js';

const TTL_MS = 3000;

describe.skipIf(ETCD === undefined)('etcd trouble (SPEC §10)', () => {
  let etcd: EtcdServer;
  const sandbox = sandboxes();
  beforeAll(async () => {
    etcd = await EtcdServer.start();
  });
  afterAll(async () => etcd?.stop());

  it('SIGSTOP for 3 × TTL then SIGCONT; kill -9 and restart: every second ran once, one outage line and one recovery line each, the record back', async () => {
    const fleet = newFleet();
    const box = sandbox();
    const seconds = path.join(box.dir, 'seconds');
    const port = await freePort();
    const host = await startHost(box, etcd, fleet, 'web-1', [`* * * * * *  *  0  cron  name=every  echo $GOTORCH_SCHEDULED_AT >> ${seconds}`], '3s', ['--metrics', String(port)]);
    await waitForFleet(etcd, fleet, (view) => view.hosts.length === 1, 20_000, 'web-1 in the registry');
    const fleetUp = async (): Promise<number> => Number(/^gotorch_fleet_up (\d)$/m.exec(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text())?.[1]);
    expect(await fleetUp()).toBe(1);
    const messages = (msg: string): number => box.daemonRecords().filter((record) => record.msg === msg).length;
    expect(messages('fleet connection up')).toBe(1);

    etcd.pause();
    const pausedAt = Date.now();
    try {
      // The watchdog, not etcd3's late `lost` (microsoft/etcd3#155): down within the TTL of the last keep-alive.
      const down = await box.waitForLog('fleet connection down', {}, TTL_MS + 2000);
      expect(Number(down.time) - pausedAt).toBeLessThan(TTL_MS);
      const status = (await box.status()) as unknown as { fleet: { etcd: string } };
      expect(status.fleet.etcd).toBe('down');
      expect(await fleetUp()).toBe(0);
      // The outage lasts 3 × TTL in all (the stimulus, not a wait for a condition).
      await waitFor(() => Date.now() - pausedAt >= 3 * TTL_MS, 4 * TTL_MS, '3 × TTL of outage');
    } finally {
      etcd.resume();
    }
    const resumedAt = Date.now();
    await waitFor(() => messages('fleet connection up') === 2, 20_000, 'the recovery in gotorch.log');
    console.log(`etcd SIGSTOP: reconnected ${Date.now() - resumedAt} ms after SIGCONT`);
    await waitForFleet(etcd, fleet, (view) => view.hosts.length === 1 && view.hosts[0].pid === host.pid, 10_000, 'the record back');
    expect(messages('fleet connection down')).toBe(1);
    expect(await fleetUp()).toBe(1);
    expect(messages('fleet: etcd does not answer; retrying with back-off (local tasks are not affected)')).toBe(0);
    expect(messages('fleet registry: could not write this host record; retrying every second')).toBeLessThanOrEqual(1);

    await etcd.restart();
    const restartedAt = Date.now();
    // The record is rewritten on a live lease after the restart, and stays past the old lease's TTL.
    await waitForFleet(etcd, fleet, (view) => view.hosts.length === 1 && (view.hosts[0] as unknown as { writtenAt: number }).writtenAt > restartedAt, 20_000, 'the record rewritten after the restart');
    await waitFor(() => Date.now() - restartedAt >= 2 * TTL_MS, 3 * TTL_MS, '2 × TTL after the restart');
    expect((await fleetJson(etcd, fleet)).hosts.map((entry) => entry.host)).toEqual(['web-1']);
    expect(messages('fleet connection down')).toBeLessThanOrEqual(2);
    expect(messages('fleet connection up')).toBe(messages('fleet connection down') + 1);

    // The local schedule throughout: every second from the first fire to the last exactly once (SPEC §3), no gap, no double.
    const ran = await waitFor(() => (box.numbers('seconds').length > 0 ? box.numbers('seconds') : undefined), 1000, 'fires');
    const first = ran[0];
    const last = Math.max(...ran);
    expect(last - first).toBeGreaterThanOrEqual(Math.floor((Date.now() - pausedAt) / 1000) - 2);
    const expected = Array.from({ length: last - first + 1 }, (_, index) => first + index);
    expect([...ran].sort((a, b) => a - b)).toEqual(expected);
    const late = box.runRecords().filter((record) => record.msg === 'run finished' && record.task === 'every' && Number(record.lateMs ?? 0) > 1000);
    expect(late).toEqual([]);

    // The command watch reconnected too: a fleet command is answered after the outages.
    const watchedAgainAt = Date.now();
    const answered = await waitFor(async () => {
      const result = await fleetCli(etcd, fleet, 'kill', 'every', '--timeout', '2s');
      return result.code === 0 ? result : undefined;
    }, 20_000, 'fleet kill answered after the restart');
    expect(answered.stdout).toMatch(/^web-1: stopped \d+ running instance\(s\)\n$/);
    console.log(`fleet kill answered ${Date.now() - watchedAgainAt} ms after the checks began`);
  }, 120_000);
});
