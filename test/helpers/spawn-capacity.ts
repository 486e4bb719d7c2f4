import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';

/**
 * How many `/bin/sh -c true` jobs this process can spawn a second, back to back, with two output
 * pipes and a process group each (a job's contract, without a daemon): the machine's bare spawn rate
 * as it is right now. A loaded or slower machine lowers it for the daemon and for this loop alike, so a
 * floor drawn from it holds on any box and still catches a daemon that starts far fewer than it could.
 */
export async function spawnCapacity(ms = 1000): Promise<number> {
  const until = performance.now() + ms;
  const exits: Promise<void>[] = [];
  let spawned = 0;
  while (performance.now() < until) {
    const child = spawn('/bin/sh', ['-c', 'true'], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    child.stdout.resume();
    child.stderr.resume();
    exits.push(new Promise((resolve) => child.once('close', () => resolve())));
    spawned++;
    // Exits are reaped between spawns, as the daemon reaps its jobs' exits between ticks.
    if (spawned % 20 === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  await Promise.all(exits);
  return (spawned * 1000) / ms;
}
