/**
 * SPEC §11: the request handle alone, against real local servers (node:http): how redirects change the
 * request (fetch's rules), what leaves with the origin, the drain at log_limit, and the handle's "group".
 */
import http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { requestHandle } from '../../src/supervisor/http-request.js';
import type { HttpOptions } from '../../src/tasks/types.js';

interface Seen {
  readonly method: string;
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

const servers: http.Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

/** A server answering with `answer`, recording what it saw. */
async function serve(answer: (seen: Seen, response: http.ServerResponse) => void): Promise<{ base: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = http.createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      const record = { method: request.method ?? '', url: request.url ?? '', headers: request.headers, body };
      seen.push(record);
      answer(record, response);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { base: `http://127.0.0.1:${(server.address() as { port: number }).port}`, seen };
}

const env = { GOTORCH_TASK: 't', GOTORCH_RUN_ID: '1700000000-1-ab', GOTORCH_SCHEDULED_AT: '1700000000' };
const post = (headers: HttpOptions['headers'] = []): HttpOptions => ({ method: 'POST', body: 'payload', headers: [['Content-Type', 'text/plain'], ...headers], expect: [] });

/** Runs a request to its end; its output as text. */
async function request(url: string, options: HttpOptions, limit = Infinity) {
  const handle = requestHandle(url, options, env);
  let output = '';
  let drained: Promise<number> | undefined;
  handle.onOutput((_stream, chunk) => {
    output += chunk.toString();
    if (output.length >= limit && drained === undefined) drained = handle.drain('stdout');
  });
  const outcome = await handle.outcome;
  return { outcome, output, dropped: await drained, handle };
}

describe('redirects (fetch rules, at most 5)', () => {
  const rows: { status: number; method: string; body: string; contentType: string | undefined }[] = [
    { status: 301, method: 'GET', body: '', contentType: undefined },
    { status: 302, method: 'GET', body: '', contentType: undefined },
    { status: 303, method: 'GET', body: '', contentType: undefined },
    { status: 307, method: 'POST', body: 'payload', contentType: 'text/plain' },
    { status: 308, method: 'POST', body: 'payload', contentType: 'text/plain' },
  ];
  it.each(rows)('a POST redirected by $status goes on as $method', async ({ status, method, body, contentType }) => {
    const web = await serve((seen, response) => (seen.url === '/from' ? response.writeHead(status, { location: '/to' }).end() : response.end('ok')));
    const { outcome } = await request(`${web.base}/from`, post());
    expect(outcome).toEqual({ exitCode: 0, signal: null, httpStatus: 200 });
    expect(web.seen[1]).toMatchObject({ method, url: '/to', body });
    expect(web.seen[1].headers['content-type']).toBe(contentType);
    expect(web.seen[1].headers['x-gotorch-run-id']).toBe(env.GOTORCH_RUN_ID);
  });

  it('a redirect to another origin drops Authorization and Cookie, keeps the rest', async () => {
    const other = await serve((_seen, response) => response.end('there'));
    const web = await serve((_seen, response) => response.writeHead(302, { location: `${other.base}/landing` }).end());
    const { outcome, output } = await request(`${web.base}/`, { method: 'GET', headers: [['Authorization', 'Bearer k'], ['Cookie', 'a=1'], ['X-Keep', 'yes']], expect: [] });
    expect(outcome.exitCode).toBe(0);
    expect(output).toBe('HTTP 200 OK\nthere');
    expect(web.seen[0].headers).toMatchObject({ authorization: 'Bearer k', cookie: 'a=1' });
    expect(other.seen[0].headers).not.toHaveProperty('authorization');
    expect(other.seen[0].headers).not.toHaveProperty('cookie');
    expect(other.seen[0].headers['x-keep']).toBe('yes');
  });

  it('a redirect without Location is the answer (a failure unless expected)', async () => {
    const web = await serve((_seen, response) => response.writeHead(302).end());
    expect((await request(`${web.base}/`, { method: 'GET', headers: [], expect: [] })).outcome).toEqual({ exitCode: 1, signal: null, httpStatus: 302 });
  });
});

describe('the body at log_limit', () => {
  it('without Content-Length the rest is neither read nor counted', async () => {
    let written = 0;
    const web = await serve((_seen, response) => {
      const chunk = Buffer.alloc(16 * 1024, 'y');
      const write = (): void => {
        while (!response.destroyed && written < 64 * 1024 * 1024) {
          written += chunk.length;
          if (!response.write(chunk)) return void response.once('drain', write);
        }
        response.end();
      };
      write();
    });
    const { outcome, output, dropped } = await request(`${web.base}/`, { method: 'GET', headers: [], expect: [] }, 1000);
    expect(outcome).toEqual({ exitCode: 0, signal: null, httpStatus: 200 });
    expect(output.startsWith('HTTP 200 OK\nyyy')).toBe(true);
    expect(dropped).toBe(0);
    expect(written).toBeLessThan(32 * 1024 * 1024);
  });
});

describe('the handle as a process group', () => {
  it('signal 0 is true while in flight; a TERM aborts the request; false once it ended', async () => {
    const web = await serve(() => undefined);
    const handle = requestHandle(`${web.base}/`, { method: 'GET', headers: [], expect: [] }, env);
    expect(handle.pid).toBeUndefined();
    expect(handle.request).toBe(true);
    expect(handle.signalGroup(0)).toBe(true);
    await new Promise<void>((resolve) => {
      const poll = setInterval(() => web.seen.length > 0 && (clearInterval(poll), resolve()), 10);
    });
    expect(handle.signalGroup('SIGTERM')).toBe(true);
    expect(await handle.outcome).toEqual({ exitCode: null, signal: null, error: 'request aborted' });
    expect(handle.signalGroup(0)).toBe(false);
    expect(handle.signalGroup('SIGKILL')).toBe(false);
  });

  it('a name that does not resolve is an error in fetch\'s words', async () => {
    const { outcome } = await request('http://no-such-host.invalid/', { method: 'GET', headers: [], expect: [] });
    expect(outcome).toMatchObject({ exitCode: null, signal: null, error: expect.stringMatching(/^request failed: .*(ENOTFOUND|EAI_AGAIN)/) });
  });
});
