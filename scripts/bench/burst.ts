/**
 * Burst: 200 jobs due in the same second (10,000 idle tasks loaded), time until the last one started, on
 * both of gotorch's spawners, against the C floor (floor.c posix_spawning the same 200 jobs, `bash -c /bin/true`, back to back from
 * the second boundary) and two Node floors: a script spawning 200 /bin/true, or 200 jobs as a job is
 * spawned, with 16 in flight. All are timed to the moment the 200th spawn is called (gotorch: the run
 * record's lateMs, taken just before its spawn, from the scheduled second; the C floor: from the boundary).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { floorBurst as cFloorBurst } from './c-floor.js';
import { jsonLines, SPAWNER, startDaemon, stopProcess, waitFor, type Gotorch } from './lateness.js';
import { round, summary } from './stats.js';

const JOBS = 200;
const IN_FLIGHT = 16;

/**
 * The floor spawns `/bin/true` with its output ignored. A job's own contract (SPEC §2) costs
 * more per spawn: `sh -c`, its own process group, two output pipes. Measured too, to tell the two apart.
 */
const FLOORS = {
  bare: () => spawn('/bin/true', { stdio: 'ignore' }),
  contract: () => {
    const child = spawn('/bin/sh', ['-c', '/bin/true'], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    child.stdout?.resume();
    child.stderr?.resume();
    return child;
  },
};

/** One floor burst: ms from the start until the 200th spawn is called. */
function floorBurst(spawnOne: () => ChildProcess): Promise<number> {
  return new Promise((resolve) => {
    const begin = performance.now();
    let started = 0;
    let finished = 0;
    let last = 0;
    const next = (): void => {
      if (started === JOBS) return;
      started++;
      if (started === JOBS) last = performance.now() - begin;
      const child = spawnOne();
      child.on('close', () => {
        finished++;
        if (finished === JOBS) resolve(last);
        else setImmediate(next);
      });
    };
    for (let index = 0; index < IN_FLIGHT; index++) next();
  });
}

interface RunRecord {
  readonly scheduledAt?: number;
  readonly lateMs?: number;
}

/** gotorch on one spawner: `bursts` bursts (after one to warm up), each its last run's lateMs (taken just before its spawn). */
async function gotorchBurst(runner: Gotorch, bursts: number, everySeconds: number): Promise<number[]> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gotorch-bench-burst-'));
  const jobs = Array.from({ length: JOBS }, () => [`*/${everySeconds} * * * * *`, '/bin/true'] as const);
  const runsLog = path.join(dir, 'log', 'runs.log');
  const { child } = await startDaemon(runner, dir, jobs);
  let perSecond = new Map<number, number[]>();
  try {
    await waitFor(
      () => {
        perSecond = new Map();
        for (const record of jsonLines<RunRecord>(runsLog)) {
          if (record.lateMs !== undefined) perSecond.set(record.scheduledAt ?? 0, [...(perSecond.get(record.scheduledAt ?? 0) ?? []), record.lateMs]);
        }
        return [...perSecond.values()].filter((late) => late.length === JOBS).length > bursts;
      },
      (bursts + 3) * everySeconds * 1000 + 10_000,
      `${bursts + 1} bursts of ${JOBS} runs on ${runner}`,
    );
  } finally {
    await stopProcess(child);
    rmSync(dir, { recursive: true, force: true });
  }
  const complete = [...perSecond.entries()].filter(([, late]) => late.length === JOBS).sort(([a], [b]) => a - b);
  return complete.slice(1).map(([, late]) => Math.max(...late));
}

/** A floor that cannot run (the C floor without gcc) is reported missing, with the reason. */
async function orMissing<T>(measure: () => Promise<T>): Promise<T | { missing: string }> {
  try {
    return await measure();
  } catch (error) {
    return { missing: error instanceof Error ? error.message : String(error) };
  }
}

/** `bursts` bursts per spawner, one every `everySeconds` (5 in full mode; 200 runs end well within 2 s). */
export async function burst(bursts: number, everySeconds = 5) {
  const floors: number[] = [];
  const contractFloors: number[] = [];
  for (let index = 0; index < bursts; index++) {
    floors.push(await floorBurst(FLOORS.bare));
    contractFloors.push(await floorBurst(FLOORS.contract));
  }
  // The C floor's bursts are cheap: a few more of them steady its median.
  const cFloor = await orMissing(() => cFloorBurst(JOBS, bursts + 2));
  const floor = summary(floors);
  const contractFloor = summary(contractFloors);
  const gotorch = [];
  for (const runner of ['gotorch', 'gotorch child_process'] as const) {
    const ours = summary(await gotorchBurst(runner, bursts, everySeconds));
    gotorch.push({
      runner,
      spawner: SPAWNER[runner],
      bursts: ours.n,
      lastStartedP50Ms: round(ours.p50, 1),
      lastStartedMaxMs: round(ours.max, 1),
      ...('missing' in cFloor ? {} : { cFloorRatio: round(ours.p50 / cFloor.lastStartedP50Ms, 2) }),
      nodeFloorRatio: round(ours.p50 / floor.p50, 2),
      contractRatio: round(ours.p50 / contractFloor.p50, 2),
    });
  }
  return { jobs: JOBS, gotorch, cFloor, nodeFloorP50Ms: round(floor.p50, 1), nodeFloorInFlight: IN_FLIGHT, contractFloorP50Ms: round(contractFloor.p50, 1) };
}
