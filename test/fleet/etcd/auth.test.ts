/**
 * SPEC §10 credentials: an etcd with authentication on. User and password come from
 * GOTORCH_ETCD_USER / GOTORCH_ETCD_PASSWORD only; the daemon joins with them, the CLI reads with them,
 * a wrong password is refused, and jobs never see the password in their environment.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sandboxes } from '../../control/sandbox.js';
import { ETCD, EtcdServer } from '../../helpers/etcd.js';
import { runCli, waitFor } from '../../helpers/processes.js';
import { newFleet } from './fleet-support.js';

const USER = 'root';
const PASSWORD = 'secret-pw-41';

/** etcd's JSON gateway: the root user and role, then authentication on. */
async function enableAuth(url: string): Promise<void> {
  for (const [call, body] of [
    ['auth/user/add', { name: USER, password: PASSWORD }],
    ['auth/role/add', { name: 'root' }],
    ['auth/user/grant', { user: USER, role: 'root' }],
    ['auth/enable', {}],
  ] as const) {
    const answer = await fetch(`${url}/v3/${call}`, { method: 'POST', body: JSON.stringify(body) });
    if (!answer.ok) throw new Error(`${call}: ${answer.status} ${await answer.text()}`);
  }
}

describe.skipIf(ETCD === undefined)('fleet with etcd authentication (SPEC §10)', () => {
  let etcd: EtcdServer;
  const sandbox = sandboxes();
  const saved = { user: process.env.GOTORCH_ETCD_USER, password: process.env.GOTORCH_ETCD_PASSWORD };
  beforeAll(async () => {
    etcd = await EtcdServer.start();
    await enableAuth(etcd.url);
  });
  afterAll(async () => {
    process.env.GOTORCH_ETCD_USER = saved.user;
    process.env.GOTORCH_ETCD_PASSWORD = saved.password;
    if (saved.user === undefined) delete process.env.GOTORCH_ETCD_USER;
    if (saved.password === undefined) delete process.env.GOTORCH_ETCD_PASSWORD;
    await etcd?.stop();
  });

  const fleetStatus = async (fleet: string, env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> => {
    const run = runCli(['fleet', 'status', '--json', '--etcd', etcd.url, '--fleet', fleet], env);
    const code = await run.closed;
    return { code, stdout: run.stdout(), stderr: run.stderr() };
  };

  it('the daemon and the CLI authenticate from the environment; a wrong password is refused; jobs do not see it', async () => {
    const fleet = newFleet();
    const box = sandbox();
    const envFile = path.join(box.dir, 'job.env');
    box.write([`*/2 * * * * *  *  1  cron  name=env  env > ${envFile}`]);
    // The sandbox's CLI inherits this process's environment, as a shell's export would pass it on.
    process.env.GOTORCH_ETCD_USER = USER;
    process.env.GOTORCH_ETCD_PASSWORD = PASSWORD;
    await box.start('--host-id', 'web-1', '--etcd', etcd.url, '--fleet', fleet, '--fleet-ttl', '3s');
    delete process.env.GOTORCH_ETCD_USER;
    delete process.env.GOTORCH_ETCD_PASSWORD;
    await box.waitForLog('fleet connection up', {}, 20_000);

    const seen = await waitFor(async () => {
      const result = await fleetStatus(fleet, { GOTORCH_ETCD_USER: USER, GOTORCH_ETCD_PASSWORD: PASSWORD });
      return result.code === 0 && (JSON.parse(result.stdout) as { hosts: unknown[] }).hosts.length === 1 ? result : undefined;
    }, 10_000, 'web-1 in the registry with auth');
    expect((JSON.parse(seen.stdout) as { hosts: { host: string }[] }).hosts[0].host).toBe('web-1');

    const wrong = await fleetStatus(fleet, { GOTORCH_ETCD_USER: USER, GOTORCH_ETCD_PASSWORD: 'wrong' });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/gotorch: etcd did not answer: .*(authentication failed|invalid)/i);
    const half = await fleetStatus(fleet, { GOTORCH_ETCD_USER: USER });
    expect(half.code).toBe(1);
    expect(half.stderr).toContain('GOTORCH_ETCD_USER and GOTORCH_ETCD_PASSWORD go together');

    await box.waitForFinished('env', 1, 10_000);
    const jobEnv = readFileSync(envFile, 'utf8');
    expect(jobEnv).toContain('GOTORCH_TASK=env');
    expect(jobEnv).not.toContain(PASSWORD);
    expect(jobEnv).not.toContain('GOTORCH_ETCD');
  }, 60_000);
});
