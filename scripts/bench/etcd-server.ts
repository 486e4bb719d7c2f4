/**
 * A real etcd (Debian's etcd-server, 3.4) for the fleet tests and the fleet bench (issue 14): one member on free loopback
 * ports with a data folder of its own, stopped by pid. It can be paused (SIGSTOP/SIGCONT: a slow or
 * hung server), killed (kill -9: a crash) and started again on the same ports and data (a restart).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './free-port.js';
import { waitFor } from './lateness.js';

export const ETCD = (() => {
  const found = spawnSync('sh', ['-c', 'command -v etcd'], { encoding: 'utf8' });
  return found.status === 0 ? found.stdout.trim() : undefined;
})();

/** Serve clients over TLS with this certificate; with `clientCa`, also require client certificates it signed. */
export interface EtcdTls {
  readonly cert: string;
  readonly key: string;
  readonly clientCa?: string;
}

export class EtcdServer {
  readonly dataDir = mkdtempSync(path.join(os.tmpdir(), 'gotorch-etcd-'));
  private child: ChildProcess | undefined;
  private output = '';

  private constructor(
    readonly clientPort: number,
    readonly peerPort: number,
    readonly tls: EtcdTls | undefined,
  ) {}

  /** Starts one on free ports and waits until it answers its health check (with TLS: until it accepts connections). */
  static async start(tls?: EtcdTls): Promise<EtcdServer> {
    if (ETCD === undefined) throw new Error('etcd not found (Debian package etcd-server)');
    const server = new EtcdServer(await freePort(), await freePort(), tls);
    await server.run();
    return server;
  }

  /** The `--etcd` value for daemons and the CLI. */
  get url(): string {
    return `${this.tls ? 'https' : 'http'}://127.0.0.1:${this.clientPort}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** What etcd printed (for a failing test's message). */
  log(): string {
    return this.output;
  }

  /** SIGSTOP: the server hangs, connections stay open, nothing answers. */
  pause(): void {
    this.signal('SIGSTOP');
  }

  resume(): void {
    this.signal('SIGCONT');
  }

  /** kill -9, as a crash or an OOM kill would. */
  async kill(): Promise<void> {
    const child = this.child;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGCONT');
    child.kill('SIGKILL');
    await exited;
    this.child = undefined;
  }

  /** Starts it again on the same ports and data (after kill()). */
  async restart(): Promise<void> {
    await this.kill();
    await this.run();
  }

  /** Kills it and removes its data. */
  async stop(): Promise<void> {
    await this.kill();
    rmSync(this.dataDir, { recursive: true, force: true });
  }

  private signal(signal: NodeJS.Signals): void {
    if (this.child?.pid !== undefined) process.kill(this.child.pid, signal);
  }

  private async run(): Promise<void> {
    const client = this.url;
    const tls = this.tls ? ['--cert-file', this.tls.cert, '--key-file', this.tls.key, ...(this.tls.clientCa ? ['--client-cert-auth', '--trusted-ca-file', this.tls.clientCa] : [])] : [];
    const peer = `http://127.0.0.1:${this.peerPort}`;
    const child = spawn(
      ETCD as string,
      [
        '--name', 'test',
        '--data-dir', this.dataDir,
        '--listen-client-urls', client,
        '--advertise-client-urls', client,
        '--listen-peer-urls', peer,
        '--initial-advertise-peer-urls', peer,
        '--initial-cluster', `test=${peer}`,
        '--initial-cluster-state', 'new',
        '--log-level', 'warn',
        ...tls,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout?.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    this.child = child;
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`etcd exited with ${child.exitCode}: ${this.output}`);
        if (this.tls) return accepts(this.clientPort);
        try {
          const answer = await fetch(`${client}/health`, { signal: AbortSignal.timeout(1000) });
          return answer.ok && ((await answer.json()) as { health?: string }).health === 'true';
        } catch {
          return false;
        }
      },
      20_000,
      `etcd to answer on ${client}`,
    );
  }
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
