/** The Markdown table of a bench run: gotorch beside its peers, ratios where a peer exists, goals met or missed. */
import type { burst } from './burst.js';
import type { reloadLargeFile, startToReady } from './control.js';
import type { compileThroughput, tickCost } from './core.js';
import type { fleetCost } from './fleet.js';
import type { historyCost } from './history.js';
import type { IdleResult } from './idle.js';
import type { DaemonIdle, LatenessResult, Runner } from './lateness.js';
import type { minuteBoundary } from './minute.js';
import type { metricsCost } from './scrape.js';
import type { machine } from './stats.js';

type Missing = { readonly runner: Runner; readonly missing: string };

export interface Results {
  readonly machine: ReturnType<typeof machine>;
  readonly quick: boolean;
  readonly seconds: number;
  readonly compile: ReturnType<typeof compileThroughput>;
  readonly tick: readonly ReturnType<typeof tickCost>[];
  readonly lateness: readonly (LatenessResult | (Missing & { jobsPerSecond: number }))[];
  readonly daemonIdle: readonly DaemonIdle[];
  readonly burst: Awaited<ReturnType<typeof burst>>;
  readonly minute: Awaited<ReturnType<typeof minuteBoundary>>;
  readonly start: readonly ReturnType<typeof startToReady>[];
  readonly reload: Awaited<ReturnType<typeof reloadLargeFile>>;
  readonly history: ReturnType<typeof historyCost>;
  readonly idle: readonly (IdleResult | (Missing & { tasks: number }))[];
  readonly metrics: Awaited<ReturnType<typeof metricsCost>>;
  readonly fleet: Awaited<ReturnType<typeof fleetCost>> | { readonly missing: string };
}

type Target = readonly [what: string, goal: string, measured: string, met: boolean];
type Metrics = Results['metrics'];

const n = (value: number): string => value.toLocaleString('en');
const verdict = (met: boolean): string => (met ? 'met' : '**missed**');
const isMissing = (value: object): value is Missing => 'missing' in value;

/** The lateness rows of one rate: the native-spawner gotorch row and the C floor's, when they ran. */
function rateRows(results: Results, rate: number) {
  const group = results.lateness.filter((row) => row.jobsPerSecond === rate);
  const found = (runner: Runner) => group.find((row): row is LatenessResult => row.runner === runner && !isMissing(row));
  return { group, ours: found('gotorch'), floor: found('C floor') };
}

const times = (value: number): string => `${value.toFixed(2)}×`;
/** Figures of the three rates, `-` where one is missing: `a ms / b ms / c ms`. */
const msList = (figures: readonly (number | undefined)[]): string => figures.map((ms) => (ms === undefined ? '-' : `${ms} ms`)).join(' / ');

function latenessRows(results: Results): string[] {
  const rows: string[] = [];
  for (const rate of [...new Set(results.lateness.map((row) => row.jobsPerSecond))]) {
    const { group, ours, floor } = rateRows(results, rate);
    for (const row of group) {
      if (isMissing(row)) {
        rows.push(`| ${rate} | ${row.runner} | missing: ${row.missing} | | | | | |`);
        continue;
      }
      const ratio = ours === undefined || row === ours ? '' : `${(row.p99Ms / ours.p99Ms).toFixed(1)}×`;
      const toFloor = floor === undefined || row === floor ? '' : `${times(row.p50Ms / floor.p50Ms)} / ${times(row.p99Ms / floor.p99Ms)}`;
      rows.push(`| ${rate} | ${row.runner} | ${row.runs} of ${row.expectedRuns} | ${row.p50Ms} | ${row.p99Ms} | ${row.maxMs} | ${ratio} | ${toFloor} |`);
    }
  }
  return rows;
}

function cpuRows(results: Results): string[] {
  return results.lateness.flatMap((row) =>
    isMissing(row) || row.daemon === undefined
      ? []
      : [`| ${row.jobsPerSecond} | ${row.runner} | ${row.daemon.starts} | ${row.daemon.cpuPercentOfCore} % | ${row.daemon.idlePercentOfCore} % | ${row.daemon.msPerStart} ms |`],
  );
}

