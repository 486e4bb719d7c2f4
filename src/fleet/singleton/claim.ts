/**
 * SPEC §10: a singleton cron fire is claimed in one etcd transaction keyed by (task, scheduled second):
 * `fires/<task>/<second>` is created only if absent (create revision 0), bound to the claims lease (it
 * outlives any tolerated clock skew, so a host whose clock is behind finds it still there), and, when
 * `max` > 0, a free numbered slot `slots/<task>/<n>` (n < max) is created in the same transaction,
 * bound to the host lease (gone with the host), deleted when the run ends.
 */
import type { Task } from '../../tasks/types.js';
import type { FleetLink } from './fleet-link.js';

/** What the fire and slot keys hold: who claimed, with which run id (GOTORCH_RUN_ID of the run it starts). */
export interface ClaimRecord {
  readonly host: string;
  readonly run: string;
  readonly second: number;
  /** When the claim was made, this host's clock (ms). */
  readonly at: number;
  /** Set on a fire key claimed only to say the fire was skipped fleet-wide. */
  readonly skipped?: 'max';
}

export type ClaimOutcome =
  /** This host runs it; `slot` (with its value) is released when the run ends, null when max=0. */
  | { readonly kind: 'claimed'; readonly slot: { readonly key: string; readonly value: string } | null }
  /** Another host claimed this fire first: not an error. */
  | { readonly kind: 'taken'; readonly holder: string }
  /** This host claimed the fire, but `max` instances run across the fleet: skipped fleet-wide. */
  | { readonly kind: 'full' }
  | { readonly kind: 'failed'; readonly error: string };

export function fireKey(link: FleetLink, task: string, second: number): string {
  return link.key('fires', task, String(second));
}

export function slotPrefix(link: FleetLink, task: string): string {
  return `${link.key('slots', task)}/`;
}

function holderOf(value: string | undefined): string {
  try {
    return (JSON.parse(value ?? '') as ClaimRecord).host;
  } catch {
    return 'another host';
  }
}

/** The lowest n < max whose slot key is absent, or undefined. */
function freeSlot(prefix: string, taken: readonly string[], max: number): number | undefined {
  const held = new Set(taken);
  for (let n = 0; n < max; n++) if (!held.has(`${prefix}${n}`)) return n;
  return undefined;
}

/**
 * Claims (task, second) for this host. A slot lost to another fire between reading the slots and the
 * transaction is retried with a fresh read (at most max + 1 times: each retry means a slot was taken).
 */
export async function claimFire(link: FleetLink, task: Task, second: number, record: ClaimRecord): Promise<ClaimOutcome> {
  const fire = fireKey(link, task.id, second);
  const value = JSON.stringify(record);
  const { store } = link;
  try {
    if (task.max === 0) {
      const result = await store.createIfAbsent([fire], [{ key: fire, value, lease: 'claims' }]);
      return result.created ? { kind: 'claimed', slot: null } : { kind: 'taken', holder: holderOf(result.existing.get(fire)) };
    }
    const prefix = slotPrefix(link, task.id);
    for (let attempt = 0; attempt <= task.max; attempt++) {
      const n = freeSlot(prefix, await store.list(prefix), task.max);
      if (n === undefined) {
        // The fire key says it was decided, so one host (this one) reports the skip, not every host.
        const result = await store.createIfAbsent([fire], [{ key: fire, value: JSON.stringify({ ...record, skipped: 'max' }), lease: 'claims' }]);
        return result.created ? { kind: 'full' } : { kind: 'taken', holder: holderOf(result.existing.get(fire)) };
      }
      const slot = { key: `${prefix}${n}`, value };
      const result = await store.createIfAbsent([fire, slot.key], [{ key: fire, value, lease: 'claims' }, { ...slot, lease: 'host' }]);
      if (result.created) return { kind: 'claimed', slot };
      if (result.existing.has(fire)) return { kind: 'taken', holder: holderOf(result.existing.get(fire)) };
    }
    return { kind: 'failed', error: `the slots of ${task.id} kept changing during the claim` };
  } catch (error) {
    return { kind: 'failed', error: (error as Error).message };
  }
}
