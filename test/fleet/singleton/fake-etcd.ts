/**
 * An in-memory etcd for the singleton unit tests: keys with create revisions, leases that expire by
 * the server's (fake) clock, transactions that are atomic, and hosts (FleetLink) whose keep-alives,
 * connection and clock offset the test controls. It can be made to fail (reject every call) or hang
 * (answer nothing until released).
 */
import type { Clock, Timer } from '../../../src/clock.js';
import type { ClaimStore, CreateResult, FleetLink, LeaseKind, Put } from '../../../src/fleet/singleton/fleet-link.js';

interface Entry {
  readonly value: string;
  readonly createRevision: number;
  readonly lease: number;
}

interface Lease {
  readonly ttlMs: number;
  expiresAt: number;
}

/** A clock `offsetMs` ahead of `base` (behind when negative): a host whose clock is skewed. */
export function offsetClock(base: Clock, offsetMs: number): Clock {
  return {
    now: () => base.now() + offsetMs,
    setTimer: (atMs, fn) => base.setTimer(atMs - offsetMs, fn),
  };
}

export const CLAIMS_TTL_MS = 120_000;

export class FakeEtcd {
  readonly keys = new Map<string, Entry>();
  private readonly leases = new Map<number, Lease>();
  private revision = 1;
  private nextLease = 1;
  /** Every call rejects (a server gone, a refused connection). */
  failing = false;
  /** Calls wait, unanswered, until `release()` (a SIGSTOPped server). */
  private held: (() => void)[] | null = null;
  /** Transactions that wrote, in order. */
  readonly commits: string[][] = [];

  constructor(readonly clock: Clock) {}

  grant(ttlMs: number): number {
    const id = this.nextLease++;
    this.leases.set(id, { ttlMs, expiresAt: this.clock.now() + ttlMs });
    return id;
  }

  /** The server's side of a keep-alive: false when the lease is gone. */
  refresh(id: number): boolean {
    this.expire();
    const lease = this.leases.get(id);
    if (lease === undefined) return false;
    lease.expiresAt = this.clock.now() + lease.ttlMs;
    return true;
  }

  leaseAlive(id: number): boolean {
    this.expire();
    return this.leases.has(id);
  }

  hang(): void {
    this.held ??= [];
  }

  release(): void {
    const held = this.held ?? [];
    this.held = null;
    for (const go of held) go();
  }

  host(name: string, options: { ttlMs?: number; offsetMs?: number } = {}): FakeHost {
    return new FakeHost(this, name, options.ttlMs ?? 10_000, options.offsetMs ?? 0);
  }

  /** One call of a host's store: waits while held, fails while failing, then runs `op` atomically. */
  async call<T>(op: () => T): Promise<T> {
    await Promise.resolve();
    if (this.held !== null) await new Promise<void>((resolve) => this.held!.push(resolve));
    if (this.failing) throw new Error('14 UNAVAILABLE: connection refused');
    this.expire();
    return op();
  }

  put(key: string, value: string, lease: number): void {
    if (!this.leases.has(lease)) throw new Error(`etcdserver: requested lease not found (${lease})`);
    const existing = this.keys.get(key);
    this.keys.set(key, { value, lease, createRevision: existing?.createRevision ?? ++this.revision });
  }

  private expire(): void {
    const now = this.clock.now();
    for (const [id, lease] of this.leases) {
      if (lease.expiresAt > now) continue;
      this.leases.delete(id);
      for (const [key, entry] of this.keys) if (entry.lease === id) this.keys.delete(key);
    }
  }
}

/** One host's connection: its host lease (kept alive by the test or `keepAliveEvery`), its claims lease. */
export class FakeHost implements FleetLink {
  readonly store: ClaimStore;
  readonly clock: Clock;
  hostLease: number;
  claimsLease: number;
  private last: number | null;
  /** Cut off from etcd: keep-alives and calls fail. */
  partitioned = false;
  private keeper: Timer | undefined;

  constructor(
    readonly etcd: FakeEtcd,
    readonly hostName: string,
    readonly ttlMs: number,
    offsetMs: number,
  ) {
    this.clock = offsetClock(etcd.clock, offsetMs);
    this.hostLease = etcd.grant(ttlMs);
    this.claimsLease = etcd.grant(CLAIMS_TTL_MS);
    this.last = this.clock.now();
    const call = <T>(op: () => T): Promise<T> => (this.partitioned ? Promise.reject(new Error('14 UNAVAILABLE: no route to host')) : etcd.call(op));
    const leaseOf = (kind: LeaseKind): number => (kind === 'host' ? this.hostLease : this.claimsLease);
    this.store = {
      list: (prefix) => call(() => [...etcd.keys.keys()].filter((key) => key.startsWith(prefix))),
      createIfAbsent: (absent: readonly string[], puts: readonly Put[]) =>
        call((): CreateResult => {
          const existing = new Map(absent.flatMap((key) => (etcd.keys.has(key) ? [[key, etcd.keys.get(key)!.value] as const] : [])));
          if (existing.size > 0) return { created: false, existing };
          for (const put of puts) if (!etcd.leaseAlive(leaseOf(put.lease))) throw new Error('etcdserver: requested lease not found');
          for (const put of puts) etcd.put(put.key, put.value, leaseOf(put.lease));
          etcd.commits.push(puts.map((put) => put.key));
          return { created: true };
        }),
      removeIf: (key, value) =>
        call(() => {
          if (etcd.keys.get(key)?.value === value) etcd.keys.delete(key);
        }),
      rebind: (key, expected, value = expected) =>
        call(() => {
          if (etcd.keys.get(key)?.value !== expected) return false;
          etcd.put(key, value, this.hostLease);
          return true;
        }),
    };
  }

  key(...parts: string[]): string {
    return ['gotorch', 'test', ...parts].join('/');
  }

  isUp(): boolean {
    return !this.partitioned && !this.etcd.failing;
  }

  lastKeepAliveAt(): number | null {
    return this.last;
  }

  /** One keep-alive: answered (and recorded, by this host's clock) unless cut off or the lease is gone. */
  keepAlive(): boolean {
    if (this.partitioned || this.etcd.failing || !this.etcd.refresh(this.hostLease)) return false;
    this.last = this.clock.now();
    return true;
  }

  /** Keep-alives every `everyMs` (etcd3 sends one every TTL / 3) until stopped. */
  keepAliveEvery(everyMs = this.ttlMs / 3): void {
    const next = (): void => {
      this.keeper = this.etcd.clock.setTimer(this.etcd.clock.now() + everyMs, () => {
        this.keepAlive();
        next();
      });
    };
    next();
  }

  stopKeepAlive(): void {
    this.keeper?.cancel();
  }
}
