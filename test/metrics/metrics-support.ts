/**
 * What the metrics suites share: HTTP with a deadline, a connection attempt's outcome, and a real
 * Prometheus (Debian package `prometheus`, which .ci/run installs) started in a temp dir on a free
 * loopback port and stopped by pid. Without it the suites that need it skip loudly; under CI they fail.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { request, type IncomingHttpHeaders } from 'node:http';
import { connect } from 'node:net';
import path from 'node:path';
import { describe } from 'vitest';
import { freePort } from '../../scripts/bench/free-port.js';
import { waitFor } from '../helpers/processes.js';

export { freePort };

function commandPath(name: string): string | undefined {
  const found = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  return found.status === 0 ? found.stdout.trim() : undefined;
}

export const PROMETHEUS = commandPath('prometheus');
export const PROMTOOL = commandPath('promtool');
const missing = PROMETHEUS === undefined || PROMTOOL === undefined;
if (missing) console.warn('\n!!! PROMETHEUS TESTS SKIPPED: prometheus and promtool not found (Debian package prometheus; .ci/run installs it) !!!\n');
/** Runs where Prometheus is installed, and always under CI, where a missing one fails (see requirePrometheus). */
export const describeWithPrometheus = !missing || process.env.CI !== undefined ? describe : describe.skip;

/** For a beforeAll: under CI a missing Prometheus is a failure, not a skip. */
export function requirePrometheus(): void {
  if (missing) throw new Error('prometheus and promtool are required under CI: install the Debian package prometheus (.ci/run does)');
}

export interface Answer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** One request on a connection of its own; rejects when refused or unanswered within `timeoutMs`. */
export function httpRequest(url: string, options: { method?: string; timeoutMs?: number } = {}): Promise<Answer> {
  const { method = 'GET', timeoutMs = 5000 } = options;
  return new Promise((resolve, reject) => {
    const sent = request(url, { method, agent: false }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body }));
    });
    sent.setTimeout(timeoutMs, () => sent.destroy(new Error(`no answer from ${method} ${url} within ${timeoutMs} ms`)));
    sent.on('error', reject);
    sent.end();
  });
}

/** The error code a TCP connection to host:port ends with, or undefined when it connects. */
export function connectionError(host: string, port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: 2000 });
    socket.once('connect', () => {
      socket.destroy();
      resolve(undefined);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve('ETIMEDOUT');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

/** A Prometheus of the test's own: 1 s scrapes of `target` (host:port) as job `gotorch`, its data in `dir`. */
export class Prometheus {
  private constructor(
    private readonly child: ChildProcess,
    private readonly url: string,
    private readonly output: () => string,
  ) {}

  static async start(dir: string, target: string): Promise<Prometheus> {
    mkdirSync(dir, { recursive: true });
    const config = path.join(dir, 'prometheus.yml');
    writeFileSync(config, ['global:', '  scrape_interval: 1s', '  scrape_timeout: 1s', 'scrape_configs:', '  - job_name: gotorch', '    static_configs:', `      - targets: ['${target}']`, ''].join('\n'));
    const port = await freePort();
    const args = [`--config.file=${config}`, `--storage.tsdb.path=${path.join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'];
    const child = spawn(PROMETHEUS ?? 'prometheus', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    for (const stream of [child.stdout, child.stderr]) stream?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const prometheus = new Prometheus(child, `http://127.0.0.1:${port}`, () => output);
    const ready = async (): Promise<boolean> => {
      if (child.exitCode !== null) throw new Error(`prometheus exited (${child.exitCode}): ${output}`);
      return httpRequest(`${prometheus.url}/-/ready`).then((answer) => answer.status === 200, () => false);
    };
    await waitFor(ready, 30_000, 'prometheus to be ready');
    return prometheus;
  }

  /** An instant query's vector: each series' labels and value. */
  async query(expression: string): Promise<{ labels: Record<string, string>; value: number }[]> {
    const answer = await httpRequest(`${this.url}/api/v1/query?query=${encodeURIComponent(expression)}`);
    const parsed = JSON.parse(answer.body) as { status: string; error?: string; data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
    if (parsed.status !== 'success') throw new Error(`query ${expression} failed: ${parsed.error}`);
    return parsed.data.result.map(({ metric, value }) => ({ labels: metric, value: Number(value[1]) }));
  }

  /** Prometheus's log so far, for a failure message. */
  get log(): string {
    return this.output();
  }

  /** SIGTERM by pid; SIGKILL if it is not gone within 10 s. */
  async stop(): Promise<void> {
    const { child } = this;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}
