/**
 * SPEC §10 connection at start: a standalone daemon never loads etcd3 or gRPC (STYLE: optional
 * engines load lazily); an etcd that does not answer does not fail the start (the daemon connects
 * once it does); a bad option does, saying why.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sandboxes } from '../../control/sandbox.js';
import { ETCD, EtcdServer } from '../../helpers/etcd.js';
import { runCli, waitFor } from '../../helpers/processes.js';
import { fleetJson, newFleet } from './fleet-support.js';

const LINES = ['*/5 * * * * *  *  1  cron  name=tick  true'];

interface FleetStatusJson {
  readonly fleet: { readonly fleet: string; readonly host: string; readonly etcd: 'up' | 'down'; readonly lastKeepAliveAgeMs: number | null; readonly ttlMs: number } | null;
  readonly loadedEngines: readonly string[];
}

describe.skipIf(ETCD === undefined)('fleet connection (SPEC §10)', () => {
  let etcd: EtcdServer;
  const sandbox = sandboxes();
  beforeAll(async () => {
    etcd = await EtcdServer.start();
  });
  afterAll(async () => etcd?.stop());

  it('a standalone daemon loads neither etcd3 nor gRPC, and status shows no fleet', async () => {
    const box = sandbox();
    box.write(LINES);
    await box.start();
    const status = (await box.status()) as unknown as FleetStatusJson;
    expect(status.fleet).toBeNull();
    expect(status.loadedEngines).toEqual([]);
    expect((await box.cli('status')).stdout).not.toContain('fleet:');
  });

  it('etcd down at start: the start succeeds, says so once, and the daemon joins once etcd answers', async () => {
    const fleet = newFleet();
    await etcd.kill();
    const box = sandbox();
    box.write(LINES);
    try {
      await box.start('--host-id', 'web-1', '--etcd', etcd.url, '--fleet', fleet, '--fleet-ttl', '3s');
      const down = (await box.status()) as unknown as FleetStatusJson;
      expect(down.fleet).toMatchObject({ fleet, host: 'web-1', etcd: 'down', lastKeepAliveAgeMs: null, ttlMs: 3000 });
      expect(down.loadedEngines).toEqual(expect.arrayContaining(['etcd3', '@grpc/grpc-js']));
      expect((await box.cli('status')).stdout).toContain(`fleet: ${fleet} as web-1 on ${etcd.url}: etcd down, no lease (reconnecting) (TTL 3s)`);
      await box.waitForLog('fleet: etcd does not answer; retrying with back-off (local tasks are not affected)', {}, 10_000);
      // Several retries later (back-off 0.5 s doubling), still one line.
      const unanswered = (): number => box.daemonRecords().filter((record) => record.msg === 'fleet: etcd does not answer; retrying with back-off (local tasks are not affected)').length;
      await box.waitForFinished('tick', 1, 10_000);
      expect(unanswered()).toBe(1);
    } finally {
      await etcd.restart();
    }
    const restartedAt = Date.now();
    await box.waitForLog('fleet connection up', {}, 30_000);
    console.log(`etcd down at start: joined ${Date.now() - restartedAt} ms after etcd answered`);
    const view = await waitFor(async () => ((await fleetJson(etcd, fleet)).hosts.length === 1 ? fleetJson(etcd, fleet) : undefined), 10_000, 'web-1 in the registry');
    expect(view.hosts[0]).toMatchObject({ host: 'web-1', tasks: ['tick'] });
    const up = (await box.status()) as unknown as FleetStatusJson;
    expect(up.fleet?.etcd).toBe('up');
    expect(up.fleet?.lastKeepAliveAgeMs).toBeLessThan(3000);
    expect((await box.cli('status')).stdout).toMatch(new RegExp(`^fleet: ${fleet} as web-1 on ${etcd.url.replaceAll('.', '\\.')}: etcd up, last keep-alive \\d+\\.\\ds ago \\(TTL 3s\\)$`, 'm'));

    // A clean stop revokes the lease: the record goes at once, not a TTL later.
    expect((await box.cli('stop')).code).toBe(0);
    expect((await fleetJson(etcd, fleet)).hosts).toEqual([]);
  }, 90_000);

  it('restart keeps the running daemon\'s fleet options and --host-id; the new daemon replaces the old one in the registry', async () => {
    const fleet = newFleet();
    const box = sandbox();
    box.write(LINES);
    const first = await box.start('--host-id', 'web-1', '--etcd', etcd.url, '--fleet', fleet, '--fleet-ttl', '4s');
    await waitFor(async () => (await fleetJson(etcd, fleet)).hosts[0]?.pid === first, 10_000, 'the first daemon in the registry');
    // Neither --host-id nor the fleet options given: both are the running daemon's.
    const restarted = await box.cli('restart');
    expect(restarted.code).toBe(0);
    const second = box.pidfilePid();
    expect(second).not.toBe(first);
    const status = (await box.status()) as unknown as FleetStatusJson;
    expect(status.fleet).toMatchObject({ fleet, host: 'web-1', ttlMs: 4000 });
    const view = await waitFor(async () => {
      const seen = await fleetJson(etcd, fleet);
      return seen.hosts.length === 1 && seen.hosts[0].pid === second ? seen : undefined;
    }, 10_000, 'the restarted daemon in the registry');
    expect(view.hosts.map((entry) => entry.host)).toEqual(['web-1']);
  }, 60_000);

  it.each([
    { args: ['status', '--etcd', 'http://127.0.0.1:1'], code: 1, stderr: 'gotorch: etcd did not answer: ' },
    { args: ['status'], code: 2, stderr: 'gotorch: the fleet commands need --etcd <urls> (or GOTORCH_ETCD)' },
    { args: ['kill', 'x', '--etcd', 'http://127.0.0.1:1', '--timeout', '0s'], code: 2, stderr: '--timeout "0s": write 1s to 10m' },
  ])('fleet $args: exit $code', async ({ args, code, stderr }) => {
    const run = runCli(['fleet', ...args]);
    expect(await run.closed).toBe(code);
    expect(run.stderr()).toContain(stderr);
  });

  it.each([
    { args: ['--etcd', '127.0.0.1:2379'], code: 2, stderr: '"127.0.0.1:2379" needs its scheme: write http://127.0.0.1:2379' },
    { args: ['--etcd', 'http://127.0.0.1:2379', '--fleet', 'a/b'], code: 2, stderr: '--fleet "a/b": use letters, digits and - _ . only' },
    { args: ['--etcd', 'http://127.0.0.1:2379', '--fleet-ttl', '1s'], code: 2, stderr: 'write whole seconds from 2s to 1h' },
    { args: ['--etcd-ca', 'ca.pem'], code: 2, stderr: '--etcd-ca needs --etcd <urls>' },
    { args: ['--etcd', 'http://127.0.0.1:2379', '--etcd-ca', 'missing-ca.pem'], code: 1, stderr: `--etcd-ca ${path.sep}` },
  ])('a bad option fails the start: $args', async ({ args, code, stderr }) => {
    const box = sandbox();
    box.write(LINES);
    const result = await box.cli('start', ...args);
    expect(result.code).toBe(code);
    expect(result.stderr).toContain(stderr);
    if (args.includes('missing-ca.pem')) expect(result.stderr).toMatch(/--etcd-ca \/\S+\/missing-ca\.pem: no such file/);
    expect(box.pidfilePid()).toBeUndefined();
  });
});
