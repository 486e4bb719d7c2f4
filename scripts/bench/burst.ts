/**
 * Burst: 200 jobs due in the same second, time until the last one started, against the floor on this
 * machine, a script spawning 200 /bin/true with 16 in flight. Both are timed to the moment the 200th
 * spawn is called (gotorch: the run record's start time, taken just before its spawn).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { startRunner, stopProcess, waitFor } from './lateness.js';
import { round, summary } from './stats.js';

const JOBS = 200;
const IN_FLIGHT = 16;
const EVERY_SECONDS = 5;

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
  readonly msg?: string;
  readonly scheduledAt?: number;
  readonly lateMs?: number;
}

export async function burst(bursts: number) {
  const floors: number[] = [];
  const contractFloors: number[] = [];
  for (let index = 0; index < bursts; index++) {
    floors.push(await floorBurst(FLOORS.bare));
    contractFloors.push(await floorBurst(FLOORS.contract));
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gotorch-bench-burst-'));
  const jobs = Array.from({ length: JOBS }, () => [`*/${EVERY_SECONDS} * * * * *`, '/bin/true'] as const);
  const runsLog = path.join(dir, 'log', 'runs.log');
  // The daemon opens its logs just after it claims the pidfile (which is what startRunner waits for).
  const records = (): RunRecord[] =>
    (existsSync(runsLog) ? readFileSync(runsLog, 'utf8') : '')
      .split('\n')
      .flatMap((line) => {
        try {
          const record = JSON.parse(line) as RunRecord;
          return record.lateMs === undefined ? [] : [record];
        } catch {
          return [];
        }
      });
  const child = await startRunner('gotorch', dir, jobs);
  let perSecond: Map<number, number[]>;
  try {
    // The first burst warms the daemon up; `bursts` more are measured.
    await waitFor(
      () => {
        perSecond = new Map();
        for (const record of records()) perSecond.set(record.scheduledAt ?? 0, [...(perSecond.get(record.scheduledAt ?? 0) ?? []), record.lateMs ?? 0]);
        return [...perSecond.values()].filter((late) => late.length === JOBS).length > bursts;
      },
      (bursts + 3) * EVERY_SECONDS * 1000,
      `${bursts + 1} bursts of ${JOBS} runs`,
    );
  } finally {
    await stopProcess(child);
    rmSync(dir, { recursive: true, force: true });
  }
  const complete = [...perSecond!.entries()].filter(([, late]) => late.length === JOBS).sort(([a], [b]) => a - b);
  const lastStarted = complete.slice(1).map(([, late]) => Math.max(...late));
  const ours = summary(lastStarted);
  const floor = summary(floors);
  const contractFloor = summary(contractFloors);
  return {
    jobs: JOBS,
    bursts: lastStarted.length,
    lastStartedP50Ms: round(ours.p50, 1),
    lastStartedMaxMs: round(ours.max, 1),
    floorP50Ms: round(floor.p50, 1),
    floorInFlight: IN_FLIGHT,
    ratio: round(ours.p50 / floor.p50, 2),
    contractFloorP50Ms: round(contractFloor.p50, 1),
    contractRatio: round(ours.p50 / contractFloor.p50, 2),
  };
}