export const targetRow = ([what, goal, measured, met]: Target): string => `| ${what} | ${goal} | ${measured} | ${verdict(met)} |`;

/** SPEC §9: a scrape never delays a tick by more than 20 ms. */
export function scrapeTarget({ scrape }: Metrics): Target {
  return [`worst tick lateness during ${scrape.scrapes} scrapes, ${n(scrape.tasks)} tasks (${n(scrape.ran)} ran)`, '≤ 20 ms', `${scrape.worstTickLateMs} ms`, scrape.worstTickLateMs <= 20];
}

export function scrapeRow({ scrape, rss }: Metrics): string {
  const size = `${n(Math.round(scrape.bytes / 1024))} KiB`;
  return `| \`/metrics\` scrape, ${n(scrape.tasks)} tasks, ${n(scrape.ran)} with series (${size}; ${scrape.scrapes} scrapes) | p50 ${scrape.scrapeP50Ms} ms, max ${scrape.scrapeMaxMs} ms; worst tick lateness ${scrape.worstTickLateMs} ms (${scrape.quietTickLateMs} ms as long without scrapes); RSS ${rss.plainMiB} → ${rss.metricsMiB} MiB with \`--metrics\` (+${rss.addedMiB} MiB) |`;
}

function targets(results: Results): string[] {
  const { compile, burst, reload, history } = results;
  const ours = results.lateness.filter((row): row is LatenessResult => row.runner === 'gotorch' && !isMissing(row));
  const peers = results.lateness.filter((row): row is LatenessResult => (row.runner === 'croner' || row.runner === 'node-cron') && !isMissing(row));
  const rates = [1, 10, 50].map((rate) => rateRows(results, rate));
  const toFloor = rates.map(({ ours, floor }) => (ours === undefined || floor === undefined ? undefined : ours.p99Ms / floor.p99Ms));
  const floorMissing = results.lateness.find((row) => row.runner === 'C floor' && isMissing(row));
  const perStart = rates.map(({ ours }) => ours?.daemon?.msPerStart);
  const floorPerStart = rates.map(({ floor }) => floor?.daemon?.msPerStart);
  const native = burst.gotorch.find((row) => row.runner === 'gotorch');
  const burstFloor = 'missing' in burst.cFloor ? `missing: ${burst.cFloor.missing}` : `${burst.cFloor.lastStartedP50Ms} ms`;
  const beatsPeers = ours.every((row) => peers.filter((peer) => peer.jobsPerSecond === row.jobsPerSecond).every((peer) => row.p99Ms < peer.p99Ms));
  const tick100k = results.tick.find((row) => row.tasks === 100_000);
  const idle = (tasks: number) => results.idle.find((row): row is IdleResult => row.runner === 'gotorch' && row.tasks === tasks && !isMissing(row));
  const start10k = results.start.find((row) => row.tasks === 10_000);
  const ten = ours.find((row) => row.jobsPerSecond === 1);
  const lines = [
    ['lateness p50, 10,000 tasks, 1 job/s', '≤ 2 ms', ten ? `${ten.p50Ms} ms` : '-', ten !== undefined && ten.p50Ms <= 2],
    ['lateness p99, 10,000 tasks, every rate', '≤ 10 ms', ours.map((row) => `${row.p99Ms} ms`).join(' / '), ours.every((row) => row.p99Ms <= 10)],
    ['lateness p99 below every peer, every rate', 'yes', beatsPeers ? 'yes' : 'no', beatsPeers],
    [
      'lateness p99 against the C floor, native spawner, 1 / 10 / 50 jobs/s',
      '≤ 1.3 × C floor',
      floorMissing !== undefined && isMissing(floorMissing) ? `C floor missing: ${floorMissing.missing}` : toFloor.map((ratio) => (ratio === undefined ? '-' : times(ratio))).join(' / '),
      toFloor.every((ratio) => ratio !== undefined && ratio <= 1.3),
    ],
    [
      'daemon CPU per job start, native spawner, 1 / 10 / 50 jobs/s (net of idle)',
      '≤ 0.5 ms',
      `${msList(perStart)} (the C floor: ${msList(floorPerStart)})`,
      perStart.every((ms) => ms !== undefined && ms <= 0.5),
    ],
    [
      'burst of 200, last start, native spawner',
      `≤ 1.3 × C floor (${burstFloor})`,
      `${native?.lastStartedP50Ms} ms (${native?.cFloorRatio ?? '-'}×; ${native?.nodeFloorRatio}× the Node floor, ${native?.contractRatio}× the job-contract one)`,
      (native?.cFloorRatio ?? Infinity) <= 1.3,
    ],
    ['tick, 100,000 tasks, p99', '≤ 0.2 ms', `${tick100k?.p99Ms} ms`, (tick100k?.p99Ms ?? Infinity) <= 0.2],
    ['idle CPU, 10,000 tasks', '≤ 0.1 % of a core', `${idle(10_000)?.cpuPercentOfCore} %`, (idle(10_000)?.cpuPercentOfCore ?? Infinity) <= 0.1],
    ['RSS, 10,000 tasks', '≤ 80 MB (76.3 MiB)', `${idle(10_000)?.rssMiB} MiB`, (idle(10_000)?.rssMiB ?? Infinity) <= 80e6 / 2 ** 20],
    ['RSS, 100,000 tasks', '≤ 150 MB (143.1 MiB)', `${idle(100_000)?.rssMiB} MiB`, (idle(100_000)?.rssMiB ?? Infinity) <= 150e6 / 2 ** 20],
    ['compile', '≥ 200,000 lines/s', `${n(compile.gotorchLinesPerSecond)} lines/s`, compile.gotorchLinesPerSecond >= 200_000],
    ['reload of 10,000 tasks, write → applied, p50', '≤ 300 ms', `${reload.writeToAppliedP50Ms} ms`, reload.writeToAppliedP50Ms <= 300],
    ['worst tick lateness during reloads', '≤ 20 ms', `${reload.worstTickLateMs} ms`, reload.worstTickLateMs <= 20],
    ['`start` → ready, 10,000 tasks, p50', '≤ 500 ms', `${start10k?.p50Ms} ms`, (start10k?.p50Ms ?? Infinity) <= 500],
    [`\`history NAME --limit 20\`, ${n(history.fileMiB)} MiB run log, p50`, '≤ 200 ms', `${history.p50Ms} ms`, history.p50Ms <= 200],
    scrapeTarget(results.metrics),
  ] as const;
  return lines.map(targetRow);
}

