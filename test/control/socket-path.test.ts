/**
 * The control socket's path (SPEC §4, §6): unix(7) caps it at 108 bytes with the NUL, and Node cuts a
 * longer one short, binding another name. Refused, with the limit, by the CLI and by the daemon.
 */
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { ControlServer, SOCKET_PATH_MAX_BYTES } from '../../src/daemon/control-server.js';
import { processesMentioning, runCli } from '../helpers/processes.js';
import { commandLine, sandboxes, type Sandbox } from './sandbox.js';

const sandbox = sandboxes();

/** A pidfile whose socket (`gotorch.sock` beside it) is exactly `bytes` long, in a folder named with `unit` repeated. */
function pidfileWithSocketOf(box: Sandbox, bytes: number, unit = 'x'): string {
  const fixed = Buffer.byteLength(`${box.dir}/`) + Buffer.byteLength('/gotorch.sock');
  const unitBytes = Buffer.byteLength(unit);
  const folder = path.join(box.dir, unit.repeat(Math.floor((bytes - fixed) / unitBytes)) + 'x'.repeat((bytes - fixed) % unitBytes));
  mkdirSync(folder, { recursive: true });
  expect(Buffer.byteLength(path.join(folder, 'gotorch.sock'))).toBe(bytes);
  return path.join(folder, 'gotorch.pid');
}

const refusal = (pidfile: string): string => {
  const socket = path.join(path.dirname(pidfile), 'gotorch.sock');
  return `gotorch: the control socket path ${socket} is ${Buffer.byteLength(socket)} bytes, over the ${SOCKET_PATH_MAX_BYTES}-byte limit of a unix socket path; it lives beside the pidfile: give --pidfile a shorter folder\n`;
};

async function gotorch(box: Sandbox, pidfile: string, ...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const run = runCli(['-c', box.conf, '--pidfile', pidfile, '--log-dir', box.logDir, ...args]);
  const code = await run.closed;
  return { code, stdout: run.stdout(), stderr: run.stderr() };
}

describe('a control socket path over 107 bytes', () => {
  it.each([
    { name: '108 bytes', bytes: 108, unit: 'x' },
    { name: '140 bytes of two-byte characters (70 characters fewer)', bytes: 140, unit: 'é' },
  ])('$name: start (background and foreground) and status refuse it, naming path, length and limit; nothing is left behind', async ({ bytes, unit }) => {
    const box = sandbox();
    box.write(['0 0 0 1 1 * * 1 cron name=never true']);
    const pidfile = pidfileWithSocketOf(box, bytes, unit);
    for (const args of [['start'], ['start', '--foreground'], ['status'], ['reload']]) {
      expect(await gotorch(box, pidfile, ...args), args.join(' ')).toEqual({ code: 1, stdout: '', stderr: refusal(pidfile) });
    }
    expect(readdirSync(path.dirname(pidfile))).toEqual([]);
    expect(processesMentioning(box.dir).filter((pid) => commandLine(pid).startsWith('gotorch: daemon'))).toEqual([]);
  });

  it('107 bytes is fine: the daemon listens on exactly that path and answers', async () => {
    const box = sandbox();
    box.write(['0 0 0 1 1 * * 1 cron name=never true']);
    const pidfile = pidfileWithSocketOf(box, SOCKET_PATH_MAX_BYTES);
    const start = await gotorch(box, pidfile, 'start');
    expect(start.code, start.stderr).toBe(0);
    expect(existsSync(path.join(path.dirname(pidfile), 'gotorch.sock'))).toBe(true);
    expect((await gotorch(box, pidfile, 'status')).code).toBe(0);
    expect((await gotorch(box, pidfile, 'stop')).code).toBe(0);
  });

  it('the daemon checks too, before it listens: no file under a cut-short name', async () => {
    const box = sandbox();
    const socket = path.join(path.dirname(pidfileWithSocketOf(box, 120)), 'gotorch.sock');
    const listening = ControlServer.listen(socket, () => Promise.resolve({ ok: true }), pino({ enabled: false }));
    await expect(listening).rejects.toThrow(`the control socket path ${socket} is 120 bytes, over the ${SOCKET_PATH_MAX_BYTES}-byte limit`);
    expect(readdirSync(path.dirname(socket))).toEqual([]);
  });
});
