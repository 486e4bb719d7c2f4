/**
 * Issue 17: the daemon's side of the job keeper (native/keeper.c, README "Job keeper"). The keeper is the
 * ancestor of every job; the daemon tells it each job's pipes at the start (HOLD) and forgets them at the
 * record (DROP), and a daemon started after a crash or a handover reads what it holds (LIST, SPOOL) and
 * learns the exits of jobs it did not start (WATCH). Lines are pipelined: HOLD and DROP cost one write
 * per event-loop turn, whatever the number of runs, and no answer (QUIET).
 */
import { writeSync } from 'node:fs';
import net from 'node:net';
import { once } from 'node:events';
import type { RunRecord, RunRole } from './run.js';
import type { OutputStream, SpawnOutcome } from './spawner.js';

/** What a HOLD's tag carries: enough to make the run's record if the daemon that started it is gone. */
export interface HeldRunFacts extends Pick<RunRecord, 'task' | 'trigger' | 'attempt' | 'scheduledAt' | 'jitterS' | 'startedAt'> {
  readonly role: RunRole;
  readonly graceMs: number;
}

/** One entry as LIST reports it. */
export interface HeldRun {
  readonly id: string;
  readonly pid: number;
  /** The keeper's fds (inherited by a daemon it started, at these numbers); -1 once at EOF. */
  readonly fds: Readonly<Record<OutputStream, number>>;
  /** Null while the keeper has not reaped the job. */
  readonly outcome: SpawnOutcome | null;
  readonly spooled: Readonly<Record<OutputStream, number>>;
  readonly dropped: number;
  readonly facts: HeldRunFacts | undefined;
}

/** `exit:N` / `signal:N` / `running` as an outcome (signals named as Node names them). */
export function heldOutcome(status: string, signalName: (signal: number) => string): SpawnOutcome | null {
  const [kind, value] = status.split(':');
  if (kind === 'exit') return { exitCode: Number(value), signal: null };
  if (kind === 'signal') return { exitCode: null, signal: signalName(Number(value)) };
  return null;
}

function parseFacts(tag: string | undefined): HeldRunFacts | undefined {
  if (tag === undefined || tag === '-') return undefined;
  try {
    return JSON.parse(decodeURIComponent(tag)) as HeldRunFacts;
  } catch {
    return undefined;
  }
}

type Expectation = { kind: 'line'; resolve: (line: string) => void } | { kind: 'list'; rows: string[]; resolve: (rows: string[]) => void } | { kind: 'bytes'; count: number | undefined; resolve: (bytes: Buffer) => void; reject: (error: Error) => void };

/** One connection to the keeper: requests answered in order. */
class KeeperConnection {
  private buffer: Buffer = Buffer.alloc(0);
  private readonly expected: Expectation[] = [];
  private pending: string[] = [];
  closed = false;
  /** The keeper answers no HOLD or DROP on this connection (QUIET): one wake-up and read less per event. */
  quiet = false;

  constructor(
    readonly socket: net.Socket,
    private readonly onUnsolicited?: (line: string) => void,
  ) {
    socket.on('data', (chunk: Buffer) => {
      this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
      this.pump();
    });
    socket.on('close', () => {
      this.closed = true;
      for (const expectation of this.expected.splice(0)) {
        if (expectation.kind === 'bytes') expectation.reject(new Error('the keeper closed the connection'));
        else if (expectation.kind === 'list') expectation.resolve(expectation.rows);
        else expectation.resolve('ERR the keeper closed the connection');
      }
    });
    socket.on('error', () => undefined); // 'close' follows
  }

  static async open(path: string, onUnsolicited?: (line: string) => void): Promise<KeeperConnection> {
    const socket = net.createConnection(path);
    await Promise.race([once(socket, 'connect'), once(socket, 'error').then(([error]) => Promise.reject(error as Error))]);
    return new KeeperConnection(socket, onUnsolicited);
  }

  /** A request whose answer nobody waits for (HOLD, DROP): written with the others of this turn. */
  send(line: string): void {
    if (this.closed) return;
    if (!this.quiet) this.expected.push({ kind: 'line', resolve: () => undefined });
    this.queue(line);
  }

