/**
 * SPEC §5, one path for SIGUSR2, `gotorch reload`, file changes and a changed host identity: reloads
 * run one at a time, all or nothing, and never exit the daemon. The schedule they apply is one
 * immutable snapshot, swapped in one assignment by the daemon.
 */
import type { Logger } from 'pino';
import type { RunEvents } from '../events.js';
import { applicableTasks, HostList, type HostIdentity } from '../fleet/host-list.js';
import { describeIdentity, hostName, resolveIdentity } from '../fleet/identity.js';
import { hostJitter, NO_JITTER, type JitterOf } from '../planner/jitter.js';
import { formatError } from '../tasks/errors.js';
import { loadTaskFile, type LoadResult } from '../tasks/load.js';
import type { Task } from '../tasks/types.js';
import type { ReloadResult } from './status.js';
import { describeDiff, type TaskDiff } from './task-diff.js';

/** How often this host's addresses and name are read again (fleet: identity refreshed every 30 s). */
export const IDENTITY_REFRESH_MS = 30_000;

/** What the daemon runs: the file as loaded and what of it applies to this host. */
export interface AppliedSchedule {
  readonly loaded: LoadResult;
  readonly applicable: readonly Task[];
  readonly daemonTasks: readonly Task[];
  /** This host as the log and `status` name it. */
  readonly host: string;
  /** Names and addresses the hosts columns were matched against: a change re-evaluates them. */
  readonly identityKey: string;
  /** SPEC §8: each task's jitter offset on this host (its name hashed with the task's identity). */
  readonly jitterOf: JitterOf;
}

export const NOTHING_APPLIED: AppliedSchedule = Object.freeze({
  loaded: Object.freeze({ tasks: [], errors: [], warnings: [], files: [], patterns: [], digest: '' }),
  applicable: [],
  daemonTasks: [],
  host: '',
  identityKey: '',
  jitterOf: NO_JITTER,
});

function identityKey(identity: HostIdentity): string {
  return `${identity.names.join(',')}|${identity.addresses.map((address) => address.value.toString(16)).sort().join(',')}`;
}

/** A loaded file matched against this host's identity (`--host-id` replaces it), before indexing. */
export function matchHost(loaded: LoadResult, hostId: string | undefined): Omit<AppliedSchedule, 'daemonTasks'> {
  const identity = resolveIdentity(hostId);
  return {
    loaded,
    applicable: applicableTasks(loaded.tasks, identity),
    host: describeIdentity(identity, hostId),
    identityKey: identityKey(identity),
    jitterOf: hostJitter(hostName(hostId)),
  };
}

const currentIdentityKey = (hostId: string | undefined): string => identityKey(resolveIdentity(hostId));

/** Loads the task file; what this host lacks (a cwd, a shell, a user) is warned about for its own tasks only. */
export function loadForHost(file: string, hostId: string | undefined): Promise<LoadResult> {
  const identity = resolveIdentity(hostId);
  return loadTaskFile(file, (task) => new HostList(task.hosts).appliesTo(identity));
}

/** Check's warnings in the daemon's log (they never reject a file): one record per load that has any. */
export function logWarnings(log: Logger, trigger: string, loaded: LoadResult): void {
  if (loaded.warnings.length > 0) log.warn({ trigger, warnings: loaded.warnings.map(formatError) }, 'task file warnings');
}

export interface ReloadsHost {
  readonly log: Logger;
  /** Where reloads applied and rejected are told (the daemon's log says them). */
  readonly events: RunEvents;
  readonly now: () => number;
  readonly hostId: string | undefined;
  readonly load: () => Promise<LoadResult>;
  /** The schedule in force. */
  readonly current: () => AppliedSchedule;
  /** Makes `loaded` the schedule; resolves with the diff and the first second planned under it. */
  readonly apply: (loaded: LoadResult) => Promise<{ diff: TaskDiff; fromSecond: number }>;
  /** After each applied reload (the watcher follows the files read). */
  readonly applied?: (loaded: LoadResult) => Promise<void>;
}

export class Reloads {
  private chain: Promise<unknown> = Promise.resolve();
  private lastResult: ReloadResult | null = null;
  /** The latest reload that applied different content, and what it changed. */
  private lastChange: { readonly trigger: string; readonly at: number; readonly change: string } | undefined;
  private identityTimer: NodeJS.Timeout | undefined;

  constructor(private readonly host: ReloadsHost) {}

  get last(): ReloadResult | null {
    return this.lastResult;
  }

  reload(trigger: string): Promise<ReloadResult> {
    const next = this.chain.then(() => this.reloadNow(trigger));
    this.chain = next.catch(() => undefined);
    return next;
  }

  /** SPEC §1.2 / fleet: addresses come and go (DHCP, failover); re-checked off the tick path. */
  watchIdentity(): void {
    this.identityTimer = setInterval(() => void this.refreshIdentity(), IDENTITY_REFRESH_MS).unref();
  }

  stop(): void {
    clearInterval(this.identityTimer);
  }

  private async reloadNow(trigger: string): Promise<ReloadResult> {
    const { log, now } = this.host;
    const loaded = await this.host.load();
    const at = now();
    const sameContent = loaded.digest === this.host.current().loaded.digest;
    if (!(trigger === 'file change' && sameContent)) logWarnings(log, trigger, loaded);
    if (loaded.errors.length > 0) {
      const errors = loaded.errors.map(formatError);
      this.host.events.publish({ type: 'reload-rejected', trigger, errors });
      return (this.lastResult = { ok: false, trigger, at, errors });
    }
    if (trigger === 'file change' && sameContent) return this.lastResult ?? { ok: true, trigger, at, summary: 'unchanged' };
    const { diff, fromSecond } = await this.host.apply(loaded);
    const change = describeDiff(diff);
    // The watcher usually applies an edit before `gotorch reload` asks: say what the reload that changed it did
    // (that one's own change: repeated reloads of one file must not nest the notes, growing each record).
    const applied = this.lastChange;
    const summary = sameContent && applied ? `${change} (already applied by ${applied.trigger} at ${new Date(applied.at).toISOString()}: ${applied.change})` : change;
    if (!sameContent) this.lastChange = { trigger, at, change };
    await this.host.applied?.(loaded);
    const { applicable } = this.host.current();
    this.host.events.publish({ type: 'reload-applied', trigger, summary, fromSecond, digest: loaded.digest, tasks: loaded.tasks.length, applicable: applicable.length });
    return (this.lastResult = { ok: true, trigger, at, summary });
  }

  /** A changed identity re-evaluates the hosts columns exactly like a reload of the same file. */
  private refreshIdentity(): Promise<unknown> {
    const next = this.chain.then(async () => {
      const current = this.host.current();
      if (current === NOTHING_APPLIED || currentIdentityKey(this.host.hostId) === current.identityKey) return;
      const { diff, fromSecond } = await this.host.apply(current.loaded);
      const summary = describeDiff(diff);
      this.host.log.info({ host: this.host.current().host, summary, fromSecond }, 'host identity changed: tasks re-evaluated');
      this.lastResult = { ok: true, trigger: 'host identity change', at: this.host.now(), summary };
    });
    this.chain = next.catch((error: unknown) => this.host.log.error({ err: error }, 'host identity refresh failed'));
    return this.chain;
  }
}
