/**
 * SPEC §9's HTTP side: GET or HEAD of `/metrics` and `/healthz`, nothing else (404 for any other path,
 * 405 for any other method). Listening problems are start-up failures with the reason and the fix.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { formatListenAddress, type ListenAddress } from './listen-address.js';
import type { Health } from './scheduler-health.js';

export interface MetricsEndpoints {
  metrics(): Promise<{ readonly contentType: string; readonly body: Buffer }>;
  health(): Health;
}

/** A render that failed (a defect: answered 500) or a failing server (accept without descriptors): told, never a crash. */
export type ServerTrouble = (error: unknown, what: string) => void;

const PLAIN = 'text/plain; charset=utf-8';

function send(response: ServerResponse, status: number, body: string | Buffer, headers: Record<string, string> = {}): void {
  response.writeHead(status, { 'Content-Type': PLAIN, 'Cache-Control': 'no-store', ...headers, 'Content-Length': Buffer.byteLength(body) });
  response.end(body);
}

function answer(request: IncomingMessage, response: ServerResponse, endpoints: MetricsEndpoints, trouble: ServerTrouble): void {
  const path = (request.url ?? '').split('?')[0];
  if (path !== '/metrics' && path !== '/healthz') return send(response, 404, 'not found: this port serves /metrics and /healthz only\n');
  if (request.method !== 'GET' && request.method !== 'HEAD') return send(response, 405, `${request.method} is not allowed: use GET or HEAD\n`, { Allow: 'GET, HEAD' });
  if (path === '/healthz') {
    const health = endpoints.health();
    return send(response, health.healthy ? 200 : 503, `${health.text}\n`);
  }
  endpoints.metrics().then(
    ({ contentType, body }) => send(response, 200, body, { 'Content-Type': contentType }),
    (error: unknown) => {
      trouble(error, 'the metrics could not be rendered');
      send(response, 500, `the metrics could not be rendered: ${(error as Error).message}\n`);
    },
  );
}

function listenFailure(address: ListenAddress, error: NodeJS.ErrnoException): string {
  const where = `cannot serve metrics on ${formatListenAddress(address)}`;
  switch (error.code) {
    case 'EADDRINUSE':
      return `${where}: the port is in use by another process; give --metrics a free port`;
    case 'EACCES':
      return `${where}: permission denied (ports below 1024 need root); give --metrics a port above 1023`;
    case 'EADDRNOTAVAIL':
      return `${where}: ${address.host} is not an address of this host`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `${where}: the host name ${address.host} does not resolve`;
    default:
      return `${where}: ${error.message}`;
  }
}

export class MetricsServer {
  private constructor(
    private readonly server: Server,
    /** `host:port` as `--metrics` takes it (what `status` shows and `restart` passes on). */
    readonly address: string,
  ) {}

  static listen(address: ListenAddress, endpoints: MetricsEndpoints, trouble: ServerTrouble): Promise<MetricsServer> {
    const server = createServer({ requestTimeout: 30_000, headersTimeout: 10_000 }, (request, response) => answer(request, response, endpoints, trouble));
    return new Promise((resolve, reject) => {
      server.once('error', (error: NodeJS.ErrnoException) => reject(Object.assign(new Error(listenFailure(address, error)), { code: error.code })));
      server.listen({ host: address.host, port: address.port }, () => {
        server.removeAllListeners('error');
        server.on('error', (error) => trouble(error, 'the metrics server failed'));
        resolve(new MetricsServer(server, formatListenAddress(address)));
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}
