/**
 * SPEC §8: one POST of a URL hook or a ping, with Node's fetch. Each try has a timeout; transient
 * failures (the network, a timeout, 408, 425, 429, 5xx) are tried again after a back-off, on timers
 * that never hold the process up; any other status is the answer. Never throws.
 */

export interface SendTiming {
  /** Each try's limit. */
  readonly timeoutMs: number;
  /** The waits before the second, third … try: its length + 1 is the number of tries. */
  readonly backoffMs: readonly number[];
}

export const SEND_TIMING: SendTiming = { timeoutMs: 10_000, backoffMs: [1_000, 2_000] };

export interface HttpRequest {
  readonly url: string;
  readonly body: string;
  readonly contentType: string;
  /** A stop that gave up waiting aborts the try under way and the back-off. */
  readonly abort: AbortSignal;
}

export interface HttpOutcome {
  readonly ok: boolean;
  /** The last try's status, or null when none answered. */
  readonly status: number | null;
  readonly tries: number;
  readonly ms: number;
  readonly error: string | null;
}

const TRANSIENT_STATUS = new Set([408, 425, 429]);

export function isTransientStatus(status: number): boolean {
  return TRANSIENT_STATUS.has(status) || (status >= 500 && status <= 599);
}

/** What may be logged of a URL: its origin. Its userinfo and query, and for many services its path (a healthchecks UUID, a Slack token), are keys. */
export function urlOrigin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return 'an invalid URL';
  }
}

/** fetch's error as one line: its cause's code says what the network did (ECONNREFUSED); never the URL. */
function errorText(error: unknown): string {
  if (error instanceof DOMException) return error.name === 'TimeoutError' ? 'timed out' : 'aborted';
  const code = (error as { cause?: { code?: unknown } }).cause?.code;
  if (typeof code === 'string') return `fetch failed: ${code}`;
  return String((error as Error)?.message ?? error).replace(/[a-z][a-z0-9+.-]*:\/\/\S*/gi, '<url>');
}

function wait(ms: number, abort: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (abort.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      abort.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    timer.unref();
    abort.addEventListener('abort', done, { once: true });
  });
}

export async function postWithRetries(request: HttpRequest, timing: SendTiming = SEND_TIMING): Promise<HttpOutcome> {
  const began = performance.now();
  let tries = 0;
  let status: number | null = null;
  let error: string | null = null;
  for (;;) {
    tries++;
    let transient: boolean;
    // A timer of our own, not AbortSignal.timeout: a signal only AbortSignal.any holds (weakly) can be
    // garbage-collected before it fires, and the try then never times out (seen with a small young heap).
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(new DOMException('timed out', 'TimeoutError')), timing.timeoutMs);
    try {
      const response = await fetch(request.url, {
        method: 'POST',
        headers: { 'content-type': request.contentType, 'user-agent': 'gotorch' },
        body: request.body,
        redirect: 'manual',
        signal: AbortSignal.any([timeout.signal, request.abort]),
      });
      status = response.status;
      await response.body?.cancel().catch(() => undefined); // the answer's body is not read: free the connection
      if (status >= 200 && status <= 299) return { ok: true, status, tries, ms: Math.round(performance.now() - began), error: null };
      error = `HTTP ${status}`;
      transient = isTransientStatus(status);
    } catch (thrown) {
      status = null;
      error = errorText(thrown);
      transient = !request.abort.aborted;
    } finally {
      clearTimeout(timer);
    }
    const backoff = timing.backoffMs[tries - 1];
    if (!transient || backoff === undefined) return { ok: false, status, tries, ms: Math.round(performance.now() - began), error };
    await wait(backoff, request.abort);
    if (request.abort.aborted) return { ok: false, status, tries, ms: Math.round(performance.now() - began), error: `${error}; stopped before the next try` };
  }
}
