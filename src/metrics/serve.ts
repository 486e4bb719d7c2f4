/**
 * `start --metrics` (SPEC §9): what the daemon imports, only when asked (STYLE: optional engines load
 * lazily), so a plain daemon never loads prom-client. Wires the run metrics and the scheduler's health
 * to the daemon's tick and to an HTTP server.
 */
import type { Logger } from 'pino';
import type { RunEvents } from '../events.js';
import type { TickLateness } from '../daemon/tick-lateness.js';
import type { ListenAddress } from './listen-address.js';
import { MetricsServer } from './metrics-server.js';
import { RunMetrics, type DaemonView } from './run-metrics.js';
import { SchedulerHealth } from './scheduler-health.js';

export type { ListenAddress, MetricsServer };

export interface MetricsSource extends DaemonView {
  readonly ticks: Pick<TickLateness, 'onRecord'>;
  readonly log: Logger;
}

/** Listens, or rejects with the reason (a port in use, an address not of this host). */
export function serveMetrics(address: ListenAddress, daemon: MetricsSource, events: RunEvents): Promise<MetricsServer> {
  const metrics = new RunMetrics(daemon, events);
  const health = new SchedulerHealth();
  daemon.ticks.onRecord((lateMs) => {
    metrics.observeTick(lateMs);
    health.ticked();
  });
  const endpoints = { metrics: async () => ({ contentType: metrics.contentType, body: await metrics.render() }), health: () => health.check() };
  return MetricsServer.listen(address, endpoints, (error, what) => daemon.log.error({ err: error }, what));
}
