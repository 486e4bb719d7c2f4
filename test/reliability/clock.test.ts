/**
 * Clock jumps and DST changes against the real daemon (issue 6, item 4; SPEC §3). Each scenario starts
 * its own foreground daemon in a temp dir under libfaketime (see clock-support.ts), steps its wall clock
 * at run time, and compares the (task, GOTORCH_SCHEDULED_AT) pairs the jobs saw with lists written from
 * SPEC §3 by hand, and the clock records in gotorch.log with one per jump. Tasks: `sec` (every second),
 * `fixed` (second, minute and hour single values), `minute` (second 0 of every minute).
 *
 * A step is aimed at a pair of seconds (the last one planned before it, the first one after) and lands
 * half a second into the second after (so each step is its nominal size plus 0.5 s; see
 * ClockDaemon.step). On a loaded machine the daemon may see it a second later: the lists use the seconds
 * its log reports, and those must lie within a second of the aim. Scenarios run concurrently; the clock
 * the test steps is each daemon's own.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it, type ExpectStatic } from 'vitest';
import type { LogRecord } from '../control/sandbox.js';
import {
  BACKWARD,
  ClockDaemon,
  FAKETIME_LIBRARY,
  FORWARD,
  iso,
  LATE_WAKE,
  percentile,
  probeFaketime,
  RESYNC,
  through,
  unix,
  type ObservedJump,
  type TaskSpec,
} from './clock-support.js';

const LONG = process.env.GOTORCH_LONG === '1';
const SCENARIO_TIMEOUT_MS = 120_000;
const CLOCK_MESSAGES = new Set([LATE_WAKE, FORWARD, BACKWARD, RESYNC]);

const sec: TaskSpec = { name: 'sec', schedule: '* * * * * *' };
const minute: TaskSpec = { name: 'minute', schedule: '0 * * * * *' };
const fixedAt = (schedule: string): TaskSpec => ({ name: 'fixed', schedule });

interface Plan {
  readonly zone: string;
  readonly tasks: readonly TaskSpec[];
  /** The daemon's clock when it starts. */
  readonly start: string;
  /** Clock steps, each as [last second planned before it, first second after it]. */
  readonly steps: readonly (readonly [string, string])[];
  /** The scenario ends once `sec` ran for this second. */
  readonly until: string;
}

interface Outcome {
  /** The clock warnings, one per step, with the seconds the daemon saw. */
  readonly jumps: readonly ObservedJump[];
  readonly dst: readonly LogRecord[];
  /** Scheduled seconds per task, ascending (repeats kept). */
  readonly fired: Readonly<Record<string, number[]>>;
  /** `sec`'s first and last scheduled second. */
  readonly first: number;
  readonly last: number;
  /** Start lateness (ms) of `task`'s runs for `second`, from runs.log. */
  readonly lateMs: (task: string, second: number) => number[];
  /** One line for the summary. */
  readonly figures: string;
}