  ask(line: string): Promise<string> {
    if (this.closed) return Promise.resolve('ERR the keeper closed the connection');
    return new Promise((resolve) => {
      this.expected.push({ kind: 'line', resolve });
      this.queue(line);
    });
  }

  list(): Promise<string[]> {
    if (this.closed) return Promise.resolve([]);
    return new Promise((resolve) => {
      this.expected.push({ kind: 'list', rows: [], resolve });
      this.queue('LIST');
    });
  }

  spool(id: string, stream: OutputStream): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      this.expected.push({ kind: 'bytes', count: undefined, resolve, reject });
      this.queue(`SPOOL ${id} ${stream}`);
    });
  }

  close(): void {
    this.flush();
    this.socket.end();
  }

  private queue(line: string): void {
    if (this.pending.length === 0) queueMicrotask(() => this.flush());
    this.pending.push(line);
  }

  /**
   * This turn's lines in one write: straight to the socket's descriptor while nothing waits in the stream
   * (a few hundred bytes into a local socket's buffer; Node's stream machinery cost more than the run's
   * own bookkeeping, issue 16), else — and for whatever the socket did not take — through the stream, in order.
   */
  private flush(): void {
    if (this.pending.length === 0 || this.closed) return;
    const text = `${this.pending.join('\n')}\n`;
    this.pending = [];
    const fd = (this.socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
    let written = 0;
    if (typeof fd === 'number' && fd >= 0 && this.socket.writableLength === 0) {
      const bytes = Buffer.from(text);
      try {
        written = writeSync(fd, bytes);
      } catch {
        // EAGAIN (a full buffer) or a broken connection: the stream writes it, or reports the close
      }
      if (written < bytes.length) this.socket.write(bytes.subarray(written));
      return;
    }
    this.socket.write(text);
  }

  private pump(): void {
    for (;;) {
      const head = this.expected[0];
      if (head?.kind === 'bytes' && head.count !== undefined) {
        if (this.buffer.length < head.count) return;
        const bytes = Buffer.from(this.buffer.subarray(0, head.count));
        this.buffer = this.buffer.subarray(head.count);
        this.expected.shift();
        head.resolve(bytes);
        continue;
      }
      const end = this.buffer.indexOf(10);
      if (end < 0) return;
      const line = this.buffer.subarray(0, end).toString();
      this.buffer = this.buffer.subarray(end + 1);
      if (head === undefined || line.startsWith('EXIT ')) {
        this.onUnsolicited?.(line);
        continue;
      }
      if (head.kind === 'list' && line.startsWith('RUN ')) {
        head.rows.push(line);
        continue;
      }
      if (head.kind === 'bytes') {
        const count = /^OK (\d+)$/.exec(line);
        if (count === null) {
          this.expected.shift();
          head.reject(new Error(`SPOOL answered ${line}`));
          continue;
        }
        head.count = Number(count[1]);
        continue;
      }
      this.expected.shift();
      if (head.kind === 'list') head.resolve(head.rows);
      else head.resolve(line);
    }
  }
}

export type ExitListener = (id: string, status: string) => void;

/** The daemon's link to the keeper it runs under (GOTORCH_KEEPER_SOCKET). */
export class KeeperLink {
  private readonly exitListeners = new Map<string, (status: string) => void>();
  /** Exits the keeper told before anyone listened for them. */
  private readonly exits = new Map<string, string>();

  /** This daemon closed the link (a stop, a handover): a close then is no loss. */
  private closing = false;

  private constructor(
    private readonly requests: KeeperConnection,
    private readonly watching: KeeperConnection,
    /** The keeper's pid (GOTORCH_KEEPER_PID). */
    readonly pid: number,
    readonly socketPath: string,
  ) {}

  /** Whether the keeper still answers: false once a connection closed that this daemon did not close (the keeper died). */
  get alive(): boolean {
    return !this.requests.closed && !this.watching.closed;
  }

