/**
 * SPEC §10 `fleet kill` / `fleet run`, the daemon's side: it watches `gotorch/<fleet>/commands/`; a
 * command for a task this host runs (or addressed to this host) is done as the local `kill` / `run`
 * do it (the control socket's answers, src/daemon/control-answers.ts), and the outcome written to
 * `gotorch/<fleet>/answers/<id>/<host>`, bound to the command's own short lease (so both go together).
 */
import type { Watcher } from 'etcd3';
import type { Logger } from 'pino';
import type { ControlRequest, ControlResponse } from '../../daemon/control-server.js';
import type { FleetConnection } from './connection.js';

export interface FleetCommand {
  readonly id: string;
  readonly cmd: 'kill' | 'run';
  readonly name: string;
  /** Only this host (`--host`); otherwise every host that runs the task. */
  readonly host?: string;
}

export interface FleetAnswer {
  readonly host: string;
  readonly ok: boolean;
  /** `stopped 1 running instance(s)`, `started`, or why not. */
  readonly message: string;
}

/** Command ids already done: a watch that reconnects may deliver one again. */
const REMEMBERED = 1000;

export function parseCommand(text: string): FleetCommand | undefined {
  try {
    const value = JSON.parse(text) as Partial<FleetCommand>;
    if (typeof value.id !== 'string' || (value.cmd !== 'kill' && value.cmd !== 'run') || typeof value.name !== 'string') return undefined;
    return { id: value.id, cmd: value.cmd, name: value.name, ...(typeof value.host === 'string' ? { host: value.host } : {}) };
  } catch {
    return undefined;
  }
}

/** The line `fleet kill/run` prints for a host, from what the local command would have said. */
export function answerMessage(cmd: FleetCommand['cmd'], response: ControlResponse): string {
  if (!response.ok) return response.error;
  if (cmd === 'kill') return `stopped ${String(response.killed)} running instance(s)`;
  return response.waiting === true ? 'waits for a free slot (max, overlap=): it starts when one frees' : 'started';
}

export interface CommandHost {
  /** Does this host run the task (it applies here, or, for kill, instances of it still run here)? */
  runs(cmd: FleetCommand['cmd'], name: string): boolean;
  /** What the control socket answers (the same code path as `gotorch kill/run`). */
  control(request: ControlRequest): Promise<ControlResponse>;
}

export class FleetCommands {
  private watcher: Watcher;
  private readonly done = new Set<string>();
  private again: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly connection: FleetConnection,
    private readonly host: CommandHost,
    private readonly log: Logger,
  ) {
    this.watcher = this.watch();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.again);
    await this.watcher.cancel().catch(() => undefined);
  }

  /** watcher(), not create(): it connects (and reconnects after a disconnect) by itself; the start never waits for etcd. */
  private watch(): Watcher {
    const watcher = this.connection.client.watch().prefix(this.connection.key('commands', '')).only('put').watcher();
    watcher.on('put', (kv) => this.received(kv.value.toString(), String(kv.lease)));
    // An error the watcher does not recover from (etcd canceled it): a new one, a second later.
    watcher.on('error', (error) => {
      this.log.warn({ err: error.message }, 'fleet: the command watch failed; watching again in 1 s');
      if (!this.closed) this.again = setTimeout(() => (this.watcher = this.watch()), 1000);
    });
    return watcher;
  }

  private received(text: string, lease: string): void {
    const command = parseCommand(text);
    if (command === undefined || this.done.has(command.id)) return;
    const mine = this.connection.hostName;
    if (command.host !== undefined ? command.host !== mine : !this.host.runs(command.cmd, command.name)) return;
    this.done.add(command.id);
    if (this.done.size > REMEMBERED) this.done.delete(this.done.values().next().value as string);
    void this.answer(command, lease);
  }

  private async answer(command: FleetCommand, lease: string): Promise<void> {
    const response = await this.host.control({ cmd: command.cmd, name: command.name }).catch((error: Error): ControlResponse => ({ ok: false, error: `internal error: ${error.message}` }));
    const answer: FleetAnswer = { host: this.connection.hostName, ok: response.ok, message: answerMessage(command.cmd, response) };
    this.log.info({ command: command.id, cmd: command.cmd, task: command.name, ok: answer.ok, answer: answer.message }, 'fleet command done');
    const key = this.connection.key('answers', command.id, this.connection.hostName);
    const put = this.connection.client.put(key).value(JSON.stringify(answer));
    await (lease !== '0' ? put.lease(lease) : put).catch((error: Error) => this.log.warn({ err: error.message, command: command.id }, 'fleet: could not write the answer to a command'));
  }
}
