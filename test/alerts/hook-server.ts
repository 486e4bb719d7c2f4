/**
 * A real HTTP endpoint on a free loopback port for the hook and ping tests: it records every request
 * (method, path with query, headers, body, when) and answers as the test says: a status, a sequence of
 * statuses, or never (a hang). Closed after each test of the calling file.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach } from 'vitest';
import { waitFor } from '../helpers/processes.js';

export interface Received {
  readonly method: string;
  /** Path and query, as sent. */
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
  /** Date.now() when it arrived. */
  readonly at: number;
}

/** What to answer a request with: a status, a status after a delay, or `hang` (never answer). */
export type Answer = number | { readonly status: number; readonly afterMs: number } | 'hang';

export class HookServer {
  readonly received: Received[] = [];
  private answers: (request: Received, index: number) => Answer = () => 200;
  private readonly sockets = new Set<Socket>();
  private readonly server = createServer((request, response) => this.handle(request, response));

  static async start(): Promise<HookServer> {
    const server = new HookServer();
    server.server.on('connection', (socket) => {
      server.sockets.add(socket);
      socket.on('close', () => server.sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server.server.listen(0, '127.0.0.1', resolve));
    return server;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** `http://127.0.0.1:<port><path>`. */
  url(path = '/hook'): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  /** Answers each request with the status `answer` gives it (by the request and its 0-based index). */
  answer(answer: Answer | readonly Answer[] | ((request: Received, index: number) => Answer)): void {
    if (typeof answer === 'function') this.answers = answer;
    else if (Array.isArray(answer)) this.answers = (_request, index) => answer[Math.min(index, answer.length - 1)];
    else this.answers = () => answer as Answer;
  }

  /** The requests to paths starting with `prefix`. */
  to(prefix: string): Received[] {
    return this.received.filter((request) => request.url.startsWith(prefix));
  }

  async waitFor(count: number, prefix = '/', timeoutMs = 10_000): Promise<Received[]> {
    await waitFor(() => this.to(prefix).length >= count, timeoutMs, `${count} request(s) to ${prefix} (got ${this.to(prefix).length})`);
    return this.to(prefix);
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(request: IncomingMessage, response: ServerResponse): void {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const received: Received = { method: request.method ?? '', url: request.url ?? '', headers: request.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() };
      const index = this.received.push(received) - 1;
      const answer = this.answers(received, index);
      if (answer === 'hang') return;
      const reply = (status: number): void => void response.writeHead(status, { 'content-type': 'text/plain' }).end('OK');
      if (typeof answer === 'number') reply(answer);
      else setTimeout(() => reply(answer.status), answer.afterMs);
    });
  }
}

/** Servers made by the returned function are closed after each test of the calling file. */
export function hookServers(): () => Promise<HookServer> {
  const made: HookServer[] = [];
  afterEach(async () => {
    for (const server of made.splice(0)) await server.close();
  });
  return async () => {
    const server = await HookServer.start();
    made.push(server);
    return server;
  };
}

/** A loopback port nothing listens on (a server was there and closed): connections are refused. */
export async function refusedUrl(path = '/hook'): Promise<string> {
  const server = await HookServer.start();
  const url = server.url(path);
  await server.close();
  return url;
}
