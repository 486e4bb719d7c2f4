/**
 * `start --metrics` against the real daemon (SPEC §9): what the port serves and refuses, where it
 * listens, /healthz through a stall, how a bad address or a busy port fails the start, and that the
 * option reaches the daemonized child, a foreground daemon and a restart.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import { describe, expect, it } from 'vitest';
import { runCli, waitFor } from '../helpers/processes.js';
import { sandboxes, type Sandbox } from '../control/sandbox.js';
import { connectionError, freePort, httpRequest, PROMTOOL } from './metrics-support.js';

const sandbox = sandboxes();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function healthStatus(url: string): Promise<number | string> {
  return httpRequest(`${url}/healthz`).then((answer) => answer.status, (error: Error) => error.message);
}

/** Waits for 200 from /healthz: the daemon serves from before its first tick, and is healthy from it on. */
async function healthy(url: string, timeoutMs = 5000): Promise<void> {
  await waitFor(async () => (await healthStatus(url)) === 200, timeoutMs, `200 from ${url}/healthz`);
}

async function startWithMetrics(lines: readonly string[]): Promise<{ box: Sandbox; pid: number; url: string; address: string }> {
  const box = sandbox();
  box.write(lines);
  const address = `127.0.0.1:${await freePort()}`;
  const pid = await box.start('--metrics', address);
  return { box, pid, url: `http://${address}`, address };
}

