/**
 * The local control channel (SPEC §4): a unix socket beside the pidfile, mode 0600, for the answers a
 * signal cannot carry. One JSON request line in, one JSON response line out, per connection.
 */
import { rmSync } from 'node:fs';
import net from 'node:net';
import type { Logger } from 'pino';

export type ControlRequest =
  | { readonly cmd: 'status' }
  | { readonly cmd: 'reload' }
  | { readonly cmd: 'kill' | 'run'; readonly name: string }
  /** Issue 17: `restart`/`upgrade` under the job keeper; then the next daemon's `take-over` and `taken` (its pid). */
  | { readonly cmd: 'handover'; readonly options?: NextDaemonOptions }
  | { readonly cmd: 'take-over' | 'taken'; readonly pid: number };

/** Issue 17, `restart` with options the running daemon does not have: what the next daemon runs with instead of its own. */
export interface NextDaemonOptions {
  /** The task file (absolute). */
  readonly tasks: string;
  readonly hostId: string | null;
  /** `start`'s own options as arguments (--metrics, the fleet's). */
  readonly start: readonly string[];
}

function nextDaemonOptions(value: unknown): NextDaemonOptions | undefined {
  const { tasks, hostId, start } = (value ?? {}) as { tasks?: unknown; hostId?: unknown; start?: unknown };
  const valid = typeof tasks === 'string' && (hostId === null || typeof hostId === 'string') && Array.isArray(start) && start.every((arg) => typeof arg === 'string');
  return valid ? { tasks, hostId, start: start as string[] } : undefined;
}

export type ControlResponse = { readonly ok: true; readonly [key: string]: unknown } | { readonly ok: false; readonly error: string; readonly [key: string]: unknown };

export type ControlHandler = (request: ControlRequest) => Promise<ControlResponse>;

const MAX_REQUEST_BYTES = 64 * 1024;

/**
 * unix(7): sun_path holds 108 bytes with its terminating NUL. Node cuts a longer path short and binds
 * (or connects to) that other name instead, so the length is checked before either.
 */
export const SOCKET_PATH_MAX_BYTES = 107;

/** Why `socketPath` cannot be a unix socket's path, or undefined if it can. */
export function socketPathProblem(socketPath: string): string | undefined {
  const bytes = Buffer.byteLength(socketPath);
  if (bytes <= SOCKET_PATH_MAX_BYTES) return undefined;
  return (
    `the control socket path ${socketPath} is ${bytes} bytes, over the ${SOCKET_PATH_MAX_BYTES}-byte limit of a unix socket path; ` +
    'it lives beside the pidfile: give --pidfile a shorter folder'
  );
}

function parseRequest(line: string): ControlRequest | undefined {
  try {
    const value = JSON.parse(line) as { cmd?: unknown; name?: unknown; pid?: unknown; options?: unknown };
    if (value.cmd === 'status' || value.cmd === 'reload') return { cmd: value.cmd };
    if (value.cmd === 'handover' && value.options === undefined) return { cmd: value.cmd };
    const options = value.cmd === 'handover' ? nextDaemonOptions(value.options) : undefined;
    if (options !== undefined) return { cmd: 'handover', options };
    if ((value.cmd === 'take-over' || value.cmd === 'taken') && Number.isInteger(value.pid)) return { cmd: value.cmd, pid: value.pid as number };
    if ((value.cmd === 'kill' || value.cmd === 'run') && typeof value.name === 'string') return { cmd: value.cmd, name: value.name };
  } catch {
    // not JSON: answered below
  }
  return undefined;
}

export class ControlServer {
  private constructor(
    private readonly server: net.Server,
    readonly path: string,
  ) {}

  static listen(socketPath: string, handle: ControlHandler, log: Logger): Promise<ControlServer> {
    const problem = socketPathProblem(socketPath);
    if (problem !== undefined) return Promise.reject(new Error(problem));
    // Only one daemon holds the pidfile, so a socket file left here belongs to a dead one.
    rmSync(socketPath, { force: true });
    const server = net.createServer((connection) => serve(connection, handle, log));
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      // SPEC §6: 0600 from the first moment; the umask applies to the bind, done synchronously here.
      const umask = process.umask(0o177);
      try {
        server.listen(socketPath, () => resolve(new ControlServer(server, socketPath)));
      } finally {
        process.umask(umask);
      }
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

function serve(connection: net.Socket, handle: ControlHandler, log: Logger): void {
  let buffered = '';
  connection.setEncoding('utf8');
  connection.on('error', () => connection.destroy());
  connection.on('data', (chunk: string) => {
    buffered += chunk;
    const newline = buffered.indexOf('\n');
    if (newline < 0 && buffered.length <= MAX_REQUEST_BYTES) return;
    connection.removeAllListeners('data');
    const request = parseRequest(buffered.slice(0, newline < 0 ? undefined : newline));
    const answer = request ? handle(request) : Promise.resolve<ControlResponse>({ ok: false, error: 'bad request: expected one JSON line such as {"cmd":"status"}' });
    void answer
      .catch((error: unknown): ControlResponse => {
        log.error({ err: error, request }, 'control request failed');
        return { ok: false, error: `internal error: ${(error as Error).message}` };
      })
      .then((response) => connection.end(JSON.stringify(response) + '\n'));
  });
}
