import { performance } from 'node:perf_hooks';
import { chooseSpawner } from '../../src/supervisor/choose-spawner.js';

/**
 * How many `/bin/sh -c true` jobs this process can spawn a second, back to back, on the spawner the
 * daemon picks (native when the addon is built, else child_process; GOTORCH_SPAWNER as for the
 * daemon): a job's contract (two output pipes, a process group) without a daemon, the machine's bare
 * spawn rate as it is right now. A loaded or slower machine lowers it for the daemon and for this loop
 * alike, so a floor drawn from it holds on any box and still catches a daemon that starts far fewer
 * than it could.
 */
export async function spawnCapacity(ms = 1000): Promise<number> {
  const chosen = await chooseSpawner();
  if ('error' in chosen) throw new Error(chosen.error);
  const until = performance.now() + ms;
  const exits: Promise<unknown>[] = [];
  let spawned = 0;
  while (performance.now() < until) {
    exits.push(chosen.spawner.spawn({ shell: '/bin/sh', command: 'true', env: { PATH: '/usr/bin:/bin' }, cwd: '/' }).outcome);
    spawned++;
    // Exits are reaped between spawns, as the daemon reaps its jobs' exits between ticks.
    if (spawned % 20 === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  await Promise.all(exits);
  return (spawned * 1000) / ms;
}