describe('the metrics port (SPEC §9)', () => {
  it('serves /metrics (which promtool accepts) and /healthz to GET and HEAD, and nothing else', async () => {
    const { box, url } = await startWithMetrics(['* * * * * * * 1 cron name=passes true', '* * * * * * * 1 cron name=fails exit 3 # secret-in-the-command']);
    await box.waitForFinished('fails', 1);
    await healthy(url);
    const metrics = await httpRequest(`${url}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(metrics.body).toMatch(/^gotorch_runs_total\{task="fails",result="exit 3"\} [1-9]/m);
    // Labelled by name only: no command reaches a label.
    expect(metrics.body).not.toContain('secret-in-the-command');
    const head = await httpRequest(`${url}/metrics`, { method: 'HEAD' });
    expect([head.status, head.body]).toEqual([200, '']);
    expect((await httpRequest(`${url}/healthz`, { method: 'HEAD' })).status).toBe(200);
    for (const path of ['/', '/metric', '/metrics/', '/metrics/x', '/healthz/', '/favicon.ico', '/api/v1/query']) {
      expect((await httpRequest(`${url}${path}`)).status, path).toBe(404);
    }
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
      for (const path of ['/metrics', '/healthz']) {
        const refused = await httpRequest(`${url}${path}`, { method });
        expect([refused.status, refused.headers.allow], `${method} ${path}`).toEqual([405, 'GET, HEAD']);
      }
    }
    if (PROMTOOL === undefined) {
      console.warn('\n!!! PROMTOOL CHECK SKIPPED: promtool not found (Debian package prometheus) !!!\n');
      expect(process.env.CI, 'promtool is required under CI').toBeUndefined();
      return;
    }
    const checked = spawnSync(PROMTOOL, ['check', 'metrics'], { input: metrics.body, encoding: 'utf8' });
    expect({ status: checked.status, stdout: checked.stdout, stderr: checked.stderr }).toEqual({ status: 0, stdout: '', stderr: '' });
  });

  it('listens on 127.0.0.1 when GOTORCH_METRICS names a port only: no other address of this host answers', async () => {
    const box = sandbox();
    box.write(['0 0 0 1 1 * * 1 cron name=never true']);
    const port = await freePort();
    const started = runCli([...box.globalArgs, 'start'], { GOTORCH_METRICS: String(port) });
    expect(await started.closed, started.output()).toBe(0);
    await healthy(`http://127.0.0.1:${port}`);
    expect((await box.status()).metrics).toBe(`127.0.0.1:${port}`);
    // Another loopback address is another address: a socket bound to 127.0.0.1 is not reached through it.
    expect(await connectionError('127.0.0.2', port)).toBe('ECONNREFUSED');
    const others = Object.values(os.networkInterfaces())
      .flat()
      .filter((entry) => entry !== undefined && entry.address !== '127.0.0.1' && !entry.address.startsWith('fe80'))
      .map((entry) => entry!.address);
    for (const address of new Set(['::1', ...others])) expect(await connectionError(address, port), address).toBeDefined();
  });

  it('/healthz turns 503 when the scheduler stops ticking: a probe sent during a 3.5 s SIGSTOP is answered 503, then 200 again', async () => {
    const { pid, url } = await startWithMetrics(['0 0 0 1 1 * * 1 cron name=never true']);
    await healthy(url);
    process.kill(pid, 'SIGSTOP');
    try {
      // The kernel accepts the connection and queues the request while the daemon is stopped.
      const probe = httpRequest(`${url}/healthz`, { timeoutMs: 20_000 });
      await sleep(3500); // the stall is the point
      process.kill(pid, 'SIGCONT');
      const answer = await probe;
      expect(answer.status).toBe(503);
      expect(answer.body).toMatch(/^stalled: no tick for 3\.\d s/);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    await healthy(url, 8000);
  });

  it('a port in use fails the start with the reason (exit 1); a bad address is a usage error (exit 2), as an option or in the environment', async () => {
    const box = sandbox();
    box.write(['0 0 0 1 1 * * 1 cron name=never true']);
    const port = await freePort();
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(port, '127.0.0.1', resolve));
    try {
      const busy = await box.cli('start', '--metrics', String(port));
      expect(busy).toEqual({ code: 1, stdout: '', stderr: `gotorch: start-up failed: cannot serve metrics on 127.0.0.1:${port}: the port is in use by another process; give --metrics a free port\n` });
      expect(existsSync(box.pidfile)).toBe(false);
    } finally {
      holder.close();
    }
    for (const [value, reason] of [
      ['70000', 'The port must be a number from 1 to 65535 (e.g. 9100, or 127.0.0.1:9100).'],
      ['::1:9100', 'Write an IPv6 address in brackets, then its port: [::1]:9100.'],
    ]) {
      const bad = await box.cli('start', '--metrics', value);
      expect(bad.code).toBe(2);
      expect(bad.stderr.split('\n')[0]).toBe(`error: option '--metrics <[host:]port>' argument '${value}' is invalid. ${reason}`);
    }
    const fromEnv = runCli([...box.globalArgs, 'start'], { GOTORCH_METRICS: 'localhost' });
    expect(await fromEnv.closed).toBe(2);
    expect(fromEnv.stderr().split('\n')[0]).toBe("error: option '--metrics <[host:]port>' value 'localhost' from env 'GOTORCH_METRICS' is invalid. The port must be a number from 1 to 65535 (e.g. 9100, or 127.0.0.1:9100).");
    expect(existsSync(box.pidfile)).toBe(false);
  });

  it('only a daemon started with --metrics loads prom-client (STYLE: optional engines load lazily)', async () => {
    const box = sandbox();
    box.write(['0 0 0 1 1 * * 1 cron name=never true']);
    const loaded = async (...startArgs: string[]): Promise<boolean> => {
      // Node names every CommonJS module it loads on stderr: prom-client is one.
      const daemon = runCli([...box.globalArgs, 'start', '--foreground', ...startArgs], { NODE_DEBUG: 'module' });
      await waitFor(() => daemon.stdout().includes('"msg":"gotorch ready"'), 10_000, 'the foreground daemon to be ready');
      daemon.child.kill('SIGTERM');
      expect(await daemon.closed).toBe(0);
      return daemon.stderr().includes('/prom-client/');
    };
    expect(await loaded()).toBe(false);
    expect(await loaded('--metrics', String(await freePort()))).toBe(true);
  });

  it('reaches a foreground daemon, and a restart keeps the address unless --metrics names another', async () => {
    const { box, url, address } = await startWithMetrics(['0 0 0 1 1 * * 1 cron name=never true']);
    await healthy(url);
    const restarted = await box.cli('restart');
    expect(restarted.code, restarted.stderr).toBe(0);
    await healthy(url);
    const moved = `127.0.0.1:${await freePort()}`;
    expect((await box.cli('restart', '--metrics', moved)).code).toBe(0);
    await healthy(`http://${moved}`);
    expect(await connectionError('127.0.0.1', Number(address.split(':')[1]))).toBe('ECONNREFUSED');
    expect((await box.cli('stop')).code).toBe(0);

    const foreground = runCli([...box.globalArgs, 'start', '--foreground', '--metrics', address]);
    await healthy(url);
    foreground.child.kill('SIGTERM');
    expect(await foreground.closed).toBe(0);
  });
});