  /** Calls `listener` once if the keeper goes away while this daemon runs (it was killed). */
  onLost(listener: () => void): void {
    let told = false;
    const tell = (): void => {
      if (told || this.closing) return;
      told = true;
      listener();
    };
    this.requests.socket.once('close', tell);
    this.watching.socket.once('close', tell);
  }

  /** Connects both channels (requests, and WATCH for exits); undefined outside a keeper. */
  static async fromEnvironment(env: NodeJS.ProcessEnv = process.env): Promise<KeeperLink | undefined> {
    const socketPath = env.GOTORCH_KEEPER_SOCKET;
    if (socketPath === undefined || socketPath === '') return undefined;
    let link: KeeperLink | undefined;
    const watching = await KeeperConnection.open(socketPath, (line) => link?.exited(line));
    const requests = await KeeperConnection.open(socketPath);
    // A keeper older than QUIET answers ERR and goes on answering every HOLD and DROP (an upgrade keeps the keeper).
    requests.quiet = (await requests.ask('QUIET')) === 'OK';
    link = new KeeperLink(requests, watching, Number(env.GOTORCH_KEEPER_PID), socketPath);
    watching.socket.write('WATCH\n');
    return link;
  }

  private exited(line: string): void {
    const [, id, status] = line.split(' ');
    if (id === undefined || status === undefined) return;
    const listener = this.exitListeners.get(id);
    if (listener === undefined) this.exits.set(id, status);
    else {
      this.exitListeners.delete(id);
      listener(status);
    }
  }

  /** Calls `listener` once with the job's status (`exit:N`, `signal:N`) when the keeper reaps it. */
  onExit(id: string, listener: (status: string) => void): void {
    const known = this.exits.get(id);
    if (known === undefined) this.exitListeners.set(id, listener);
    else {
      this.exits.delete(id);
      listener(known);
    }
  }

  hold(id: string, pid: number, fds: Readonly<Record<OutputStream, number>>, facts: HeldRunFacts): void {
    this.requests.send(`HOLD ${id} ${pid} ${fds.stdout} ${fds.stderr} ${encodeURIComponent(JSON.stringify(facts))}`);
  }

  drop(id: string): void {
    this.exitListeners.delete(id);
    this.exits.delete(id);
    this.requests.send(`DROP ${id}`);
  }

  async list(signalName: (signal: number) => string): Promise<HeldRun[]> {
    return (await this.requests.list()).flatMap((row) => {
      const [, id, pid, out, err, status, spooledOut, spooledErr, dropped, tag] = row.split(' ');
      if (id === undefined || status === undefined) return [];
      return [
        {
          id,
          pid: Number(pid),
          fds: { stdout: Number(out), stderr: Number(err) },
          outcome: heldOutcome(status, signalName),
          spooled: { stdout: Number(spooledOut), stderr: Number(spooledErr) },
          dropped: Number(dropped),
          facts: parseFacts(tag),
        },
      ];
    });
  }

  spool(id: string, stream: OutputStream): Promise<Buffer> {
    return this.requests.spool(id, stream);
  }

  /** Starts the next daemon with `argv` (for a handover): its pid, or why not. */
  async start(argv: readonly string[]): Promise<{ pid: number } | { error: string }> {
    if (argv.some((arg) => arg.includes('\t') || arg.includes('\n'))) return { error: 'an argument of the daemon holds a tab or a newline, which the keeper cannot pass' };
    const answer = await this.requests.ask(`START ${argv.join('\t')}`);
    const pid = /^OK (\d+)$/.exec(answer)?.[1];
    return pid === undefined ? { error: answer.replace(/^ERR /, '') } : { pid: Number(pid) };
  }

  async ready(): Promise<string> {
    return this.requests.ask('READY');
  }

  /** A clean stop: once this daemon exits 0 holding nothing, the keeper exits too. */
  async bye(): Promise<void> {
    this.closing = true;
    await this.requests.ask('BYE');
  }

  close(): void {
    this.closing = true;
    this.requests.close();
    this.watching.close();
  }
}
