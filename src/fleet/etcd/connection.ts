/**
 * SPEC §10: this daemon's connection to the fleet's etcd, as one host lease. It never fails the start
 * for an etcd that does not answer ("the daemon reconnects by itself"): it grants a lease with back-off
 * until one is granted, keeps it alive, counts it gone by its own watchdog (watchdog.ts) or when etcd
 * says so, and then grants a new one. Every transition is logged once; the run of failed retries
 * during an outage is not.
 *
 * What the registry, the fleet commands and `singleton=yes` build on: the client, the keys, the lease
 * while up, and the up/down events.
 */
import type { Etcd3, Lease } from 'etcd3';
import type { Logger } from 'pino';
import { systemClock, type Clock, type Timer } from '../../clock.js';
import { openClient, RETRY_FIRST_MS, RETRY_MAX_MS } from './client.js';
import { fleetKey, type FleetOptions } from './fleet-options.js';
import { LeaseWatchdog } from './watchdog.js';


export interface FleetConnection {
  readonly fleet: string;
  /** This host's name in the fleet's keys (src/fleet/identity.ts hostName). */
  readonly hostName: string;
  readonly client: Etcd3;
  /** The host lease's TTL (SPEC §10: 10 s unless `--fleet-ttl`). */
  readonly ttlMs: number;
  /** `gotorch/<fleet>/<parts…>`. */
  key(...parts: string[]): string;
  /** The host lease while up; undefined while down (a new one comes with the next `up`). */
  readonly lease: Lease | undefined;
  /** ms: the send time of the last keep-alive (or grant) etcd confirmed for the current lease; undefined while down. */
  lastKeepAliveAt(): number | undefined;
  /** When the current lease counts as gone (lastKeepAliveAt + TTL − margin), or undefined while down. */
  deadline(): number | undefined;
  isUp(): boolean;
  /** `up`: a new lease was granted (after the start, an etcd restart, a lost lease). `down`: the lease is given up. */
  on(event: 'up', listener: (lease: Lease) => void): () => void;
  on(event: 'down', listener: (reason: string) => void): () => void;
}

type Listeners = { up: ((lease: Lease) => void)[]; down: ((reason: string) => void)[] };

export class EtcdConnection implements FleetConnection {
  readonly fleet: string;
  readonly ttlMs: number;
  private current: Lease | undefined;
  private pending: Lease | undefined;
  private readonly watchdog: LeaseWatchdog;
  private readonly listeners: Listeners = { up: [], down: [] };
  /** Back-off between grant attempts, reset once a lease is granted. */
  private retryDelayMs = RETRY_FIRST_MS;
  private retry: Timer | undefined;
  private closed = false;
  /** An outage was logged (down, or unreachable at start): its further failed retries are not. */
  private outageLogged = false;
  private downSince: number | undefined;

  private constructor(
    readonly client: Etcd3,
    options: FleetOptions,
    readonly hostName: string,
    private readonly log: Logger,
    private readonly clock: Clock,
  ) {
    this.fleet = options.fleet;
    this.ttlMs = options.ttlMs;
    this.watchdog = new LeaseWatchdog(clock, options.ttlMs, () => this.lose(`no keep-alive confirmed within the TTL (${options.ttlMs / 1000} s) less its margin`));
  }

  /** Builds the client (a missing TLS file rejects, naming it) and starts granting; does not wait for etcd. */
  static async open(options: FleetOptions, hostName: string, log: Logger, clock: Clock = systemClock): Promise<EtcdConnection> {
    return EtcdConnection.over(await openClient(options), options, hostName, log, clock);
  }

  /** Over a given client (a fake one in the unit tests); starts granting. */
  static over(client: Etcd3, options: FleetOptions, hostName: string, log: Logger, clock: Clock): EtcdConnection {
    const connection = new EtcdConnection(client, options, hostName, log.child({ fleet: options.fleet }), clock);
    connection.downSince = clock.now();
    void connection.grant();
    return connection;
  }

  key(...parts: string[]): string {
    return fleetKey(this.fleet, ...parts);
  }

  get lease(): Lease | undefined {
    return this.current;
  }

  lastKeepAliveAt(): number | undefined {
    return this.watchdog.lastKeepAliveAt;
  }

