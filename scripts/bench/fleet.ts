/**
 * Fleet figures (issue 14, SPEC §10) on a real local etcd started for the run:
 * - claim latency per singleton fire with three hosts claiming each second at the same instant
 *   (three etcd3 clients with their own host leases, the daemon's claim code and claim store);
 * - the most singleton fires per second those three hosts can claim (every fire raced by all three);
 * - failover of a daemon-type singleton across three real daemons after `kill -9` of the holder host;
 * - RSS and `start` → ready of a real daemon with and without `--etcd`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Etcd3 } from 'etcd3';
import { systemClock } from '../../src/clock.js';
import { claimFire } from '../../src/fleet/singleton/claim.js';
import { singletonLink } from '../../src/fleet/singleton/etcd-link.js';
import type { FleetLink } from '../../src/fleet/singleton/fleet-link.js';
import { loadTaskFile } from '../../src/tasks/load.js';
import type { Task } from '../../src/tasks/types.js';
import { gotorch } from './control.js';
import { ETCD, EtcdServer } from './etcd-server.js';
import { rssBytes } from './idle.js';
import { round, summary } from './stats.js';
import { taskFile } from './workload.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const HOSTS = ['bench-1', 'bench-2', 'bench-3'];

interface Host {
  readonly link: FleetLink & { close(): void };
  close(): Promise<void>;
}

/** A host as the daemon's fleet connection is to the claim code: a client, a kept-alive host lease, its last keep-alive. */
async function host(url: string, fleet: string, name: string): Promise<Host> {
  const client = new Etcd3({ hosts: url });
  const lease = client.lease(10);
  let last: number | null = null;
  lease.on('keepaliveSucceeded', () => (last = Date.now()));
  await lease.grant();
  last = Date.now();
  const link = singletonLink(
    { hostName: name, client, ttlMs: 10_000, key: (...parts) => ['gotorch', fleet, ...parts].join('/'), hostLease: () => lease, lastKeepAliveAt: () => last, isUp: () => last !== null },
    systemClock,
  );
  return {
    link,
    async close() {
      link.close();
      await lease.revoke().catch(() => undefined);
      client.close();
    },
  };
}

async function singletonTasks(): Promise<Task[]> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gotorch-bench-fleet-'));
  const file = path.join(dir, 'tasks.conf');
  writeFileSync(file, ['* * * * * * * 0 cron name=claim-max0 singleton=yes true', '* * * * * * * 1 cron name=claim-max1 singleton=yes true'].join('\n') + '\n');
  const loaded = await loadTaskFile(file);
  rmSync(dir, { recursive: true, force: true });
  if (loaded.errors.length > 0) throw new Error(loaded.errors.map((error) => error.message).join('\n'));
  return [...loaded.tasks];
}

/** Each round: the three hosts claim one new second of `task` at once, as their ticks would; exactly one may win. */
async function claimLatency(hosts: readonly Host[], task: Task, rounds: number) {
  const all: number[] = [];
  const winners: number[] = [];
  const base = Math.floor(Date.now() / 1000) + 100_000 * (task.max + 1);
  for (let index = 0; index < rounds; index++) {
    const second = base + index;
    const outcomes = await Promise.all(
      hosts.map(async ({ link }) => {
        const began = performance.now();
        const outcome = await claimFire(link, task, second, { host: link.hostName, run: `bench-${second}`, second, at: Date.now() });
        const ms = performance.now() - began;
        all.push(ms);
        if (outcome.kind === 'claimed') {
          winners.push(ms);
          if (outcome.slot !== null) await link.store.removeIf(outcome.slot.key, outcome.slot.value); // the run ended
        }
        return outcome.kind;
      }),
    );
    if (outcomes.filter((kind) => kind === 'claimed').length !== 1) throw new Error(`second ${second} of ${task.id}: ${outcomes.join(', ')} (exactly one claim must win)`);
    await sleep(10);
  }
  const every = summary(all);
  const won = summary(winners);
  return { task: task.id, max: task.max, rounds, p50Ms: round(every.p50, 2), p99Ms: round(every.p99, 2), winnerP50Ms: round(won.p50, 2), winnerP99Ms: round(won.p99, 2) };
}

/** `fires` distinct seconds of a max=0 task, each raced by the three hosts, all at once: fires claimed per second. */
async function claimThroughput(hosts: readonly Host[], task: Task, fires: number) {
  const base = Math.floor(Date.now() / 1000) + 900_000;
  const began = performance.now();
  const won = await Promise.all(
    Array.from({ length: fires }, async (_, index) => {
      const second = base + index;
      const outcomes = await Promise.all(hosts.map(({ link }) => claimFire(link, task, second, { host: link.hostName, run: `bench-${second}`, second, at: Date.now() })));
      return outcomes.filter((outcome) => outcome.kind === 'claimed').length;
    }),
  );
  const seconds = (performance.now() - began) / 1000;
  const wrong = won.filter((count) => count !== 1).length;
  if (wrong > 0) throw new Error(`${wrong} of ${fires} fires were not claimed exactly once`);
  return { fires, transactions: fires * hosts.length, seconds: round(seconds, 2), firesPerSecond: Math.round(fires / seconds) };
}

/** `<ms> <host>` lines that daemon-singleton instances append to one file (the failover test reads them too). */
export const beats = (file: string): { ms: number; host: string }[] =>
  existsSync(file)
    ? readFileSync(file, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => line.split(' '))
        .map(([ms, name]) => ({ ms: Number(ms), host: name }))
    : [];

