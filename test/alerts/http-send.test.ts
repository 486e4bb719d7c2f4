/** One URL hook or ping against a real local HTTP server (src/alerts/http-send.ts): tries, back-off, timeouts. */
import { describe, expect, it } from 'vitest';
import { postWithRetries, urlOrigin, type SendTiming } from '../../src/alerts/http-send.js';
import { hookServers, refusedUrl } from './hook-server.js';

const server = hookServers();
/** Short back-offs so the test measures them without waiting seconds; one try's limit of 500 ms. */
const TIMING: SendTiming = { timeoutMs: 500, backoffMs: [100, 200] };
const never = new AbortController().signal;

const post = (url: string, abort = never) => postWithRetries({ url, body: '{"event":"failure"}', contentType: 'application/json', abort }, TIMING);

describe('sending a URL hook', () => {
  it('POSTs the body with its content type and user-agent gotorch; a 2xx is sent', async () => {
    const endpoint = await server();
    endpoint.answer(204);
    expect(await post(endpoint.url('/hook?token=x'))).toMatchObject({ ok: true, status: 204, tries: 1, error: null });
    expect(endpoint.received).toMatchObject([{ method: 'POST', url: '/hook?token=x', body: '{"event":"failure"}', headers: { 'content-type': 'application/json', 'user-agent': 'gotorch' } }]);
  });

  it.each<{ name: string; answers: number[]; ok: boolean; tries: number; status: number }>([
    { name: '500 then 200: tried again, sent', answers: [500, 200], ok: true, tries: 2, status: 200 },
    { name: '503, 502, 500: three tries, failed', answers: [503, 502, 500], ok: false, tries: 3, status: 500 },
    { name: '429 and 408 are transient', answers: [429, 408, 201], ok: true, tries: 3, status: 201 },
    { name: '425 is transient', answers: [425, 200], ok: true, tries: 2, status: 200 },
    { name: '404: not tried again', answers: [404, 200], ok: false, tries: 1, status: 404 },
    { name: '400: not tried again', answers: [400], ok: false, tries: 1, status: 400 },
    { name: 'a redirect is not followed (the body would go elsewhere): failed', answers: [302], ok: false, tries: 1, status: 302 },
  ])('$name', async ({ answers, ok, tries, status }) => {
    const endpoint = await server();
    endpoint.answer(answers);
    const outcome = await post(endpoint.url());
    expect(outcome).toMatchObject({ ok, tries, status, error: ok ? null : `HTTP ${status}` });
    expect(endpoint.received).toHaveLength(tries);
    if (tries === 3) {
      // The back-offs lie between the tries (100 ms, then 200 ms).
      const [first, second, third] = endpoint.received.map((request) => request.at);
      expect(second - first).toBeGreaterThanOrEqual(90);
      expect(third - second).toBeGreaterThanOrEqual(190);
    }
  });

  it('a refused connection: three tries, the error says why without the URL', async () => {
    const url = await refusedUrl('/secret-path?key=abc');
    const outcome = await post(url);
    expect(outcome).toMatchObject({ ok: false, status: null, tries: 3, error: 'fetch failed: ECONNREFUSED' });
    expect(outcome.ms).toBeGreaterThanOrEqual(290);
  });

  it('an endpoint that never answers: each try times out, three tries', async () => {
    const endpoint = await server();
    endpoint.answer('hang');
    const outcome = await post(endpoint.url());
    expect(outcome).toMatchObject({ ok: false, status: null, tries: 3, error: 'timed out' });
    expect(endpoint.received).toHaveLength(3);
    expect(outcome.ms).toBeGreaterThanOrEqual(3 * 500 + 300 - 50);
  });

  it('a stop aborts the try under way and the back-off', async () => {
    const endpoint = await server();
    endpoint.answer('hang');
    const stop = new AbortController();
    const sending = post(endpoint.url(), stop.signal);
    await endpoint.waitFor(1);
    stop.abort();
    expect(await sending).toMatchObject({ ok: false, tries: 1, error: 'aborted' });
  });

  it('logs only the origin of a URL: its path, query and userinfo may hold a key', () => {
    expect(urlOrigin('https://user:pw@hc-ping.com/0f3c-uuid/start?rid=1')).toBe('https://hc-ping.com');
    expect(urlOrigin('not a url')).toBe('an invalid URL');
  });
});
