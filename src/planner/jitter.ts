/**
 * SPEC §8 `jitter=`: a task fires a fixed number of seconds after its schedule matches, the offset
 * drawn from its identity and this host's name, so a fleet spreads out and a restart keeps the times.
 * Pure: the host name comes from the caller (fleet/identity.ts hostName).
 */
import { createHash } from 'node:crypto';
import { nextFires } from '../schedule/next-fire.js';
import { Zone } from '../schedule/zone.js';
import type { Task } from '../tasks/types.js';

/** A task's offset on one host, in seconds: what the planner, check, status and metrics all read. */
export type JitterOf = (task: Task) => number;

export const NO_JITTER: JitterOf = () => 0;

/** An integer in [0, jitterS) from a SHA-256 of the identity and the host name; 0 when jitterS is 0. */
export function jitterOffset(taskId: string, hostName: string, jitterS: number): number {
  if (jitterS <= 0) return 0;
  const digest = createHash('sha256').update(taskId).update('\0').update(hostName).digest();
  // 48 bits against a window below 86,400: the modulo's bias is under 1e-9.
  return digest.readUIntBE(0, 6) % jitterS;
}

/** The offsets of one host's tasks, each hashed once (status and metrics ask again and again). */
export function hostJitter(hostName: string): JitterOf {
  const known = new WeakMap<Task, number>();
  return (task) => {
    if (task.options.jitterS === 0) return 0;
    let offset = known.get(task);
    if (offset === undefined) known.set(task, (offset = jitterOffset(task.id, hostName, task.options.jitterS)));
    return offset;
  };
}

/**
 * The next `count` real seconds strictly after `afterSec` at which the task fires with this offset:
 * its schedule's fires `offset` seconds later (SPEC §8: check, status and metrics show these).
 */
export function nextTaskFires(task: Task, offset: number, afterSec: number, count: number): number[] {
  const fires = nextFires(task.schedule, Zone.for(task.zone), afterSec - offset, count);
  return offset === 0 ? fires : fires.map((second) => second + offset);
}
