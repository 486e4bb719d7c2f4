/**
 * The singleton code's FleetLink over the fleet's etcd connection (etcd3, loaded only with --etcd: this
 * module imports its types only). The connection owns the client, the host lease and its keep-alive
 * record; this adds the claims lease: fire keys are bound to a lease granted at most CLAIMS_ROTATE_MS
 * ago with a TTL of CLAIMS_TTL_S, never kept alive, so a fire key lives from CLAIMS_TTL_S − 60 s to
 * CLAIMS_TTL_S after its claim (README: Singleton tasks): long past any tolerated clock skew, and gone.
 */
import type { Etcd3, Lease } from 'etcd3';
import type { Clock } from '../../clock.js';
import type { ClaimStore, CreateResult, FleetLink, LeaseKind, Put } from './fleet-link.js';

/** What the connection (the `--etcd` session's object) hands over. */
export interface FleetConnection {
  readonly hostName: string;
  readonly client: Etcd3;
  readonly ttlMs: number;
  key(...parts: string[]): string;
  hostLease(): Lease | undefined;
  lastKeepAliveAt(): number | null;
  isUp(): boolean;
}

export const CLAIMS_TTL_S = 180;
export const CLAIMS_ROTATE_MS = 60_000;

export function singletonLink(connection: FleetConnection, clock: Clock): FleetLink & { close(): void } {
  const store = new EtcdClaimStore(connection.client, () => connection.hostLease(), clock);
  return {
    hostName: connection.hostName,
    ttlMs: connection.ttlMs,
    key: (...parts) => connection.key(...parts),
    isUp: () => connection.isUp(),
    lastKeepAliveAt: () => connection.lastKeepAliveAt(),
    store,
    close: () => store.close(),
  };
}

export class EtcdClaimStore implements ClaimStore {
  private claims: { readonly lease: Lease; readonly grantedAt: number } | undefined;

  constructor(
    private readonly client: Etcd3,
    private readonly hostLease: () => Lease | undefined,
    private readonly clock: Clock,
  ) {}

  list(prefix: string): Promise<readonly string[]> {
    return this.client.getAll().prefix(prefix).keys();
  }

  async createIfAbsent(absent: readonly string[], puts: readonly Put[]): Promise<CreateResult> {
    const ops = await Promise.all(
      puts.map(async (put) => ({ request_put: { key: Buffer.from(put.key), value: Buffer.from(put.value), lease: await this.leaseId(put.lease) } })),
    );
    let txn = this.client.if(absent[0], 'Create', '==', 0);
    for (const key of absent.slice(1)) txn = txn.and(key, 'Create', '==', 0);
    const answer = await txn
      .then(...ops)
      .else(...absent.map((key) => ({ request_range: { key: Buffer.from(key) } })))
      .commit();
    if (answer.succeeded) return { created: true };
    const existing = new Map<string, string>();
    answer.responses.forEach((response, i) => {
      const kv = response.response_range?.kvs[0];
      if (kv !== undefined) existing.set(absent[i], kv.value.toString());
    });
    return { created: false, existing };
  }

  async removeIf(key: string, value: string): Promise<void> {
    await this.client.if(key, 'Value', '==', value).then(this.client.delete().key(key)).commit();
  }

  async rebind(key: string, expected: string, value = expected): Promise<boolean> {
    const put = { request_put: { key: Buffer.from(key), value: Buffer.from(value), lease: await this.leaseId('host') } };
    return (await this.client.if(key, 'Value', '==', expected).then(put).commit()).succeeded;
  }

  close(): void {
    this.claims?.lease.release();
    this.claims = undefined;
  }

  private async leaseId(kind: LeaseKind): Promise<string> {
    if (kind === 'host') {
      const lease = this.hostLease();
      if (lease === undefined) throw new Error('no host lease (not connected)');
      return lease.grant();
    }
    const now = this.clock.now();
    if (this.claims === undefined || now - this.claims.grantedAt >= CLAIMS_ROTATE_MS) {
      this.claims?.lease.release();
      const lease = this.client.lease(CLAIMS_TTL_S, { autoKeepAlive: false });
      lease.on('lost', () => undefined); // a failed grant is the claim's error, not an unhandled event
      this.claims = { lease, grantedAt: now };
    }
    const claims = this.claims;
    try {
      return await claims.lease.grant();
    } catch (error) {
      if (this.claims === claims) this.claims = undefined; // the next claim asks for a new one
      throw error;
    }
  }
}
