/**
 * `gotorch start` without --foreground (SPEC §4): a detached child in its own session, stdio away from
 * the terminal, that reports on fd 3 once it runs; this parent exits 0 only then.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, openSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DAEMON_NODE_FLAGS } from '../daemon/node-flags.js';
import type { RuntimePaths } from '../daemon/paths.js';

export const READY_TIMEOUT_MS = 30_000;
const MAIN = fileURLToPath(new URL('./main.js', import.meta.url));

export type Started = { ok: true; pid: number } | { ok: false; reason: string };

/** `args` are the global options to pass on (absolute paths); the child runs `start --daemon-child`. */
export function daemonize(args: readonly string[], paths: RuntimePaths): Promise<Started> {
  mkdirSync(paths.logDir, { recursive: true, mode: 0o700 });
  // What the child writes to stderr before its logger runs (or a crash) lands here, not in the void.
  const stderr = openSync(path.join(paths.logDir, 'gotorch.stderr'), 'a', 0o600);
  const child = spawn(process.execPath, [...DAEMON_NODE_FLAGS, MAIN, ...args, 'start', '--daemon-child'], {
    detached: true,
    cwd: '/',
    stdio: ['ignore', 'ignore', stderr, 'pipe'],
  });
  return new Promise<Started>((resolve) => {
    let report = '';
    const timer = setTimeout(() => finish({ ok: false, reason: `the daemon did not report ready within ${READY_TIMEOUT_MS / 1000} s; see ${paths.logDir}` }), READY_TIMEOUT_MS);
    const finish = (result: Started): void => {
      clearTimeout(timer);
      child.stdio[3]?.destroy();
      child.unref();
      resolve(result);
    };
    const channel = child.stdio[3] as NodeJS.ReadableStream | null;
    channel?.setEncoding('utf8');
    channel?.on('data', (chunk: string) => (report += chunk));
    channel?.on('end', () => {
      const line = report.trim();
      if (line.startsWith('ready ')) finish({ ok: true, pid: Number(line.slice(6)) });
      else if (line.startsWith('failed ')) finish({ ok: false, reason: line.slice(7) });
      else finish({ ok: false, reason: `the daemon exited before it was ready; see ${path.join(paths.logDir, 'gotorch.stderr')}` });
    });
    child.on('error', (error) => finish({ ok: false, reason: `could not start the daemon: ${error.message}` }));
  });
}
