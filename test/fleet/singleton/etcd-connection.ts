/**
 * A fleet connection as the `--etcd` session's object looks (FleetConnection): a real etcd3 client,
 * a host lease kept alive by etcd3, and its own record of the last keep-alive answered.
 */
import { Etcd3 } from 'etcd3';
import type { FleetConnection } from '../../../src/fleet/singleton/etcd-link.js';

export interface TestConnection {
  readonly connection: FleetConnection;
  readonly client: Etcd3;
  /** Stops keep-alives and closes the client without revoking the lease: a host killed with -9. */
  crash(): void;
  close(): Promise<void>;
}

export async function connect(url: string, fleet: string, hostName: string, ttlS: number): Promise<TestConnection> {
  const client = new Etcd3({ hosts: url });
  const lease = client.lease(ttlS);
  let last: number | null = null;
  lease.on('keepaliveSucceeded', () => (last = Date.now()));
  lease.on('lost', () => (last = null));
  await lease.grant();
  last = Date.now();
  let crashed = false;
  const connection: FleetConnection = {
    hostName,
    client,
    ttlMs: ttlS * 1000,
    key: (...parts) => ['gotorch', fleet, ...parts].join('/'),
    hostLease: () => lease,
    lastKeepAliveAt: () => last,
    isUp: () => !crashed && last !== null,
  };
  return {
    connection,
    client,
    crash() {
      crashed = true;
      lease.release();
      client.close();
    },
    async close() {
      if (crashed) return;
      await lease.revoke().catch(() => undefined);
      client.close();
    },
  };
}
