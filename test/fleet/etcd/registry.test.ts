/**
 * SPEC §10 registry and fleet commands with three daemons (three `--host-id` identities on loopback,
 * each in its own sandbox) and one real etcd: `fleet status` (table, --json, --tasks), a kill -9'd host
 * gone within the TTL, drift, `fleet kill` / `fleet run` with one line per host and their exit codes.
 */
import { appendFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sandboxes } from '../../control/sandbox.js';
import { ETCD, EtcdServer } from '../../helpers/etcd.js';
import { isAlive, waitFor } from '../../helpers/processes.js';
import { fleetCli, hostNames, killHost, newFleet, startHost, waitForFleet, type FleetHost } from './fleet-support.js';

const NAMES = ['web-1', 'web-2', 'web-3'];
/** A task every host runs, one only web-1 runs, and a long one that never fires by itself (kill/run). */
const LINES = [
  '*/2 * * * * *  *      1  cron  name=tick  true',
  '0 0 0 1 1 *    web-1  1  cron  name=only-web-1  true',
  '0 0 0 1 1 *    *      2  cron  name=sleeper  sleep 60',
];

describe.skipIf(ETCD === undefined)('fleet registry and commands (SPEC §10)', () => {
  let etcd: EtcdServer;
  const sandbox = sandboxes();
  beforeAll(async () => {
    etcd = await EtcdServer.start();
  });
  afterAll(async () => etcd?.stop());

  const startThree = (fleet: string, ttl = '3s'): Promise<FleetHost[]> => Promise.all(NAMES.map((name) => startHost(sandbox(), etcd, fleet, name, LINES, ttl)));

  it('fleet status shows every live host (table, --json, --tasks); a kill -9 leaves two within TTL + 2 s; an edited file shows as drift', async () => {
    const fleet = newFleet();
    const hosts = await startThree(fleet);
    const view = await waitForFleet(etcd, fleet, (seen) => seen.hosts.length === 3 && seen.hosts.every((host) => host.lastResults.tick !== undefined), 20_000, 'three hosts with a finished tick');
    expect(hostNames(view)).toEqual(NAMES);
    expect(view.hosts.map((host) => host.pid)).toEqual(hosts.map((host) => host.pid));
    expect(view.hosts.every((host) => !host.drift && host.digest === view.commonDigest)).toBe(true);
    expect(view.hosts.map((host) => host.tasks.includes('only-web-1'))).toEqual([true, false, false]);

    const table = await fleetCli(etcd, fleet, 'status');
    expect(table.code).toBe(0);
    expect(table.stdout).toContain(`fleet "${fleet}": 3 live host(s)`);
    expect(table.stdout).toMatch(/^HOST +PID +VERSION +UP +DIGEST +TASKS +RUNNING +LAST RELOAD$/m);
    for (const host of hosts) expect(table.stdout).toMatch(new RegExp(`^${host.name} +${host.pid} +0\\.1\\.0 +\\S+ +${view.commonDigest?.slice(0, 12)} +${host.name === 'web-1' ? 3 : 2} `, 'm'));
    expect(table.stdout).not.toContain('drift');

    const matrix = await fleetCli(etcd, fleet, 'status', '--tasks');
    expect(matrix.code).toBe(0);
    expect(matrix.stdout).toMatch(/^TASK +web-1 +web-2 +web-3$/m);
    expect(matrix.stdout).toMatch(/^only-web-1 +- +\. +\.$/m);
    expect(matrix.stdout).toMatch(/^tick +\S+ ok +\S+ ok +\S+ ok$/m);

    // SPEC §10: gone within the lease TTL when the host dies (no clean stop revokes it).
    const [, web2, web3] = hosts;
    killHost(web3);
    const killedAt = Date.now();
    await waitFor(() => !isAlive(web3.pid), 5000, 'web-3 to die');
    await waitForFleet(etcd, fleet, (seen) => seen.hosts.length === 2, 3000 + 2000, 'web-3 gone within TTL + 2 s');
    const goneAfterMs = Date.now() - killedAt;
    expect(hostNames(await waitForFleet(etcd, fleet, () => true, 1000, 'a status'))).toEqual(['web-1', 'web-2']);
    console.log(`kill -9 of a host: gone from the registry after ${goneAfterMs} ms (TTL 3 s)`);

    appendFileSync(web2.box.conf, '# an edit on web-2 only\n');
    const drifted = await waitForFleet(etcd, fleet, (seen) => seen.hosts.some((host) => host.drift), 10_000, 'web-2 flagged as drift');
    expect(drifted.hosts.map((host) => [host.host, host.drift])).toEqual([['web-1', false], ['web-2', true]]);
    const flagged = await fleetCli(etcd, fleet, 'status');
    expect(flagged.stdout).toMatch(/^web-2 .* drift /m);
    expect(flagged.stdout).not.toMatch(/^web-1 .* drift /m);
  }, 90_000);

  it('fleet run / fleet kill: one line per host and the exit code; --host; a stopped daemon is "no answer" (exit 1); a task no host runs is an error', async () => {
    const fleet = newFleet();
    // A 10 s TTL: a SIGSTOPped daemon stays in the registry long enough to be asked.
    const hosts = await startThree(fleet, '10s');
    await waitForFleet(etcd, fleet, (seen) => seen.hosts.length === 3, 20_000, 'three hosts');

    const run = await fleetCli(etcd, fleet, 'run', 'sleeper');
    expect(run).toMatchObject({ code: 0, stdout: 'web-1: started\nweb-2: started\nweb-3: started\n' });
    await waitForFleet(etcd, fleet, (seen) => seen.hosts.every((host) => host.running.some((job) => job.task === 'sleeper')), 10_000, 'sleeper running on every host');

    const one = await fleetCli(etcd, fleet, 'run', 'only-web-1');
    expect(one).toMatchObject({ code: 0, stdout: 'web-1: started\n' });

    const kill = await fleetCli(etcd, fleet, 'kill', 'sleeper', '--host', 'web-2');
    expect(kill).toMatchObject({ code: 0, stdout: 'web-2: stopped 1 running instance(s)\n' });

    const unknown = await fleetCli(etcd, fleet, 'run', 'no-such-task');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('no live host runs a task named "no-such-task"');
    const absent = await fleetCli(etcd, fleet, 'kill', 'sleeper', '--host', 'db-9');
    expect(absent.code).toBe(1);
    expect(absent.stderr).toContain('host "db-9" is not live in the fleet');

    // A failed answer: web-2's sleeper was killed; run it twice there with max=2, the third is refused.
    await fleetCli(etcd, fleet, 'run', 'sleeper', '--host', 'web-2');
    await fleetCli(etcd, fleet, 'run', 'sleeper', '--host', 'web-2');
    const full = await fleetCli(etcd, fleet, 'run', 'sleeper', '--host', 'web-2');
    expect(full).toMatchObject({ code: 1, stdout: 'web-2: failed: "sleeper" already runs 2 instance(s) (max)\n' });

    const web3 = hosts[2];
    process.kill(web3.pid, 'SIGSTOP');
    try {
      const started = Date.now();
      const partial = await fleetCli(etcd, fleet, 'kill', 'sleeper', '--timeout', '2s');
      expect(partial.code).toBe(1);
      expect(partial.stdout).toBe('web-1: stopped 1 running instance(s)\nweb-2: stopped 2 running instance(s)\nweb-3: no answer within 2 s\n');
      expect(Date.now() - started).toBeLessThan(10_000);
    } finally {
      process.kill(web3.pid, 'SIGCONT');
    }
  }, 90_000);
});