/** Runs a plan to its end, checks what every scenario shares, and returns what the daemon did. */
async function runPlan(expect: ExpectStatic, label: string, plan: Plan): Promise<Outcome> {
  const daemon = new ClockDaemon(plan.zone, plan.tasks);
  try {
    await daemon.start(unix(plan.start));
    for (const [from, to] of plan.steps) await daemon.step(unix(from), unix(to));
    await daemon.waitForRun('sec', unix(plan.until), 90_000);
    expect(await daemon.quit(), 'the daemon exits 0 on SIGQUIT').toBe(0);

    // SPEC §3: every jump is logged once, never a flood; nothing else warns.
    const warnings = daemon.warnings();
    expect(warnings.filter((record) => !CLOCK_MESSAGES.has(record.msg as string)), 'warnings other than clock jumps').toEqual([]);
    const jumps = warnings.map((record) => ClockDaemon.jumpOf(record));
    expect(jumps.length, `clock warnings: ${JSON.stringify(warnings)}`).toBe(plan.steps.length);
    plan.steps.forEach(([from, to], index) => {
      const aimed = unix(to) - unix(from);
      const seen = jumps[index];
      const where = `step ${index + 1} aimed ${from} -> ${to}, seen ${iso(seen.fromSecond)} -> ${iso(seen.toSecond)}`;
      expect(seen.fromSecond - unix(from), where).toBeGreaterThanOrEqual(0);
      expect(seen.fromSecond - unix(from), where).toBeLessThanOrEqual(1);
      expect(seen.toSecond - seen.fromSecond - aimed, where).toBeGreaterThanOrEqual(0);
      expect(seen.toSecond - seen.fromSecond - aimed, where).toBeLessThanOrEqual(1);
    });

    // The jobs' GOTORCH_SCHEDULED_AT and runs.log agree, run for run, and every run succeeded.
    const fired: Record<string, number[]> = {};
    for (const task of plan.tasks) {
      fired[task.name] = daemon.fired(task.name);
      const records = daemon.finished(task.name);
      expect(records.map((record) => record.scheduledAt), `runs.log against the jobs of ${task.name}`).toEqual(fired[task.name]);
      expect(records.filter((record) => record.exitCode !== 0), `failed runs of ${task.name}`).toEqual([]);
    }
    // In the order the jobs ran: after a step back the latest run is not the highest second.
    const inOrder = daemon.firedInOrder('sec');
    expect(inOrder.length).toBeGreaterThan(0);
    const first = inOrder[0];
    const last = inOrder[inOrder.length - 1];
    // The daemon plans from the second after it started; a slow start may cost it a few seconds (5 on
    // a 2-core box running two test suites and a `yes` beside it).
    expect(first - unix(plan.start), 'first planned second after start').toBeGreaterThanOrEqual(1);
    expect(first - unix(plan.start), 'first planned second after start').toBeLessThanOrEqual(10);
    expect(last).toBeGreaterThanOrEqual(unix(plan.until));

    const finished = new Map(plan.tasks.map((task) => [task.name, daemon.finished(task.name)]));
    const lateMs = (task: string, second: number): number[] =>
      (finished.get(task) ?? []).filter((record) => record.scheduledAt === second).map((record) => record.lateMs as number);
    // The landing second of a step starts half a second late by construction (step()); a late wake's run is late on purpose.
    const offBeat = new Set(jumps.flatMap((jump) => (jump.msg === LATE_WAKE ? [jump.toSecond, jump.fromSecond + 1] : [jump.toSecond])));
    const secLate = (finished.get('sec') ?? [])
      .filter((record) => !offBeat.has(record.scheduledAt as number))
      .map((record) => record.lateMs as number);
    const show = (values: readonly number[]): string => (values.length > 0 ? `${values.join('/')} ms` : 'no run');
    const around = jumps.map((jump) => `${iso(jump.fromSecond)} -> ${iso(jump.toSecond)}: last before ${show(lateMs('sec', jump.fromSecond))}, landing ${show(lateMs('sec', jump.toSecond))}, next ${show(lateMs('sec', jump.toSecond + 1))}`);
    const counts = plan.tasks.map((task) => `${task.name}=${fired[task.name].length}`).join(' ');
    const figures = `clock ${label}: runs ${counts}; warnings ${jumps.length}, dst records ${daemon.dstChanges().length}; on-time tick lateness p50 ${percentile(secLate, 50)} ms, p99 ${percentile(secLate, 99)} ms, max ${Math.max(...secLate)} ms${around.length > 0 ? `; around jumps: ${around.join('; ')}` : ''}`;
    return { jumps, dst: daemon.dstChanges(), fired, first, last, lateMs, figures };
  } finally {
    await daemon.cleanup();
  }
}

/** The clock records the plan's steps must produce, in order (SPEC §3), each a warning. */
function expectKinds(expect: ExpectStatic, outcome: Outcome, kinds: readonly string[]): void {
  expect(outcome.jumps.map((jump) => jump.msg)).toEqual(kinds);
  expect(outcome.jumps.every((jump) => jump.level === 40)).toBe(true);
}

