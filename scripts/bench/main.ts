/**
 * gotorch benchmarks against the schedulers users would pick instead: `npm run bench` (about 15 min),
 * `npm run bench -- --quick` (3-4 min, a smoke test). Writes bench/results.json and bench/results.md;
 * every figure is measured here, on this machine, in this run.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { burst } from './burst.js';
import { reloadLargeFile, startToReady } from './control.js';
import { compileThroughput, tickCost } from './core.js';
import { ETCD } from './etcd-server.js';
import { fleetCost } from './fleet.js';
import { historyCost } from './history.js';
import { idleCost, type IdleResult } from './idle.js';
import { daemonIdle, isGotorch, lateness, type DaemonIdle, type Gotorch, type LatenessResult, type Runner } from './lateness.js';
import { minuteBoundary } from './minute.js';
import { markdown } from './report.js';
import { metricsCost } from './scrape.js';
import { machine } from './stats.js';

const quick = process.argv.includes('--quick');
/** Interleaved at each rate: both of gotorch's spawners, the C floor, the peers. */
const GOTORCH = ['gotorch', 'gotorch child_process'] as const;
const RUNNERS: readonly Runner[] = [...GOTORCH, 'C floor', 'croner', 'node-cron'];
/**
 * A gotorch daemon is measured in its steady state: after V8's memory reducer has compacted what
 * loading 10,000 tasks left (three full GCs of 3-11 ms, seen here 8-30 s after the start) and after
 * the monitor's first record (60 s: it loads systeminformation). The other runners keep 2 s.
 */
const DAEMON_WARM_UP_SECONDS = 62;

/** A peer that cannot run is reported as missing, with the reason: never silently dropped. */
async function latenessOf(runner: Runner, jobsPerSecond: number, seconds: number, idle: readonly DaemonIdle[], tailMs: number): Promise<LatenessResult | { runner: Runner; jobsPerSecond: number; missing: string }> {
  try {
    return await lateness(runner, jobsPerSecond, seconds, { warmUpSeconds: quick ? 1 : isGotorch(runner) ? DAEMON_WARM_UP_SECONDS : undefined, idle: idle.find((row) => row.runner === runner), tailMs });
  } catch (error) {
    if (isGotorch(runner)) throw error;
    return { runner, jobsPerSecond, missing: error instanceof Error ? error.message : String(error) };
  }
}

async function idleOf(runner: 'gotorch' | 'croner', tasks: number, seconds: number, warmUpMs: number): Promise<IdleResult | { runner: Runner; tasks: number; missing: string }> {
  try {
    return await idleCost(runner, tasks, seconds, warmUpMs);
  } catch (error) {
    if (runner === 'gotorch') throw error;
    return { runner, tasks, missing: error instanceof Error ? error.message : String(error) };
  }
}

/** Idle CPU and RSS of gotorch and the croner runner, and the busybox minute: slow, but nearly idle. */
async function quietPhase() {
  const [idle, minute] = await Promise.all([
    Promise.all(
      (['gotorch', 'croner'] as const).flatMap((runner) => [0, 10_000, 100_000].map((tasks) => idleOf(runner, tasks, quick ? 5 : 60, quick ? 3_000 : 30_000))),
    ),
    minuteBoundary(quick),
  ]);
  return { idle, minute };
}

async function main(): Promise<void> {
  const began = performance.now();
  // Quick mode overlaps the slow, nearly idle phase with the rest to stay within 3-4 minutes.
  const quiet = quick ? quietPhase() : undefined;
  const compile = compileThroughput(quick);
  const tick = [1000, 10_000, 100_000].map((tasks) => tickCost(tasks, quick ? 600 : 3600));
  const late = [];
  const seconds = quick ? 2 : 30;
  // Each gotorch runner's idle CPU (same tasks, no jobs, an equal window), subtracted from its CPU per start.
  // Quick mode measures the two at once (a smoke test: its quiet phase runs meanwhile anyway).
  const idleOfDaemon = (runner: Gotorch) => daemonIdle(runner, seconds, quick ? 1 : DAEMON_WARM_UP_SECONDS);
  const idleDaemons = quick ? await Promise.all(GOTORCH.map(idleOfDaemon)) : [await idleOfDaemon(GOTORCH[0]), await idleOfDaemon(GOTORCH[1])];
  for (const jobsPerSecond of [1, 10, 50]) {
    for (const runner of RUNNERS) late.push(await latenessOf(runner, jobsPerSecond, seconds, idleDaemons, quick ? 500 : 1000));
  }
  const bursts = await burst(quick ? 1 : 7, quick ? 2 : 5);
  const start = [startToReady(10, quick ? 2 : 5), startToReady(10_000, quick ? 2 : 5)];
  const reload = await reloadLargeFile(10_000, quick ? 2 : 10);
  // Quick mode: a 64 MiB log instead of 1 GiB (the rows read are the same; the full scan is shorter).
  const history = historyCost(quick);
  const metrics = await metricsCost(quick);
  // SPEC §10 on a real local etcd (Debian's etcd-server; .ci/run installs it).
  const fleet = ETCD === undefined ? { missing: 'etcd not found (Debian package etcd-server)' } : await fleetCost(quick);
  const { idle, minute } = await (quiet ?? quietPhase());
  const results = { machine: machine(), quick, seconds: Math.round((performance.now() - began) / 1000), compile, tick, lateness: late, daemonIdle: idleDaemons, burst: bursts, minute, start, reload, history, idle, metrics, fleet };
  // Quick runs (CI's smoke test) never overwrite the full results the README quotes.
  const base = quick ? 'bench/results-quick' : 'bench/results';
  mkdirSync('bench', { recursive: true });
  writeFileSync(`${base}.json`, JSON.stringify(results, null, 2) + '\n');
  const table = markdown(results);
  writeFileSync(`${base}.md`, table);
  process.stdout.write(table);
  const gaps = missingFigures(results);
  if (gaps.length > 0) {
    process.stderr.write(`bench: ${gaps.length} figure(s) not produced:\n${gaps.map((gap) => `  ${gap}`).join('\n')}\n`);
    process.exitCode = 1;
  }
}

/**
 * Every figure must be a number: a gotorch figure that is not is a broken bench; a peer may instead be
 * reported missing with its reason (the table shows it), which is not a failure.
 */
function missingFigures(value: unknown, at = 'results'): string[] {
  if (typeof value === 'number') return Number.isFinite(value) ? [] : [at];
  if (value === undefined || value === null) return [at];
  if (typeof value !== 'object') return [];
  if ('missing' in value && typeof value.missing === 'string') return [];
  return Object.entries(value).flatMap(([key, inner]) => missingFigures(inner, `${at}.${key}`));
}

await main();
