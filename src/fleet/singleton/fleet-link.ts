/**
 * What singleton tasks (SPEC §10) need of the fleet's etcd connection, and nothing more: the gate and
 * the leadership are written against this; the connection (src/fleet/etcd/) meets it through
 * an adapter (etcd-link.ts), the unit tests through an in-memory etcd (test/fleet/singleton/fake-etcd.ts).
 */

/** Which lease a key is bound to: the host's (gone with the host), or the claims lease (outlives skew). */
export type LeaseKind = 'host' | 'claims';

export interface Put {
  readonly key: string;
  readonly value: string;
  readonly lease: LeaseKind;
}

/** A transaction's answer: it wrote its puts, or it did not and these keys of `absent` exist (with their values). */
export type CreateResult = { readonly created: true } | { readonly created: false; readonly existing: ReadonlyMap<string, string> };

/** The etcd operations the claim and the election use; each is one round trip. */
export interface ClaimStore {
  /** The keys under `prefix` (names only). */
  list(prefix: string): Promise<readonly string[]>;
  /** One transaction: if every key of `absent` has create revision 0, every put is written; else nothing is. */
  createIfAbsent(absent: readonly string[], puts: readonly Put[]): Promise<CreateResult>;
  /** Deletes `key` only while it still holds `value` (a slot or a leadership this host held). */
  removeIf(key: string, value: string): Promise<void>;
  /** One transaction: while `key` holds `expected`, writes `value` (default: the same) bound to the host lease in force; whether it did. */
  rebind(key: string, expected: string, value?: string): Promise<boolean>;
}

export interface FleetLink {
  /** This host's name, as the registry shows it. */
  readonly hostName: string;
  /** The host lease's TTL. */
  readonly ttlMs: number;
  /** `gotorch/<fleet>/<parts joined by />`. */
  key(...parts: string[]): string;
  /** Connected, with a host lease. */
  isUp(): boolean;
  /** When the last keep-alive of the host lease was answered (this host's clock), or null: never or lost. */
  lastKeepAliveAt(): number | null;
  readonly store: ClaimStore;
}

/**
 * SPEC §10: the host lease is alive on the server at least until the last keep-alive's answer + TTL;
 * this host acts as if it ended `marginMs` before that (its own watchdog: the client's 'lost' event can
 * come 2 × TTL late, microsoft/etcd3#155). Null when there is no lease to trust.
 */
export function leaseDeadline(link: FleetLink, marginMs: number): number | null {
  const last = link.lastKeepAliveAt();
  return last === null ? null : last + link.ttlMs - marginMs;
}

/** The longest a stop waits for etcd to free this host's slots and leaderships (else their lease ends them). */
export const CLOSE_WAIT_MS = 2000;

/** Why this host cannot claim now, or undefined when it can (connected, lease trusted for `marginMs` more). */
export function unavailable(link: FleetLink | undefined, now: number, marginMs: number): string | undefined {
  if (link === undefined) return 'no --etcd: singleton tasks run only in a fleet';
  if (!link.isUp()) return 'etcd is unreachable';
  const deadline = leaseDeadline(link, marginMs);
  if (deadline === null || now >= deadline) return 'the host lease may have expired (no keep-alive answered in time)';
  return undefined;
}
