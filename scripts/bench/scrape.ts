/**
 * SPEC §9's bound: a scrape with 10,000 tasks must not delay a tick by more than 20 ms. 10,000 tasks
 * are loaded (idle: 1 January only) of which `ran` fire once, at the same second, so their series
 * exist; then a separate process scrapes /metrics, each scrape timed to be rendering at a second
 * boundary (scraper.ts), while the daemon, in this process, records how late its ticks woke.
 * Then the RSS metrics add: two background daemons with the same file and runs, with and without.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Daemon } from '../../src/daemon/daemon.js';
import { runtimePaths } from '../../src/daemon/paths.js';
import { gotorch } from './control.js';
import { freePort } from './free-port.js';
import { rssBytes } from './idle.js';
import { waitFor } from './lateness.js';
import { round, summary } from './stats.js';
import { expressions } from './workload.js';

const scraper = path.resolve('dist/scripts/bench/scraper.js');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/**
 * The burst is set once the daemon is ready, by a reload (a 10,000-task start on a busy machine, three
 * of them at once in quick mode, can take longer than any fixed lead): this far ahead of that reload.
 */
const FIRE_AFTER_SECONDS = 3;

/** `tasks` tasks: the first `ran` fire once at `fireAt` (Unix seconds; none when null), the rest on 1 January only. */
function workload(tasks: number, ran: number, fireAt: number | null): string {
  const at = new Date((fireAt ?? 0) * 1000);
  const once = `${at.getUTCSeconds()} ${at.getUTCMinutes()} ${at.getUTCHours()} ${at.getUTCDate()} ${at.getUTCMonth() + 1} *`;
  const lines = expressions(tasks).map((expression, index) => `${index < ran && fireAt !== null ? once : `${expression.split(' ').slice(0, 3).join(' ')} 1 jan *`} * 1 cron name=t${index} true`);
  return ['TZ=UTC', ...lines].join('\n') + '\n';
}

function finishedRuns(logDir: string): number {
  const file = path.join(logDir, 'runs.log');
  return existsSync(file) ? readFileSync(file, 'utf8').split('"msg":"run finished"').length - 1 : 0;
}

interface Scraped {
  readonly warmUp: { ms: number; bytes: number };
  readonly scrapes: readonly { ms: number; bytes: number; beforeTickMs: number }[];
}

function runScraper(url: string, scrapes: number): Promise<Scraped> {
  const child = spawn(process.execPath, [scraper, url, String(scrapes)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  return new Promise((resolve, reject) => child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out) as Scraped) : reject(new Error(`the scraper exited with ${code}`)))));
}

/** Worst tick lateness during `scrapes` scrapes, beside the same span without any, and what a scrape takes. */
async function scrapeCost(tasks: number, ran: number, scrapes: number) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gotorch-bench-scrape-'));
  const file = path.join(dir, 'tasks.conf');
  const paths = runtimePaths({ pidfile: path.join(dir, 'gotorch.pid'), logDir: path.join(dir, 'log') });
  writeFileSync(file, workload(tasks, ran, null));
  const port = await freePort();
  const daemon = await Daemon.start({ tasksFile: file, paths, stdoutLogs: false, metrics: { host: '127.0.0.1', port } });
  if (!(daemon instanceof Daemon)) throw new Error(daemon.reason);
  try {
    writeFileSync(file, workload(tasks, ran, Math.floor(Date.now() / 1000) + FIRE_AFTER_SECONDS));
    const reloaded = await daemon.reload('benchmark burst');
    if (!reloaded.ok) throw new Error(`the burst's reload failed: ${JSON.stringify(reloaded)}`);
    await waitFor(() => finishedRuns(paths.logDir) >= ran, 60_000, `${ran} runs`);
    await sleep(2000); // the burst's exits and log writes are over
    daemon.takeTickLateMax();
    await sleep(scrapes * 1000);
    const quietTickLateMs = daemon.takeTickLateMax();
    const scraped = await runScraper(`http://127.0.0.1:${port}/metrics`, scrapes);
    const worstTickLateMs = daemon.takeTickLateMax();
    const times = summary(scraped.scrapes.map((scrape) => scrape.ms));
    return { tasks, ran, scrapes: scraped.scrapes.length, bytes: scraped.warmUp.bytes, scrapeP50Ms: round(times.p50, 1), scrapeMaxMs: round(times.max, 1), worstTickLateMs, quietTickLateMs };
  } finally {
    await daemon.stop('benchmark done');
    rmSync(dir, { recursive: true, force: true });
  }
}

/** RSS of a background daemon with `tasks` tasks of which `ran` ran, `settleMs` after a scrape when it serves metrics. */
async function daemonRss(tasks: number, ran: number, metrics: boolean, settleMs: number): Promise<number> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gotorch-bench-rss-'));
  writeFileSync(path.join(dir, 'tasks.conf'), workload(tasks, ran, null));
  const port = await freePort();
  const started = gotorch(dir, 'start', ...(metrics ? ['--metrics', String(port)] : []));
  try {
    const pid = Number(/pid (\d+)/.exec(started.stdout)?.[1]);
    if (started.status !== 0 || !pid) throw new Error(`start failed: ${started.stdout}`);
    writeFileSync(path.join(dir, 'tasks.conf'), workload(tasks, ran, Math.floor(Date.now() / 1000) + FIRE_AFTER_SECONDS));
    const reloaded = gotorch(dir, 'reload');
    if (reloaded.status !== 0) throw new Error(`the burst's reload failed: ${reloaded.stdout}`);
    await waitFor(() => finishedRuns(path.join(dir, 'log')) >= ran, 60_000, `${ran} runs`);
    if (metrics) await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    await sleep(settleMs);
    return rssBytes(pid);
  } finally {
    gotorch(dir, 'stop');
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Both daemons at once: the same burst and the same machine load for each. */
async function metricsRss(tasks: number, ran: number, settleMs: number) {
  const [plain, served] = await Promise.all([daemonRss(tasks, ran, false, settleMs), daemonRss(tasks, ran, true, settleMs)]);
  return { tasks, ran, plainMiB: round(plain / 2 ** 20, 1), metricsMiB: round(served / 2 ** 20, 1), addedMiB: round((served - plain) / 2 ** 20, 1) };
}

/** The scrape figures: 10,000 tasks, 1,000 of them ran (`ran` overrides), 10 scrapes; quick mode runs fewer, overlapped. */
export async function metricsCost(quick: boolean, ran = quick ? 200 : 1000) {
  const tasks = 10_000;
  if (quick) {
    const [scrape, rss] = await Promise.all([scrapeCost(tasks, ran, 3), metricsRss(tasks, ran, 3000)]);
    return { scrape, rss };
  }
  // V8's memory reducer gives back the garbage of the burst and the scrape 15-20 s later (idle.ts).
  return { scrape: await scrapeCost(tasks, ran, 10), rss: await metricsRss(tasks, ran, 30_000) };
}
