/**
 * SPEC §10 daemon-type singleton on a real etcd: three hosts (etcd3 clients with their own leases), each
 * a supervisor on the scripted spawner ticked as the daemon does. The holder host dies (its lease left
 * to expire) or is cut off from etcd while it runs on; another host takes over within TTL + 2 s, and
 * a cut-off holder stopped its instances before that.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../../src/clock.js';
import { singletonLink } from '../../../src/fleet/singleton/etcd-link.js';
import { Leadership } from '../../../src/fleet/singleton/leadership.js';
import type { Supervisor } from '../../../src/supervisor/supervisor.js';
import { ETCD, EtcdServer } from '../../helpers/etcd.js';
import { waitFor } from '../../helpers/processes.js';
import { captureLogger, makeTask, ScriptedSpawner, wiredSupervisor } from '../../supervisor/fakes.js';
import { connect, type TestConnection } from './etcd-connection.js';

const TTL_S = 4;
const worker = makeTask({ id: 'worker', type: 'daemon', max: 1, command: 'node worker.js' }, { singleton: true, graceMs: 500 });

interface Host {
  readonly name: string;
  readonly connected: TestConnection;
  readonly spawner: ScriptedSpawner;
  readonly leadership: Leadership;
  readonly supervisor: Supervisor;
  readonly timer: NodeJS.Timeout;
  /** When its instances were sent TERM and when they exited. */
  stoppedAt?: number;
}

async function host(url: string, fleet: string, name: string): Promise<Host> {
  const connected = await connect(url, fleet, name, TTL_S);
  const link = singletonLink(connected.connection, systemClock);
  const spawner = new ScriptedSpawner();
  const { supervisor } = wiredSupervisor({ clock: systemClock, spawner, baseEnv: {} });
  supervisor.setTasks([worker]);
  const leadership = new Leadership({ link: () => link, clock: systemClock, log: captureLogger().logger, instance: name, changed: (task, may) => supervisor.keepDaemons(task, may) });
  // The tick (every 50 ms here, to see a handover sooner); a child sent TERM exits at once (it is a fake).
  const tick = (): void => {
    supervisor.keepDaemons(worker, leadership.mayRun(worker, true));
    for (const child of spawner.alive()) {
      if (!child.signals.includes('SIGTERM')) continue;
      self.stoppedAt ??= Date.now();
      child.exit(null, 'SIGTERM');
    }
  };
  const self: Host = { name, connected, spawner, leadership, supervisor, timer: setInterval(tick, 50) };
  return self;
}

const holders = (hosts: readonly Host[]) => hosts.filter((h) => h.spawner.alive().length > 0);

describe.skipIf(ETCD === undefined)('SPEC §10 daemon singleton on a real etcd, three hosts', () => {
  let server: EtcdServer;
  beforeAll(async () => {
    server = await EtcdServer.start();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('the holder host dies: another host runs it within TTL + 2 s, never two at once', async () => {
    const fleet = `lt-${randomBytes(3).toString('hex')}`;
    const hosts = await Promise.all(['a', 'b', 'c'].map((name) => host(server.url, fleet, `host-${name}`)));
    let overlap = 0;
    const watch = setInterval(() => {
      if (holders(hosts).length > 1) overlap++;
    }, 10);
    try {
      const old = await waitFor(() => holders(hosts)[0], 5000, 'a first holder');
      expect(holders(hosts)).toHaveLength(1);
      const lastKeepAlive = old.connected.connection.lastKeepAliveAt()!;
      // The host dies: no tick, no watchdog, its instances gone with it; only its lease is left on the server.
      clearInterval(old.timer);
      const dying = old.supervisor.stopAll();
      for (const child of old.spawner.alive()) child.exit(null, 'SIGKILL');
      await dying;
      old.connected.crash();
      const crashedAt = Date.now();
      const next = await waitFor(() => holders(hosts).find((h) => h !== old), (TTL_S + 3) * 1000, 'another holder');
      const gap = Date.now() - crashedAt;
      console.log(`daemon singleton failover after a crash: ${gap} ms (TTL ${TTL_S} s; last keep-alive ${crashedAt - lastKeepAlive} ms before the crash)`);
      expect(gap).toBeLessThanOrEqual(TTL_S * 1000 + 2000);
      expect(next.leadership.holderOf('worker')).toBe('this host');
      const third = hosts.find((h) => h !== old && h !== next)!;
      await waitFor(() => third.leadership.holderOf('worker') === next.name, 2000, 'the third host to see the holder');
    } finally {
      clearInterval(watch);
      for (const h of hosts) clearInterval(h.timer);
      await Promise.all(hosts.map((h) => h.leadership.close().then(() => h.connected.close())));
    }
    expect(overlap).toBe(0);
  }, 30_000);

  it('the holder loses etcd (keep-alives stop, still running): it stops at its own deadline, before another host starts', async () => {
    const fleet = `lt-${randomBytes(3).toString('hex')}`;
    const hosts = await Promise.all(['a', 'b', 'c'].map((name) => host(server.url, fleet, `host-${name}`)));
    let overlap = 0;
    const watch = setInterval(() => {
      if (holders(hosts).length > 1) overlap++;
    }, 10);
    try {
      const old = await waitFor(() => holders(hosts)[0], 5000, 'a first holder');
      // Cut off: the connection's keep-alives stop (its record stays at the last answer), the daemon ticks on.
      old.connected.crash();
      const cutAt = Date.now();
      const next = await waitFor(() => holders(hosts).find((h) => h !== old), (TTL_S + 3) * 1000, 'another holder');
      const startedAt = Date.now();
      expect(old.stoppedAt).toBeDefined();
      console.log(`daemon singleton handover after losing etcd: old holder stopped ${old.stoppedAt! - cutAt} ms after the cut, new one started ${startedAt - old.stoppedAt!} ms later`);
      expect(startedAt).toBeGreaterThan(old.stoppedAt!);
      expect(startedAt - cutAt).toBeLessThanOrEqual(TTL_S * 1000 + 2000);
      expect(next.spawner.alive()).toHaveLength(1);
    } finally {
      clearInterval(watch);
      for (const h of hosts) clearInterval(h.timer);
      await Promise.all(hosts.map((h) => h.leadership.close().then(() => h.connected.close())));
    }
    expect(overlap).toBe(0);
  }, 30_000);
});
