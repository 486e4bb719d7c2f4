/**
 * SPEC §11: an HTTP task's run is one request made with Node's fetch, no shell and no process. It is a
 * ChildHandle, so the supervisor starts, counts against `max`, times out and stops it like a job:
 * signalling its "group" aborts the request. Its output (stdout) is the status line, then the body.
 */
import type { HttpOptions } from '../tasks/types.js';
import type { ChildHandle, OutputListener, SpawnOutcome } from './spawner.js';

export const MAX_REDIRECTS = 5;
const REDIRECT_STATUSES: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);
/** Dropped when a redirect leaves the origin (as browsers do): a credential is for the host it was written for. */
const CREDENTIAL_HEADERS: ReadonlySet<string> = new Set(['authorization', 'cookie', 'proxy-authorization']);
/** Dropped with the body when a redirect turns the request into a GET. */
const BODY_HEADERS: ReadonlySet<string> = new Set(['content-type', 'content-encoding', 'content-language', 'content-location']);

type Header = readonly [string, string];

/** Why fetch failed, in its cause's words (`connect ECONNREFUSED 127.0.0.1:8080`), not "fetch failed". */
function failure(error: unknown): string {
  const cause = (error as { cause?: unknown }).cause;
  const reason = cause instanceof Error ? cause.message : error instanceof Error ? error.message : String(error);
  return `request failed: ${reason}`;
}

/** SPEC §11: success is a 2xx status or one `expect=` lists. */
export function isExpected(status: number, http: HttpOptions): boolean {
  return (status >= 200 && status <= 299) || http.expect.includes(status);
}

/** The request's run: `url` with `http`, carrying the run's identity from its environment (SPEC §2's variables). */
export function requestHandle(url: string, http: HttpOptions, env: Readonly<Record<string, string>>): ChildHandle {
  const controller = new AbortController();
  let listener: OutputListener | undefined;
  let inFlight = true;
  let draining = false;
  let settleDrain: ((dropped: number) => void) | undefined;
  const drained = new Promise<number>((resolve) => (settleDrain = resolve));
  const headers: Header[] = [
    ...http.headers,
    ['X-Gotorch-Task', env.GOTORCH_TASK ?? ''],
    ['X-Gotorch-Run-Id', env.GOTORCH_RUN_ID ?? ''],
    ['X-Gotorch-Scheduled-At', env.GOTORCH_SCHEDULED_AT ?? ''],
  ];

  /** Reads the body until its end, or until the run's log_limit asked to drain (then the rest is not read). */
  async function readBody(response: Response): Promise<void> {
    const reader = response.body?.getReader();
    if (reader === undefined) return;
    // The bytes not read are known when the length is that of what fetch hands over (no content coding).
    const length = response.headers.get('content-encoding') === null ? Number(response.headers.get('content-length') ?? NaN) : NaN;
    let received = 0;
    while (!draining) {
      const { done, value } = await reader.read();
      if (done) return;
      received += value.byteLength;
      listener?.('stdout', Buffer.from(value.buffer, value.byteOffset, value.byteLength));
    }
    await reader.cancel().catch(() => undefined);
    settleDrain?.(Number.isSafeInteger(length) ? Math.max(0, length - received) : 0);
  }

  async function perform(): Promise<SpawnOutcome> {
    let target = new URL(url);
    let { method, body } = http;
    let sent = headers;
    for (let redirects = 0; ; redirects++) {
      const response = await fetch(target, { method, body, headers: sent.map(([name, value]) => [name, value]), redirect: 'manual', signal: controller.signal });
      const location = response.headers.get('location');
      // A redirect that expect= lists is the answer, not a hop.
      if (REDIRECT_STATUSES.has(response.status) && location !== null && !http.expect.includes(response.status)) {
        await response.body?.cancel().catch(() => undefined);
        const next = new URL(location, target);
        if (redirects === MAX_REDIRECTS) return { exitCode: null, signal: null, error: `more than ${MAX_REDIRECTS} redirects (the last to ${next.href})` };
        // Fetch's rules: 303 (but HEAD), and 301/302 after a POST, go on as a GET without the body.
        if ((response.status === 303 && method !== 'HEAD') || ((response.status === 301 || response.status === 302) && method === 'POST')) {
          method = 'GET';
          body = undefined;
          sent = sent.filter(([name]) => !BODY_HEADERS.has(name.toLowerCase()));
        }
        if (next.origin !== target.origin) sent = sent.filter(([name]) => !CREDENTIAL_HEADERS.has(name.toLowerCase()));
        target = next;
        continue;
      }
      listener?.('stdout', Buffer.from(`HTTP ${response.status}${response.statusText === '' ? '' : ` ${response.statusText}`}\n`));
      await readBody(response);
      return { exitCode: isExpected(response.status, http) ? 0 : 1, signal: null, httpStatus: response.status };
    }
  }

  const outcome = perform()
    .catch((error: unknown): SpawnOutcome => ({ exitCode: null, signal: null, error: controller.signal.aborted ? 'request aborted' : failure(error) }))
    .then((result) => {
      inFlight = false;
      settleDrain?.(0); // a drain asked for after the last chunk, or cut short by an abort
      return result;
    });
  return {
    pid: undefined,
    request: true,
    onOutput: (next) => {
      listener = next;
    },
    // A timeout, kill or stop aborts the request (fetch closes its socket); true while it is in flight.
    signalGroup: (signal) => {
      if (!inFlight) return false;
      if (signal !== 0) controller.abort();
      return true;
    },
    outcome,
    drain: () => {
      draining = true;
      return drained;
    },
  };
}