/**
 * Spring forward: `skipped` (a fixed time) does not exist that night and runs once at the change;
 * `window` fires at second 0 of every minute of hour 2 local (minute is a wildcard), and none of
 * its skipped minutes is replayed: it runs at the change only if the change lands inside hour 2.
 */
async function springForward(expect: ExpectStatic, zone: string, change: string, skipped = '0 30 2 * * *', shift = 3600, windowAtChange = false): Promise<void> {
  const at = unix(change);
  const outcome = await runPlan(expect, `${zone} spring forward`, {
    zone,
    tasks: [sec, fixedAt(skipped), minute, { name: 'window', schedule: '0 * 2 * * *' }],
    start: iso(at - 8),
    steps: [],
    until: iso(at + 3),
  });
  expectKinds(expect, outcome, []);
  expect(outcome.dst.map((record) => [record.zone, record.shiftSeconds])).toEqual([[zone, shift]]);
  expect(outcome.fired.sec).toEqual(through(outcome.first, outcome.last));
  expect(outcome.fired.fixed).toEqual([at]);
  expect(outcome.fired.minute).toEqual([at]);
  expect(outcome.fired.window).toEqual(windowAtChange ? [at] : []);
  console.log(`${outcome.figures}; at the change: sec ${outcome.lateMs('sec', at).join('')} ms, fixed ${outcome.lateMs('fixed', at).join('')} ms`);
}

/**
 * Fall back: the daemon lives through the first 02:00:0x local (01:00:0x in New York), a clock step
 * forward takes it to seconds before the change, and the same wall times come again.
 */
async function fallBack(expect: ExpectStatic, zone: string, hour: number, firstPass: string, change: string): Promise<void> {
  const firstHour = unix(firstPass);
  const outcome = await runPlan(expect, `${zone} fall back`, {
    zone,
    tasks: [sec, fixedAt(`3 0 ${hour} * * *`), minute],
    start: iso(firstHour - 5),
    steps: [[iso(firstHour + 5), iso(unix(change) - 3)]],
    until: iso(unix(change) + 6),
  });
  expectKinds(expect, outcome, [FORWARD]);
  const [{ fromSecond: from, toSecond: to }] = outcome.jumps;
  expect(outcome.dst.map((record) => [record.zone, record.shiftSeconds])).toEqual([[zone, -3600]]);
  expect(outcome.fired.sec).toEqual([...through(outcome.first, from), ...through(to, outcome.last)]);
  // The fixed-time task ran at its wall time in the first pass and does not run when that wall time comes again.
  expect(outcome.fired.fixed).toEqual([firstHour + 3]);
  // The wildcard task goes on: the repeated minute runs again.
  expect(outcome.fired.minute).toEqual([firstHour, unix(change)]);
  console.log(outcome.figures);
}

const describeClock = FAKETIME_LIBRARY !== undefined || process.env.CI !== undefined ? describe : describe.skip;

