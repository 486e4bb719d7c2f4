/**
 * A real HTTP server on a free loopback port for the HTTP task tests (SPEC §11): it records every
 * request, counts its open connections and the requests in flight, and serves a few routes.
 */
import http from 'node:http';
import type { Socket } from 'node:net';

export interface SeenRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

export interface TestServer {
  readonly base: string;
  readonly requests: SeenRequest[];
  /** Sockets open now. */
  connections(): number;
  /** The most requests it had in flight at once (arrival to the end of the response). */
  mostInFlight(): number;
  /** Bytes of /big written into sockets. */
  bigBytesWritten(): number;
  close(): Promise<void>;
}

export const BIG_BYTES = 100 * 1024 * 1024;
const CHUNK = Buffer.alloc(64 * 1024, 'x');

/**
 * Routes: `/echo` (200, two lines), `/missing` (404), `/hang` (never answers), `/redirect/N` (N
 * redirects to `/redirect/N-1`, then 200 `arrived`), `/big` (100 MiB with Content-Length), `/slow`
 * (200 after 2.5 s).
 */
export async function startTestServer(): Promise<TestServer> {
  const requests: SeenRequest[] = [];
  const sockets = new Set<Socket>();
  let inFlight = 0;
  let most = 0;
  let bigWritten = 0;
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      requests.push({ method: request.method ?? '', url: request.url ?? '', headers: request.headers, body: Buffer.concat(chunks).toString() });
      most = Math.max(most, ++inFlight);
      response.on('close', () => inFlight--);
      const url = request.url ?? '';
      const redirect = /^\/redirect\/(\d+)$/.exec(url);
      if (url === '/echo') response.end('hello\nworld\n');
      else if (url === '/missing') response.writeHead(404).end('no such page\n');
      else if (url === '/hang') return;
      else if (redirect !== null) {
        const left = Number(redirect[1]);
        if (left === 0) response.end('arrived\n');
        else response.writeHead(302, { location: `/redirect/${left - 1}` }).end();
      } else if (url === '/big') {
        response.writeHead(200, { 'content-length': BIG_BYTES });
        const write = (): void => {
          while (bigWritten < BIG_BYTES && !response.destroyed) {
            bigWritten += CHUNK.length;
            if (!response.write(CHUNK)) return void response.once('drain', write);
          }
          if (!response.destroyed) response.end();
        };
        write();
      } else if (url === '/slow') setTimeout(() => response.end('slow\n'), 2500);
      else response.writeHead(500).end();
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    base: `http://127.0.0.1:${port}`,
    requests,
    connections: () => sockets.size,
    mostInFlight: () => most,
    bigBytesWritten: () => bigWritten,
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

/** A loopback port nobody listens on (taken, then freed). */
export async function closedPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}