export function markdown(results: Results): string {
  const { machine: m, compile, burst, minute, reload, history } = results;
  const command = `npm run bench${results.quick ? ' -- --quick' : ''}`;
  const idleRows = [0, 10_000, 100_000].map((tasks) => {
    const cell = (runner: Runner) => {
      const row = results.idle.find((entry) => entry.runner === runner && entry.tasks === tasks);
      return row === undefined ? ['-', '-'] : isMissing(row) ? [`missing: ${row.missing}`, ''] : [`${row.cpuPercentOfCore} %`, `${row.rssMiB} MiB`];
    };
    const [ourCpu, ourRss] = cell('gotorch');
    const [theirCpu, theirRss] = cell('croner');
    return `| ${n(tasks)} | ${ourCpu} | ${theirCpu} | ${ourRss} | ${theirRss} |`;
  });
  const busybox = minute.busybox;
  return [
    `Measured ${m.date.slice(0, 10)} on ${m.cores} cores (${m.cpu}), Node ${m.node}${results.quick ? ', **quick mode** (short runs, phases overlapped: a smoke test, not figures to quote)' : ''}, in ${results.seconds} s; reproduce with \`${command}\`.`,
    '',
    '**Targets**',
    '',
    '| target | goal | measured | |',
    '| --- | --- | --- | --- |',
    ...targets(results),
    '',
    `**Start lateness**: exec time read by the job (bash \`$EPOCHREALTIME\`) minus its scheduled second, 10,000 idle tasks loaded in every scheduler; \`gotorch\` runs its native (posix_spawn) spawner, \`gotorch child_process\` the same daemon with \`GOTORCH_SPAWNER=child_process\` (each checked in its ready record); peers are croner and node-cron each driving \`child_process.exec\`, as a Node user would write them. ${results.quick ? 'Quick mode measures right after the start.' : 'A gotorch daemon is measured in its steady state, from 62 s after its start (after V8 has compacted what loading the tasks left, and after the monitor\'s first record); the others from 2 s.'} The C floor (\`scripts/bench/floor.c\`, built with \`gcc -O2\`) sleeps to each second boundary and posix_spawns the same bash jobs in their own process groups, output to \`/dev/null\`: the physical limit.`,
    '',
    '| jobs/s | scheduler | runs | p50 ms | p99 ms | max ms | p99 vs gotorch | p50 / p99 vs C floor |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    ...latenessRows(results),
    '',
    `**Daemon CPU per job start**, over the same seconds: CPU time of all the daemon's threads (\`/proc/PID/task/*/schedstat\`), less what the same daemon with the same 10,000 tasks and no jobs spends over an equal window in this run (${results.daemonIdle.map((row) => `${row.runner} ${row.cpuPercentOfCore} %`).join(', ')} of a core over ${results.daemonIdle[0]?.seconds} s), divided by the runs started. The C floor's row is its own process over the same seconds (one wake at each boundary, posix_spawn; no pipes read, nothing reaped, no log): the scale of this machine's wakes and spawns.`,
    '',
    '| jobs/s | daemon | runs started | CPU (% of a core) | idle (% of a core) | ms per start, net of idle |',
    '| --- | --- | --- | --- | --- | --- |',
    ...cpuRows(results),
    '',
    `**Minute boundary, 50 jobs** (${minute.mode}; both run \`exec bash\` writing \`$EPOCHREALTIME\`, lateness from the minute):`,
    '',
    '| scheduler | runs | p50 ms | p99 ms | max ms |',
    '| --- | --- | --- | --- | --- |',
    `| gotorch | ${minute.gotorch?.runs ?? '-'} | ${minute.gotorch?.p50Ms ?? '-'} | ${minute.gotorch?.p99Ms ?? '-'} | ${minute.gotorch?.maxMs ?? '-'} |`,
    'missing' in busybox ? `| busybox crond | missing: ${busybox.missing} | | | |` : `| busybox crond (${busybox.version}) | ${busybox.runs ?? '-'} | ${busybox.p50Ms ?? '-'} | ${busybox.p99Ms ?? '-'} | ${busybox.maxMs ?? '-'} |`,
    '',
    `**Burst**: ${burst.jobs} jobs due in one second (10,000 idle tasks loaded), until the last spawn is called (the run record's \`lateMs\`, from the scheduled second): ${burst.gotorch.map((row) => `${row.runner} p50 ${row.lastStartedP50Ms} ms, max ${row.lastStartedMaxMs} ms over ${row.bursts} bursts (${row.cFloorRatio ?? '-'}× the C floor, ${row.nodeFloorRatio}× the Node floor, ${row.contractRatio}× the job-contract one)`).join('; ')}. The C floor, posix_spawning the same ${burst.jobs} jobs (\`bash -c /bin/true\`: the processes the daemon starts) back to back from the second boundary: ${'missing' in burst.cFloor ? `missing: ${burst.cFloor.missing}` : `p50 ${burst.cFloor.lastStartedP50Ms} ms, max ${burst.cFloor.lastStartedMaxMs} ms over ${burst.cFloor.bursts} bursts`}. The Node floor, a script spawning ${burst.jobs} \`/bin/true\` with ${burst.nodeFloorInFlight} in flight: p50 ${burst.nodeFloorP50Ms} ms; the same script spawning what a job is (\`sh -c /bin/true\` in its own process group, with two output pipes): p50 ${burst.contractFloorP50Ms} ms.`,
    '',
    '**Idle** (nothing due, after a warm-up) and **RSS**:',
    '',
    '| tasks | gotorch CPU (% of a core) | croner runner CPU | gotorch RSS | croner runner RSS |',
    '| --- | --- | --- | --- | --- |',
    ...idleRows,
    '',
    '**In process and control plane**:',
    '',
    '| figure | result |',
    '| --- | --- |',
    `| compile, ${n(compile.lines)} task lines | ${n(compile.gotorchLinesPerSecond)} lines/s; cron-parser alone parses ${n(compile.cronParserExpressionsPerSecond)} expressions/s (${compile.ratio}× fewer) |`,
    ...results.tick.map((row) => `| tick, ${n(row.tasks)} tasks, none due (${row.ticks} ticks) | mean ${row.meanMs} ms, p99 ${row.p99Ms} ms, max ${row.maxMs} ms |`),
    ...results.start.map((row) => `| \`gotorch start\` → ready, ${n(row.tasks)} tasks (${row.runs} runs) | p50 ${row.p50Ms} ms, max ${row.maxMs} ms |`),
    `| reload of a ${n(reload.tasks)}-task file, write → applied (${reload.runs} runs) | p50 ${reload.writeToAppliedP50Ms} ms, max ${reload.writeToAppliedMaxMs} ms; worst tick lateness ${reload.worstTickLateMs} ms, longest event-loop block ${reload.worstLoopDelayMs} ms |`,
    `| \`gotorch history report --limit 20\` on a ${n(history.fileMiB)} MiB run log, its task run every minute (${history.runs} runs, the command's wall time) | p50 ${history.p50Ms} ms, max ${history.maxMs} ms, of which reading and selecting (in process) ${history.inProcessP50Ms} ms; Node's own start (\`gotorch --help\`) p50 ${history.nodeStartP50Ms} ms; \`grep -c\` over the file ${history.grepCountP50Ms} ms; a name that never ran (the whole file read) ${history.fullScanMs} ms |`,
    scrapeRow(results.metrics),
    '',
    ...fleetRows(results.fleet),
  ].join('\n');
}

