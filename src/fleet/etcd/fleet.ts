/**
 * `start --etcd` (SPEC §10): what the daemon imports, only when asked (STYLE: optional engines load
 * lazily), so a standalone daemon never loads etcd3 or gRPC. Wires the connection, the registry and
 * the fleet commands to the daemon.
 */
import type { Logger } from 'pino';
import { settleWithin, type Clock } from '../../clock.js';
import type { RunEvents } from '../../events.js';
import { EtcdConnection, type FleetConnection } from './connection.js';
import { FleetCommands, type CommandHost } from './fleet-commands.js';
import type { FleetOptions } from './fleet-options.js';
import type { HostFacts } from './host-record.js';
import { HostRegistry } from './registry.js';

export type { FleetConnection };

/** What `status` shows of the fleet (SPEC §10, README: Fleet). */
export interface FleetStatus {
  readonly fleet: string;
  readonly endpoints: readonly string[];
  readonly host: string;
  readonly ttlMs: number;
  /** The TLS files given (paths), so `restart` starts the next daemon with the same options. */
  readonly tls: FleetOptions['tls'];
  readonly etcd: 'up' | 'down';
  /** ms since the last keep-alive etcd confirmed; null while down. */
  readonly lastKeepAliveAgeMs: number | null;
}

export interface Fleet {
  readonly connection: FleetConnection;
  status(): FleetStatus;
  /** A clean stop: revokes the host lease, so this host leaves the registry at once. */
  close(): Promise<void>;
}

export interface FleetDaemon extends HostFacts, CommandHost {
  readonly clock: Clock;
  readonly log: Logger;
  readonly events: RunEvents;
}

/** The longest a stop waits for the command watch to cancel. */
const CLOSE_WAIT_MS = 1000;

/** Rejects for a bad option (a TLS file that cannot be read); an etcd that does not answer is no error. */
export async function joinFleet(options: FleetOptions, daemon: FleetDaemon): Promise<Fleet> {
  const connection = await EtcdConnection.open(options, daemon.host, daemon.log, daemon.clock);
  const registry = new HostRegistry(connection, daemon.events, daemon, daemon.log, daemon.clock);
  const commands = new FleetCommands(connection, daemon, daemon.log);
  return {
    connection,
    status: () => {
      const last = connection.lastKeepAliveAt();
      return {
        fleet: connection.fleet,
        endpoints: options.endpoints,
        host: connection.hostName,
        ttlMs: connection.ttlMs,
        tls: options.tls,
        etcd: connection.isUp() ? 'up' : 'down',
        lastKeepAliveAgeMs: last === undefined ? null : daemon.clock.now() - last,
      };
    },
    async close() {
      registry.close();
      // A watch that never connected cancels only once etcd answers: a stop does not wait for that.
      await settleWithin(daemon.clock, CLOSE_WAIT_MS, [commands.close()]);
      await connection.close();
    },
  };
}