  deadline(): number | undefined {
    return this.watchdog.deadline;
  }

  isUp(): boolean {
    return this.current !== undefined && this.watchdog.isAlive();
  }

  on(event: 'up', listener: (lease: Lease) => void): () => void;
  on(event: 'down', listener: (reason: string) => void): () => void;
  on(event: 'up' | 'down', listener: ((lease: Lease) => void) | ((reason: string) => void)): () => void {
    const list = this.listeners[event] as unknown[];
    list.push(listener);
    return () => list.splice(list.indexOf(listener) >>> 0, 1);
  }

  /** A clean stop: the lease is revoked, so this host's keys go at once (SPEC §10 registry). */
  async close(): Promise<void> {
    this.closed = true;
    this.retry?.cancel();
    this.watchdog.stop();
    const lease = this.current;
    this.current = undefined;
    this.pending?.release();
    if (lease !== undefined) await lease.revoke({ deadline: Date.now() + 2000 }).catch((error: unknown) => this.log.warn({ err: error }, 'fleet: could not revoke the host lease; its keys expire with the TTL'));
    this.client.close();
  }

  private async grant(): Promise<void> {
    if (this.closed) return;
    const lease = this.client.lease(this.ttlMs / 1000);
    this.pending = lease;
    const sentAt = this.clock.now();
    lease.on('keepaliveFired', () => lease === this.current && this.watchdog.fired());
    lease.on('keepaliveSucceeded', () => lease === this.current && this.watchdog.succeeded());
    lease.on('keepaliveEstablished', () => lease === this.current && this.watchdog.streamRestarted());
    lease.on('lost', (error) => lease === this.current && this.lose(`etcd says the lease is lost: ${error.message}`));
    let id: string;
    try {
      id = await lease.grant();
    } catch (error) {
      if (this.pending !== lease) return;
      this.pending = undefined;
      lease.release();
      return this.retryLater(error as Error);
    }
    this.pending = undefined;
    if (this.closed) {
      await lease.revoke().catch(() => undefined);
      return;
    }
    // A grant answered slowly (sent into a hung etcd, answered once it woke) leaves too little of the
    // watchdog's deadline to reach the first keep-alive (TTL/3 on): drop it and ask again at once, no flap.
    if (this.clock.now() - sentAt >= this.ttlMs / 3) {
      lease.release();
      void lease.revoke().catch(() => undefined);
      this.retry = this.clock.setTimer(this.clock.now(), () => void this.grant());
      return;
    }
    this.current = lease;
    this.watchdog.granted(sentAt);
    this.retryDelayMs = RETRY_FIRST_MS;
    const downMs = this.downSince === undefined ? undefined : this.clock.now() - this.downSince;
    this.downSince = undefined;
    this.outageLogged = false;
    this.log.info({ lease: id, ttlS: this.ttlMs / 1000, downMs }, 'fleet connection up');
    for (const listener of [...this.listeners.up]) this.safely(() => listener(lease));
  }

  private retryLater(error: Error): void {
    if (this.closed) return;
    if (!this.outageLogged) {
      this.outageLogged = true;
      this.log.warn({ err: error.message }, 'fleet: etcd does not answer; retrying with back-off (local tasks are not affected)');
    }
    const delay = this.retryDelayMs;
    this.retryDelayMs = Math.min(RETRY_MAX_MS, delay * 2);
    this.retry = this.clock.setTimer(this.clock.now() + delay, () => void this.grant());
  }

  private lose(reason: string): void {
    const lease = this.current;
    if (lease === undefined) return;
    this.current = undefined;
    this.watchdog.stop();
    // Its keep-alives stop; the keys bound to it go when etcd expires it (the next lease rewrites them).
    lease.release();
    lease.removeAllListeners();
    this.downSince = this.clock.now();
    this.outageLogged = true;
    this.log.warn({ reason }, 'fleet connection down');
    for (const listener of [...this.listeners.down]) this.safely(() => listener(reason));
    if (!this.closed) this.retry = this.clock.setTimer(this.clock.now() + RETRY_FIRST_MS, () => void this.grant());
  }

  private safely(fn: () => void): void {
    try {
      fn();
    } catch (error) {
      this.log.error({ err: error }, 'fleet: a connection listener threw');
    }
  }
}
