/**
 * SPEC §10 `singleton=yes` with three real daemons (three `--host-id` identities on loopback, each in
 * its own sandbox) and one real etcd: an every-second singleton runs exactly once per second in the
 * whole fleet, and a task without it runs on every host.
 */
import { mkdtempSync, readFileSync, existsSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sandboxes } from '../../control/sandbox.js';
import { ETCD, EtcdServer } from '../../helpers/etcd.js';
import { waitFor } from '../../helpers/processes.js';
import { newFleet, startHost } from '../etcd/fleet-support.js';

const NAMES = ['web-1', 'web-2', 'web-3'];
const WINDOW_S = 15;

describe.skipIf(ETCD === undefined)('singleton=yes across three daemons (SPEC §10)', () => {
  let etcd: EtcdServer;
  const shared = mkdtempSync(path.join(os.tmpdir(), 'gotorch-singleton-'));
  const sandbox = sandboxes();
  beforeAll(async () => {
    etcd = await EtcdServer.start();
  });
  afterAll(async () => {
    await etcd?.stop();
    rmSync(shared, { recursive: true, force: true });
  });

  /** `second host` lines the jobs of all three hosts append to one file. */
  const seen = (file: string): [number, string][] =>
    existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean).map((line) => line.split(' ')).map(([second, host]) => [Number(second), host]) : [];

  it(`an every-second singleton runs exactly once per second in the fleet for ${WINDOW_S} s; a local task runs on every host`, async () => {
    const fleet = newFleet();
    const single = path.join(shared, 'single');
    const local = path.join(shared, 'local');
    await Promise.all(
      NAMES.map((name) =>
        startHost(sandbox(), etcd, fleet, name, [
          `WHO=${name}`,
          `* * * * * * * 1 cron name=single singleton=yes echo "$GOTORCH_SCHEDULED_AT $WHO" >> ${single}`,
          `* * * * * * * 1 cron name=local echo "$GOTORCH_SCHEDULED_AT $WHO" >> ${local}`,
        ]),
      ),
    );
    // From the first second every host ran its local task: all three are up and claiming.
    const from = await waitFor(() => {
      const byHost = new Map<string, number>();
      for (const [second, host] of seen(local)) if (!byHost.has(host)) byHost.set(host, second);
      return byHost.size === 3 ? Math.max(...byHost.values()) + 1 : undefined;
    }, 20_000, 'every host running');
    const until = from + WINDOW_S - 1;
    await waitFor(() => seen(single).some(([second]) => second > until + 1), WINDOW_S * 1000 + 10_000, `the singleton past ${until}`);
    const runs = seen(single).filter(([second]) => second >= from && second <= until);
    const perSecond = new Map<number, string[]>();
    for (const [second, host] of runs) perSecond.set(second, [...(perSecond.get(second) ?? []), host]);
    const hosts = new Set(runs.map(([, host]) => host));
    console.log(`singleton across 3 daemons: ${WINDOW_S} s, ${runs.length} runs, by host ${[...hosts].map((host) => `${host} ${runs.filter(([, who]) => who === host).length}`).join(', ')}`);
    const window = Array.from({ length: WINDOW_S }, (_, index) => from + index);
    expect(window.filter((second) => perSecond.get(second)?.length !== 1).map((second) => [second, perSecond.get(second) ?? []])).toEqual([]);
    // The local task ran on every host every second meanwhile.
    const locals = seen(local).filter(([second]) => second >= from && second <= until);
    expect(locals.length).toBe(3 * WINDOW_S);
  }, 90_000);
});