describeClock('clock jumps and DST against the real daemon (SPEC §3)', () => {
  beforeAll(() => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'gotorch-faketime-probe-'));
    try {
      const probe = probeFaketime(dir);
      console.log(`clock: libfaketime ${FAKETIME_LIBRARY}: Date.now() off by ${probe.startErrorMs.toFixed(0)} ms at start, ${probe.stepErrorMs.toFixed(0)} ms after a step; monotonic moved ${probe.monotonicMs.toFixed(2)} ms`);
      // Date.now() follows the file at start and after a rewrite; the step did not move the monotonic clock.
      expect(probe.startErrorMs).toBeLessThan(2000);
      expect(probe.stepErrorMs).toBeLessThan(2000);
      expect(probe.monotonicMs).toBeGreaterThanOrEqual(0);
      expect(probe.monotonicMs).toBeLessThan(2000);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  describe.concurrent('wall-clock steps (UTC)', () => {
    it('+5 s is a late wake: missed seconds evaluated in order, each due task once, marked late; one warning', async ({ expect }) => {
      const outcome = await runPlan(expect, '+5 s', {
        zone: 'UTC',
        tasks: [sec, fixedAt('58 14 10 * * *'), minute],
        start: '2026-05-04T10:14:50Z',
        steps: [['2026-05-04T10:14:56Z', '2026-05-04T10:15:02Z']],
        until: '2026-05-04T10:15:05Z',
      });
      expectKinds(expect, outcome, [LATE_WAKE]);
      const [{ fromSecond: from, toSecond: to }] = outcome.jumps;
      // `sec` was due in every missed second and the wake second: it runs once, for the first of them.
      expect(outcome.fired.sec).toEqual([...through(outcome.first, from), from + 1, ...through(to + 1, outcome.last)]);
      expect(outcome.fired.fixed).toEqual([unix('2026-05-04T10:14:58Z')]);
      expect(outcome.fired.minute).toEqual([unix('2026-05-04T10:15:00Z')]);
      // Marked late with their lateness: each started at the wake, not at its own second.
      const wakeMs = to * 1000;
      for (const [task, second] of [['sec', from + 1], ['fixed', unix('2026-05-04T10:14:58Z')], ['minute', unix('2026-05-04T10:15:00Z')]] as const) {
        const [late] = outcome.lateMs(task, second);
        expect(late, `${task}'s lateness`).toBeGreaterThanOrEqual(wakeMs - second * 1000);
        expect(late, `${task}'s lateness`).toBeLessThan(wakeMs - second * 1000 + 3000);
      }
      console.log(`${outcome.figures}; late runs: sec ${outcome.lateMs('sec', from + 1).join('')} ms, fixed ${outcome.lateMs('fixed', unix('2026-05-04T10:14:58Z')).join('')} ms, minute ${outcome.lateMs('minute', unix('2026-05-04T10:15:00Z')).join('')} ms`);
    }, SCENARIO_TIMEOUT_MS);

    it('+90 min: the skipped fixed-time task runs once, wildcard tasks resume without replay; one warning', async ({ expect }) => {
      const outcome = await runPlan(expect, '+90 min', {
        zone: 'UTC',
        // `window` fires every minute of hour 11 (minute is a wildcard): all 60 fall in the skipped time.
        tasks: [sec, fixedAt('0 15 11 * * *'), minute, { name: 'window', schedule: '0 * 11 * * *' }],
        start: '2026-05-04T10:29:50Z',
        steps: [['2026-05-04T10:29:56Z', '2026-05-04T11:59:57Z']],
        until: '2026-05-04T12:00:01Z',
      });
      expectKinds(expect, outcome, [FORWARD]);
      const [{ fromSecond: from, toSecond: to }] = outcome.jumps;
      expect(outcome.fired.sec).toEqual([...through(outcome.first, from), ...through(to, outcome.last)]);
      // Skipped 11:15:00 runs once, at the second the jump was seen (README: its GOTORCH_SCHEDULED_AT).
      expect(outcome.fired.fixed).toEqual([to]);
      expect(outcome.fired.minute).toEqual([unix('2026-05-04T12:00:00Z')]);
      expect(outcome.fired.window).toEqual([]);
      console.log(`${outcome.figures}; skipped fixed-time run lateness ${outcome.lateMs('fixed', to).join('')} ms`);
    }, SCENARIO_TIMEOUT_MS);

    it('-30 min: fixed-time tasks that ran are not run again, wildcard tasks go on; one warning per step', async ({ expect }) => {
      // The daemon first lives through 10:00:xx (the fixed-time task runs), then a step forward takes it
      // to 10:29:5x, so that the step back 30 min lands before a wall time it already ran.
      const outcome = await runPlan(expect, '-30 min', {
        zone: 'UTC',
        tasks: [sec, fixedAt('5 0 10 * * *'), minute],
        start: '2026-05-04T10:00:00Z',
        steps: [
          ['2026-05-04T10:00:07Z', '2026-05-04T10:29:53Z'],
          ['2026-05-04T10:29:56Z', '2026-05-04T09:59:57Z'],
        ],
        until: '2026-05-04T10:00:09Z',
      });
      expectKinds(expect, outcome, [FORWARD, BACKWARD]);
      const [forward, backward] = outcome.jumps;
      // `sec` goes on by the wall clock, so the seconds from the landing to 10:00:07 run a second time.
      expect(outcome.fired.sec).toEqual(
        [...through(outcome.first, forward.fromSecond), ...through(forward.toSecond, backward.fromSecond), ...through(backward.toSecond, outcome.last)].sort((a, b) => a - b),
      );
      expect(outcome.fired.fixed).toEqual([unix('2026-05-04T10:00:05Z')]);
      // The daemon started after 10:00:00: its first 10:00:00 is the one after the step back.
      expect(outcome.fired.minute).toEqual([unix('2026-05-04T10:00:00Z')]);
      console.log(outcome.figures);
    }, SCENARIO_TIMEOUT_MS);

    it('+2 days: resync, no catch-up, one warning; the schedule goes on from the new time', async ({ expect }) => {
      const outcome = await runPlan(expect, '+2 days', {
        zone: 'UTC',
        tasks: [sec, fixedAt('0 30 10 * * *'), minute],
        start: '2026-05-04T10:29:50Z',
        steps: [['2026-05-04T10:29:56Z', '2026-05-06T10:29:57Z']],
        until: '2026-05-06T10:30:01Z',
      });
      expectKinds(expect, outcome, [RESYNC]);
      const [{ fromSecond: from, toSecond: to }] = outcome.jumps;
      expect(outcome.fired.sec).toEqual([...through(outcome.first, from), ...through(to, outcome.last)]);
      // 10:30:00 of May 4 and May 5 were skipped: no catch-up; May 6's runs on time.
      expect(outcome.fired.fixed).toEqual([unix('2026-05-06T10:30:00Z')]);
      expect(outcome.fired.minute).toEqual([unix('2026-05-06T10:30:00Z')]);
      console.log(outcome.figures);
    }, SCENARIO_TIMEOUT_MS);
  });

  describe.concurrent('DST changes', () => {
    it('Europe/Berlin spring forward (2026-03-29 02:00 CET -> 03:00 CEST)', async ({ expect }) => {
      await springForward(expect, 'Europe/Berlin', '2026-03-29T01:00:00Z');
    }, SCENARIO_TIMEOUT_MS);

    it('America/New_York spring forward (2026-03-08 02:00 EST -> 03:00 EDT)', async ({ expect }) => {
      await springForward(expect, 'America/New_York', '2026-03-08T07:00:00Z');
    }, SCENARIO_TIMEOUT_MS);

    it('Europe/Berlin fall back (2026-10-25 03:00 CEST -> 02:00 CET)', async ({ expect }) => {
      await fallBack(expect, 'Europe/Berlin', 2, '2026-10-25T00:00:00Z', '2026-10-25T01:00:00Z');
    }, SCENARIO_TIMEOUT_MS);

    it('America/New_York fall back (2026-11-01 02:00 EDT -> 01:00 EST)', async ({ expect }) => {
      await fallBack(expect, 'America/New_York', 1, '2026-11-01T05:00:00Z', '2026-11-01T06:00:00Z');
    }, SCENARIO_TIMEOUT_MS);
  });

  if (LONG) {
    describe.concurrent('more steps and zones (GOTORCH_LONG=1)', () => {
      it('-30 s: a step back of up to 60 s holds planning until the clock passes the last planned second; one warning', async ({ expect }) => {
        // The planner's choice for small steps (planner.test.ts): no second is planned twice, none is lost.
        const outcome = await runPlan(expect, '-30 s', {
          zone: 'UTC',
          tasks: [sec, fixedAt('5 0 10 * * *'), minute],
          start: '2026-05-04T09:59:57Z',
          steps: [['2026-05-04T10:00:07Z', '2026-05-04T09:59:38Z']],
          until: '2026-05-04T10:00:10Z',
        });
        expectKinds(expect, outcome, [BACKWARD]);
        expect(outcome.fired.sec).toEqual(through(outcome.first, outcome.last));
        expect(outcome.fired.fixed).toEqual([unix('2026-05-04T10:00:05Z')]);
        expect(outcome.fired.minute).toEqual([unix('2026-05-04T10:00:00Z')]);
        console.log(outcome.figures);
      }, SCENARIO_TIMEOUT_MS);

      it('-2 days: resync, one warning; the earlier date runs its schedule, fixed times included', async ({ expect }) => {
        const outcome = await runPlan(expect, '-2 days', {
          zone: 'UTC',
          tasks: [sec, fixedAt('5 0 10 * * *'), minute],
          start: '2026-05-06T09:59:57Z',
          steps: [['2026-05-06T10:00:07Z', '2026-05-04T09:59:57Z']],
          until: '2026-05-04T10:00:07Z',
        });
        expectKinds(expect, outcome, [RESYNC]);
        const [{ fromSecond: from, toSecond: to }] = outcome.jumps;
        expect(outcome.fired.sec).toEqual([...through(to, outcome.last), ...through(outcome.first, from)]);
        // 10:00:05 of May 4 is not a wall time that ran: it runs as scheduled.
        expect(outcome.fired.fixed).toEqual([unix('2026-05-04T10:00:05Z'), unix('2026-05-06T10:00:05Z')]);
        expect(outcome.fired.minute).toEqual([unix('2026-05-04T10:00:00Z'), unix('2026-05-06T10:00:00Z')]);
        console.log(outcome.figures);
      }, SCENARIO_TIMEOUT_MS);

      it('+2 h 59 min: still a jump; a fixed time skipped almost 3 h before runs once', async ({ expect }) => {
        const outcome = await runPlan(expect, '+2 h 59 min', {
          zone: 'UTC',
          tasks: [sec, fixedAt('30 0 9 * * *'), minute],
          start: '2026-05-04T08:59:55Z',
          steps: [['2026-05-04T09:00:06Z', '2026-05-04T11:59:57Z']],
          until: '2026-05-04T12:00:01Z',
        });
        expectKinds(expect, outcome, [FORWARD]);
        const [{ fromSecond: from, toSecond: to }] = outcome.jumps;
        expect(outcome.fired.sec).toEqual([...through(outcome.first, from), ...through(to, outcome.last)]);
        expect(outcome.fired.fixed).toEqual([to]);
        expect(outcome.fired.minute).toEqual([unix('2026-05-04T09:00:00Z'), unix('2026-05-04T12:00:00Z')]);
        console.log(outcome.figures);
      }, SCENARIO_TIMEOUT_MS);

      it('+3 h 1 min: past the limit, resync; the skipped fixed time does not run', async ({ expect }) => {
        const outcome = await runPlan(expect, '+3 h 1 min', {
          zone: 'UTC',
          tasks: [sec, fixedAt('30 0 9 * * *'), minute],
          start: '2026-05-04T08:59:55Z',
          steps: [['2026-05-04T09:00:06Z', '2026-05-04T12:01:57Z']],
          until: '2026-05-04T12:02:01Z',
        });
        expectKinds(expect, outcome, [RESYNC]);
        const [{ fromSecond: from, toSecond: to }] = outcome.jumps;
        expect(outcome.fired.sec).toEqual([...through(outcome.first, from), ...through(to, outcome.last)]);
        expect(outcome.fired.fixed).toEqual([]);
        expect(outcome.fired.minute).toEqual([unix('2026-05-04T09:00:00Z'), unix('2026-05-04T12:02:00Z')]);
        console.log(outcome.figures);
      }, SCENARIO_TIMEOUT_MS);

      it('Australia/Lord_Howe spring forward by 30 min (2026-10-04 02:00 -> 02:30 local)', async ({ expect }) => {
        // 02:10 is skipped and runs once at the change; the change lands on 02:30, inside `window`'s hour.
        await springForward(expect, 'Australia/Lord_Howe', '2026-10-03T15:30:00Z', '0 10 2 * * *', 1800, true);
      }, SCENARIO_TIMEOUT_MS);
    });
  }
});
