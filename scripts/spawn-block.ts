/**
 * Issue 16 micro-measure (not a test bound): how long each spawner blocks the event loop per spawn —
 * the synchronous part of `spawn()` — for 200 `sh -c true`, with this process's heap at ~75 MB as a
 * loaded daemon's is. child_process forks the whole process and waits for its exec; posix_spawn does
 * not copy the page tables. Run: npm run build && node dist/scripts/spawn-block.js
 */
import { loadNativeAddon } from '../src/supervisor/native-addon.js';
import { nativeSpawner } from '../src/supervisor/native-spawner.js';
import { jobSpawner, type Spawner } from '../src/supervisor/spawner.js';

const SPAWNS = 200;
const HEAP_TARGET = 75 * 1024 * 1024;

/** Live objects the size of a daemon's task table, kept reachable until the end. */
function fillHeap(): unknown[] {
  const kept: unknown[] = [];
  while (process.memoryUsage().heapUsed < HEAP_TARGET) kept.push(Array.from({ length: 1000 }, (_, i) => ({ id: `task-${kept.length}-${i}`, n: i })));
  return kept;
}

const quantile = (sorted: readonly number[], q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];

async function main(): Promise<void> {
  const loaded = loadNativeAddon();
  if ('reason' in loaded) throw new Error(loaded.reason);
  const spawners: [string, Spawner][] = [
    ['child_process', jobSpawner],
    ['native', nativeSpawner(loaded.addon)],
  ];
  const kept = fillHeap();
  const blocked = new Map<string, number[]>(spawners.map(([name]) => [name, []]));
  const wall = new Map<string, number[]>(spawners.map(([name]) => [name, []]));
  // This process's CPU (ms) in the spawn() call, and from the call to the outcome (reading, reaping).
  const cpuInCall = new Map<string, number[]>(spawners.map(([name]) => [name, []]));
  const cpuPerRun = new Map<string, number[]>(spawners.map(([name]) => [name, []]));
  const cpuMs = (since: NodeJS.CpuUsage): number => {
    const used = process.cpuUsage(since);
    return (used.user + used.system) / 1000;
  };
  // Interleaved, one child at a time: both spawners see the same heap and machine load.
  for (let i = 0; i < SPAWNS + 10; i++) {
    for (const [name, spawner] of spawners) {
      const cpu = process.cpuUsage();
      const start = performance.now();
      const child = spawner.spawn({ shell: '/bin/sh', command: 'true', env: { PATH: '/usr/bin:/bin' }, cwd: '/' });
      const returned = performance.now();
      const cpuCall = cpuMs(cpu);
      const outcome = await child.outcome;
      const cpuRun = cpuMs(cpu);
      if (outcome.exitCode !== 0) throw new Error(`${name}: ${JSON.stringify(outcome)}`);
      if (i < 10) continue; // warm-up
      blocked.get(name)?.push(returned - start);
      wall.get(name)?.push(performance.now() - start);
      cpuInCall.get(name)?.push(cpuCall);
      cpuPerRun.get(name)?.push(cpuRun);
    }
  }
  const { heapUsed, rss } = process.memoryUsage();
  console.log(`${SPAWNS} spawns of sh -c true per spawner, heap ${(heapUsed / 2 ** 20).toFixed(0)} MB, RSS ${(rss / 2 ** 20).toFixed(0)} MB (${kept.length} arrays kept)`);
  console.log('spawner        blocked in spawn(): total   mean    p50     p99    | spawn to outcome: mean | CPU: in spawn(), per run (means)');
  for (const [name] of spawners) {
    const times = [...(blocked.get(name) ?? [])].sort((a, b) => a - b);
    const total = times.reduce((sum, ms) => sum + ms, 0);
    const ends = wall.get(name) ?? [];
    const ms = (value: number): string => `${value.toFixed(3)} ms`.padStart(10);
    const mean = (values: readonly number[] = []): number => values.reduce((sum, value) => sum + value, 0) / values.length;
    console.log(
      `${name.padEnd(15)}${ms(total).padStart(24)}${ms(total / times.length)}${ms(quantile(times, 0.5))}${ms(quantile(times, 0.99))} | ${ms(mean(ends))}          | ${ms(mean(cpuInCall.get(name)))}${ms(mean(cpuPerRun.get(name)))}`,
    );
  }
}

await main();
