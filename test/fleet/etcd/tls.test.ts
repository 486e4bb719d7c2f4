/**
 * SPEC §10 TLS: an etcd that serves https and requires client certificates. A daemon given the CA,
 * its certificate and key joins; the fleet commands with the same files read the registry; without
 * the client certificate etcd refuses, and the command says etcd did not answer.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sandboxes } from '../../control/sandbox.js';
import { ETCD, EtcdServer } from '../../helpers/etcd.js';
import { runCli, waitFor } from '../../helpers/processes.js';
import { newFleet } from './fleet-support.js';

const OPENSSL = spawnSync('sh', ['-c', 'command -v openssl']).status === 0;

/** A CA, a server certificate for 127.0.0.1 and a client certificate, all signed by the CA. */
function certificates(dir: string): Record<'ca' | 'serverCert' | 'serverKey' | 'clientCert' | 'clientKey', string> {
  const file = (name: string): string => path.join(dir, name);
  const openssl = (...args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=gotorch-test-ca');
  writeFileSync(file('server.ext'), 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  writeFileSync(file('client.ext'), 'extendedKeyUsage=clientAuth\n');
  for (const who of ['server', 'client']) {
    openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${who}.key`, '-out', `${who}.csr`, '-subj', `/CN=${who === 'server' ? '127.0.0.1' : 'gotorch'}`);
    openssl('x509', '-req', '-in', `${who}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${who}.pem`, '-days', '1', '-extfile', `${who}.ext`);
  }
  return { ca: file('ca.pem'), serverCert: file('server.pem'), serverKey: file('server.key'), clientCert: file('client.pem'), clientKey: file('client.key') };
}

describe.skipIf(ETCD === undefined || !OPENSSL)('fleet over TLS with client certificates (SPEC §10)', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gotorch-tls-'));
  let etcd: EtcdServer;
  let certs: ReturnType<typeof certificates>;
  const sandbox = sandboxes();
  beforeAll(async () => {
    certs = certificates(dir);
    etcd = await EtcdServer.start({ cert: certs.serverCert, key: certs.serverKey, clientCa: certs.ca });
  });
  afterAll(async () => {
    await etcd?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const fleetStatus = async (fleet: string, tls: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> => {
    const run = runCli(['fleet', 'status', '--json', '--etcd', etcd.url, '--fleet', fleet, ...tls]);
    const code = await run.closed;
    return { code, stdout: run.stdout(), stderr: run.stderr() };
  };

  it('a daemon with the CA, certificate and key joins; the CLI reads it with the same files and is refused without them', async () => {
    const fleet = newFleet();
    const tls = ['--etcd-ca', certs.ca, '--etcd-cert', certs.clientCert, '--etcd-key', certs.clientKey];
    const box = sandbox();
    box.write(['*/5 * * * * *  *  1  cron  name=tick  true']);
    await box.start('--host-id', 'web-1', '--etcd', etcd.url, '--fleet', fleet, '--fleet-ttl', '3s', ...tls);
    await box.waitForLog('fleet connection up', {}, 20_000);
    const seen = await waitFor(async () => {
      const result = await fleetStatus(fleet, tls);
      return result.code === 0 && (JSON.parse(result.stdout) as { hosts: unknown[] }).hosts.length === 1 ? result : undefined;
    }, 10_000, 'web-1 in the registry over TLS');
    expect((JSON.parse(seen.stdout) as { hosts: { host: string }[] }).hosts[0].host).toBe('web-1');

    const refused = await fleetStatus(fleet, ['--etcd-ca', certs.ca]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('gotorch: etcd did not answer');
  }, 60_000);
});