/** SPEC §10 on a real local etcd: claims, failover, and what --etcd costs a daemon. */
function fleetRows(fleet: Results['fleet']): string[] {
  if ('missing' in fleet) return [`**Fleet** (SPEC §10): missing: ${fleet.missing}`, ''];
  const { claims, failover } = fleet;
  return [
    `**Fleet** (SPEC §10, one local etcd ${fleet.etcd} on this machine):`,
    '',
    '| figure | result |',
    '| --- | --- |',
    ...claims.latency.map(
      (row) =>
        `| claim of a singleton fire, \`max=${row.max}\` (${row.max === 0 ? 'one transaction' : 'a slot read, then one transaction'}), three hosts claiming each second at once (${row.rounds} seconds) | every host's answer p50 ${row.p50Ms} ms, p99 ${row.p99Ms} ms; the winner's p50 ${row.winnerP50Ms} ms, p99 ${row.winnerP99Ms} ms |`,
    ),
    `| singleton fires claimed per second, each raced by three hosts (${n(claims.throughput.fires)} fires, ${n(claims.throughput.transactions)} transactions at once) | ${n(claims.throughput.firesPerSecond)} fires/s (${claims.throughput.seconds} s) |`,
    `| daemon-type singleton failover, three real daemons, \`kill -9\` of the holder host, TTL ${failover.ttlS} s (${failover.runs} runs) | first beat elsewhere p50 ${failover.takeoverP50Ms} ms after the kill (max ${failover.takeoverMaxMs} ms); gap after the last beat p50 ${failover.gapP50Ms} ms; ${failover.overlappingBeats} overlapping beats |`,
    ...fleet.start.map(
      (row) =>
        `| \`gotorch start\` → ready and RSS, ${n(row.tasks)} tasks (${row.runs} runs) | standalone p50 ${row.standalone.startP50Ms} ms, ${row.standalone.rssMiB} MiB; with \`--etcd\` p50 ${row.withEtcd.startP50Ms} ms, ${row.withEtcd.rssMiB} MiB |`,
    ),
    '',
  ];
}
