/**
 * SPEC §10 registry: this host's record under `gotorch/<fleet>/hosts/<host>`, bound to the host lease
 * (so it is gone within the TTL when the host dies, and at once when a clean stop revokes the lease).
 * A run-event subscriber only marks it dirty (quick, synchronous); a one-second timer writes it when
 * dirty, so it is rewritten at most once a second; a new lease (after an etcd restart or a lost lease)
 * writes it at once.
 */
import type { Logger } from 'pino';
import type { Clock, Timer } from '../../clock.js';
import type { RunEvents, RunEventType } from '../../events.js';
import type { FleetConnection } from './connection.js';
import type { Lease } from 'etcd3';
import type { Task } from '../../tasks/types.js';
import { hostRecord, hostTasks, type HostFacts } from './host-record.js';

export const REGISTRY_WRITE_INTERVAL_MS = 1000;

/** What changes a record (not output lines, not hook outcomes). */
const CHANGES: readonly RunEventType[] = ['run-started', 'run-finished', 'daemon-exited', 'reload-applied', 'reload-rejected'];

export class HostRegistry {
  private dirty = true;
  private writing = false;
  private again = false;
  private timer: Timer | undefined;
  private closed = false;
  private failureLogged = false;
  /** The task list written under tasksKey, and on which lease: written again after a reload or on a new lease. */
  private namesWritten: { readonly applicable: readonly Task[]; readonly lease: Lease } | undefined;
  private readonly unsubscribe: (() => void)[];

  constructor(
    private readonly connection: FleetConnection,
    events: RunEvents,
    private readonly facts: HostFacts,
    private readonly log: Logger,
    private readonly clock: Clock,
  ) {
    this.unsubscribe = [
      ...CHANGES.map((type) => events.on(type, 'fleet registry', () => this.markDirty())),
      connection.on('up', () => {
        this.dirty = true;
        void this.write();
      }),
    ];
    this.schedule();
    if (connection.isUp()) void this.write();
  }

  get key(): string {
    return this.connection.key('hosts', this.connection.hostName);
  }

  /** The task names, apart from the record (host-record.ts: StoredHostRecord). */
  get tasksKey(): string {
    return this.connection.key('tasks', this.connection.hostName);
  }

  markDirty(): void {
    this.dirty = true;
  }

  /** Stops writing; the record itself goes with the lease (revoked by the connection's close). */
  close(): void {
    this.closed = true;
    this.timer?.cancel();
    for (const unsubscribe of this.unsubscribe) unsubscribe();
  }

  private schedule(): void {
    this.timer = this.clock.setTimer(this.clock.now() + REGISTRY_WRITE_INTERVAL_MS, () => {
      if (this.closed) return;
      if (this.dirty) void this.write();
      this.schedule();
    });
  }

  private async write(): Promise<void> {
    if (this.writing) {
      this.again = true;
      return;
    }
    const lease = this.connection.lease;
    if (this.closed || lease === undefined) return;
    this.writing = true;
    this.dirty = false;
    try {
      // The names go first, so a reader that finds the record finds them; again only when a reload or a new lease needs it.
      const { applicable } = this.facts.schedule();
      if (this.namesWritten?.applicable !== applicable || this.namesWritten.lease !== lease) {
        await lease.put(this.tasksKey).value(JSON.stringify(hostTasks(this.facts)));
        this.namesWritten = { applicable, lease };
      }
      await lease.put(this.key).value(JSON.stringify(hostRecord(this.facts)));
      if (this.failureLogged) this.log.info({ key: this.key }, 'fleet registry record written again');
      this.failureLogged = false;
    } catch (error) {
      this.dirty = true;
      // The connection logs the outage; this says once that the record is stale meanwhile.
      if (!this.failureLogged) this.log.warn({ err: (error as Error).message, key: this.key }, 'fleet registry: could not write this host record; retrying every second');
      this.failureLogged = true;
    } finally {
      this.writing = false;
    }
    if (this.again) {
      this.again = false;
      void this.write();
    }
  }
}
