import { afterAll, describe, expect, it } from 'vitest';
import { ETCD, EtcdServer } from './etcd.js';

/** The harness itself: a real etcd that answers, pauses, crashes and comes back with its data. */
describe.skipIf(ETCD === undefined)('test etcd', () => {
  let server: EtcdServer | undefined;
  afterAll(async () => server?.stop());

  it('starts on free loopback ports, keeps its data across a kill -9 and a restart', async () => {
    server = await EtcdServer.start();
    const put = await fetch(`${server.url}/v3/kv/put`, { method: 'POST', body: JSON.stringify({ key: btoa('k'), value: btoa('v') }) });
    expect(put.ok).toBe(true);
    server.pause();
    await expect(fetch(`${server.url}/health`, { signal: AbortSignal.timeout(500) })).rejects.toThrow();
    server.resume();
    await server.restart();
    const got = (await (await fetch(`${server.url}/v3/kv/range`, { method: 'POST', body: JSON.stringify({ key: btoa('k') }) })).json()) as { kvs?: { value: string }[] };
    expect(atob(got.kvs?.[0]?.value ?? '')).toBe('v');
  }, 60_000);
});
