/**
 * `gotorch start` without --foreground (SPEC §4): a detached child in its own session, stdio away from
 * the terminal, that reports on fd 3 once it runs; this parent exits 0 only then.
 */
import { spawn } from 'node:child_process';
import { accessSync, closeSync, constants, fstatSync, readSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openOwnFileForAppend, prepareRuntimeFolder } from '../daemon/file-safety.js';
import { fsReason } from '../daemon/folder.js';
import { DAEMON_NODE_FLAGS } from '../daemon/node-flags.js';
import type { RuntimePaths } from '../daemon/paths.js';
import { isGotorchProcess, readPid } from '../daemon/pidfile.js';
import { keeperExecutable } from '../supervisor/native-addon.js';

/** Another start's keeper answers on the socket: its daemon, once it holds the pidfile. */
async function alreadyRunning(paths: RuntimePaths): Promise<string> {
  for (let waited = 0; waited < READY_TIMEOUT_MS; waited += 50) {
    const pid = readPid(paths.pidfile);
    if (pid !== undefined && isGotorchProcess(pid)) return `gotorch is already running (pid ${pid}, pidfile ${paths.pidfile})`;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return `gotorch is already starting: a job keeper answers on ${paths.keeperSocket}`;
}

/**
 * Whether the keeper can listen beside the pidfile: the folder made (the daemon checks it again) and
 * writable. When not, the daemon starts alone and says what is wrong with the folder as it always did.
 */
export function keeperFolderUsable(paths: RuntimePaths): boolean {
  const dir = path.dirname(paths.keeperSocket);
  try {
    if (prepareRuntimeFolder(dir, 'the pidfile folder') !== undefined) return false;
    accessSync(dir, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** The keeper's options: its socket beside the pidfile, and `GOTORCH_RESTART_DELAY` (seconds before a crashed daemon is started again). */
export function keeperArgs(paths: RuntimePaths, extra: readonly string[] = [], env: NodeJS.ProcessEnv = process.env): string[] {
  const delay = env.GOTORCH_RESTART_DELAY;
  return ['--socket', paths.keeperSocket, ...(delay !== undefined && /^\d+$/.test(delay) ? ['--restart-delay', delay] : []), ...extra];
}

export const READY_TIMEOUT_MS = 30_000;
const MAIN = fileURLToPath(new URL('./main.js', import.meta.url));

export type Started = { ok: true; pid: number } | { ok: false; reason: string };

/** What a crashed daemon wrote last: enough of the end of gotorch.stderr to show why, not the whole file. */
const STDERR_TAIL = { bytes: 4096, lines: 20 };

/** The daemon's stderr file, opened by this parent; its size now, so a failure shows only what this child wrote. */
function openStderr(paths: RuntimePaths): { fd: number; file: string; from: number } | { reason: string } {
  let refused: string | undefined;
  try {
    refused = prepareRuntimeFolder(paths.logDir, 'the log folder');
  } catch (error) {
    return { reason: `cannot create the log folder ${paths.logDir} (${fsReason(error)}); give --log-dir a folder this user can write` };
  }
  // As root, nothing is written into a folder others could have planted a symlink in (SPEC §12).
  if (refused !== undefined) return { reason: refused };
  const file = path.join(paths.logDir, 'gotorch.stderr');
  try {
    // Read back too (O_RDWR): the end of it explains a daemon that died unreported.
    const { fd } = openOwnFileForAppend(file);
    return { fd, file, from: fstatSync(fd).size };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EUNSAFE') return { reason: `refused: ${(error as Error).message}` };
    if (code === 'ELOOP') return { reason: `refused: ${file} is a symlink; the daemon opens no file through one: remove it (rm ${file})` };
    return { reason: `cannot open ${file} (${fsReason(error)}); give --log-dir a folder this user can write` };
  }
}

/** The last lines the child wrote to its stderr file (after `from`), for the message of a daemon that died unreported. */
function stderrTail(fd: number, from: number): string {
  const size = fstatSync(fd).size;
  const start = Math.max(from, size - STDERR_TAIL.bytes);
  const buffer = Buffer.alloc(size - start);
  const read = readSync(fd, buffer, 0, buffer.length, start);
  return buffer.subarray(0, read).toString('utf8').trimEnd().split('\n').slice(-STDERR_TAIL.lines).join('\n');
}

/** `args` are the global options to pass on (absolute paths); the child runs `start --daemon-child` with `startArgs`. */
export function daemonize(args: readonly string[], paths: RuntimePaths, startArgs: readonly string[]): Promise<Started> {
  // What the child writes to stderr before its logger runs (or a crash) lands here, not in the void.
  const stderr = openStderr(paths);
  if ('reason' in stderr) return Promise.resolve({ ok: false, reason: stderr.reason });
  const daemon = [process.execPath, ...DAEMON_NODE_FLAGS, MAIN, ...args, 'start', '--daemon-child', ...startArgs];
  // Issue 17: under the job keeper when it is built; it passes the readiness pipe (fd 3) to this first daemon only.
  const keeper = keeperFolderUsable(paths) ? keeperExecutable() : undefined;
  const [file, ...argv] = keeper === undefined ? daemon : [keeper, ...keeperArgs(paths, ['--pass-fd', '3']), '--', ...daemon];
  const child = spawn(file as string, argv, {
    detached: true,
    cwd: '/',
    stdio: ['ignore', 'ignore', stderr.fd, 'pipe'],
  });
  const exited = new Promise<string>((resolve) => child.on('exit', (code, signal) => resolve(signal ? `killed by ${signal}` : `exit code ${code}`)));
  const unreported = async (): Promise<Started> => {
    const how = await exited;
    const tail = stderrTail(stderr.fd, stderr.from);
    // Issue 17: a start that lost the race to another one: that one's keeper holds the socket; name its daemon.
    if (keeper !== undefined && tail.includes('a keeper already answers on')) return { ok: false, reason: await alreadyRunning(paths) };
    const said = tail === '' ? ` and wrote nothing to ${stderr.file}` : `; the end of ${stderr.file}:\n${tail}`;
    return { ok: false, reason: `the daemon exited (${how}) before it was ready${said}` };
  };
  return new Promise<Started>((resolve) => {
    let report = '';
    const timer = setTimeout(() => finish({ ok: false, reason: `the daemon did not report ready within ${READY_TIMEOUT_MS / 1000} s; see ${paths.logDir}` }), READY_TIMEOUT_MS);
    let finished = false;
    const finish = (result: Started): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      child.stdio[3]?.destroy();
      child.unref();
      closeSync(stderr.fd);
      resolve(result);
    };
    const channel = child.stdio[3] as NodeJS.ReadableStream | null;
    channel?.setEncoding('utf8');
    channel?.on('data', (chunk: string) => (report += chunk));
    channel?.on('end', () => {
      const line = report.trim();
      if (line.startsWith('ready ')) finish({ ok: true, pid: Number(line.slice(6)) });
      else if (line.startsWith('failed ')) finish({ ok: false, reason: line.slice(7) });
      else void unreported().then(finish);
    });
    child.on('error', (error) => finish({ ok: false, reason: `could not start the daemon: ${error.message}` }));
  });
}