async function until<T>(what: string, ms: number, probe: () => T | undefined): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** Three real daemons, a daemon-type singleton beating every 100 ms; the holder host dies (its job keeper, its daemon and its instance, kill -9). */
async function failover(url: string, ttlS: number, runs: number) {
  const takeovers: number[] = [];
  const gaps: number[] = [];
  let overlaps = 0;
  for (let run = 0; run < runs; run++) {
    const fleet = `bench-failover-${process.pid}-${run}`;
    const dirs = HOSTS.map(() => mkdtempSync(path.join(os.tmpdir(), 'gotorch-bench-failover-')));
    const file = path.join(dirs[0], 'beats');
    try {
      for (const [index, dir] of dirs.entries()) {
        writeFileSync(path.join(dir, 'tasks.conf'), `WHO=${HOSTS[index]}\n* * * * * * * 1 daemon name=worker singleton=yes grace=500ms while :; do echo "$(date +%s%3N) $WHO" >> ${file}; sleep 0.1; done\n`);
        const started = gotorch(dir, 'start', '--host-id', HOSTS[index], '--etcd', url, '--fleet', fleet, '--fleet-ttl', `${ttlS}s`);
        if (started.status !== 0) throw new Error(`start failed: ${started.stdout}`);
      }
      const holder = await until('a holder beating for 1 s', 30_000, () => {
        const first = beats(file)[0];
        return first !== undefined && Date.now() - first.ms > 1000 ? first.host : undefined;
      });
      const dir = dirs[HOSTS.indexOf(holder)];
      const status = JSON.parse(gotorch(dir, 'status', '--json').stdout) as { pid: number; keeper: { pid: number } | null; tasks: { name: string; running: { pid: number }[] }[] };
      const instance = status.tasks.find((task) => task.name === 'worker')?.running[0]?.pid;
      if (instance === undefined) throw new Error(`${holder} beats but runs no worker`);
      // The host dies: its job keeper first (else it starts the daemon again), the daemon, the instance.
      if (status.keeper !== null) process.kill(status.keeper.pid, 'SIGKILL');
      process.kill(status.pid, 'SIGKILL');
      process.kill(-instance, 'SIGKILL');
      const killedAt = Date.now();
      const next = await until('another host beating', (ttlS + 15) * 1000, () => beats(file).find((beat) => beat.host !== holder));
      const lastOld = Math.max(...beats(file).filter((beat) => beat.host === holder).map((beat) => beat.ms));
      takeovers.push(next.ms - killedAt);
      gaps.push(next.ms - lastOld);
      overlaps += beats(file).filter((beat) => beat.host !== holder && beat.ms <= lastOld).length;
    } finally {
      for (const dir of dirs) {
        gotorch(dir, 'stop');
        rmSync(dir, { recursive: true, force: true });
      }
    }
  }
  const takeover = summary(takeovers);
  const gap = summary(gaps);
  return { ttlS, runs, takeoverP50Ms: Math.round(takeover.p50), takeoverMaxMs: Math.round(takeover.max), gapP50Ms: Math.round(gap.p50), overlappingBeats: overlaps };
}

/** `gotorch start` → ready and RSS after `settleMs`, with and without --etcd. */
async function startAndRss(url: string, tasks: number, runs: number, settleMs: number) {
  const measure = async (withEtcd: boolean) => {
    const times: number[] = [];
    const rss: number[] = [];
    for (let run = 0; run < runs; run++) {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'gotorch-bench-fleet-start-'));
      writeFileSync(path.join(dir, 'tasks.conf'), taskFile(tasks) + '\n');
      const fleetArgs = withEtcd ? ['--host-id', `bench-${run}`, '--etcd', url, '--fleet', `bench-start-${process.pid}`] : [];
      const began = performance.now();
      const started = gotorch(dir, 'start', ...fleetArgs);
      times.push(performance.now() - began);
      if (started.status !== 0) throw new Error(`start failed: ${started.stdout}`);
      await sleep(settleMs);
      rss.push(rssBytes(Number(readFileSync(path.join(dir, 'gotorch.pid'), 'utf8'))) / 2 ** 20);
      gotorch(dir, 'stop');
      rmSync(dir, { recursive: true, force: true });
    }
    return { startP50Ms: round(summary(times).p50, 1), rssMiB: round(summary(rss).p50, 1) };
  };
  return { tasks, runs, standalone: await measure(false), withEtcd: await measure(true) };
}

export async function fleetCost(quick: boolean) {
  const etcd = await EtcdServer.start();
  try {
    const fleet = `bench-claims-${process.pid}`;
    const hosts = await Promise.all(HOSTS.map((name) => host(etcd.url, fleet, name)));
    let claims;
    try {
      const [max0, max1] = await singletonTasks();
      claims = {
        latency: [await claimLatency(hosts, max0, quick ? 30 : 300), await claimLatency(hosts, max1, quick ? 30 : 300)],
        throughput: await claimThroughput(hosts, max0, quick ? 300 : 3000),
      };
    } finally {
      await Promise.all(hosts.map((entry) => entry.close()));
    }
    const failed = await failover(etcd.url, quick ? 3 : 10, quick ? 1 : 3);
    const start = [];
    for (const tasks of [10, 10_000]) start.push(await startAndRss(etcd.url, tasks, quick ? 1 : 5, quick ? 1000 : 3000));
    return { etcd: etcdVersion(), claims, failover: failed, start };
  } finally {
    await etcd.stop();
  }
}

/** The version of the etcd binary the fleet tests and this bench start. */
function etcdVersion(): string {
  const printed = spawnSync(ETCD ?? 'etcd', ['--version'], { encoding: 'utf8' }).stdout ?? '';
  return /etcd Version: (\S+)/.exec(printed)?.[1] ?? 'unknown';
}
