/**
 * SPEC §8 `ping=`: healthchecks.io's pinging API. A run is `<url>/start` when it starts and
 * `<url>/<exit status>` (0-255) when it ends, each with `?rid=`, a UUID derived from the run id so the
 * two pair up when runs of a task overlap. A spawn error is `/fail`; an attempt a retry follows, a run
 * gotorch was asked to stop or replaced, and one whose end is unknown are `/log` (healthchecks records
 * the body and changes no status). README: Alerts.
 */
import { createHash } from 'node:crypto';
import type { RunRecord } from '../supervisor/run.js';
import { runResult, shellStatus } from '../supervisor/run-result.js';
import { lastBytes, TAIL_BYTES } from './output-tail.js';

/** The endpoint a ping goes to: `start`, an exit status, `fail` or `log`. */
export type PingEndpoint = 'start' | 'fail' | 'log' | `${number}`;

/** gotorch's namespace for name-based UUIDs (RFC 9562 §5.5), fixed: the same run id always gives the same rid. */
const NAMESPACE = Buffer.from('5a0c7e2b9d3f4e61a8b4c2d0e6f17a93', 'hex');

/** A UUID (version 5: SHA-1 of gotorch's namespace and the run id), lowercase and canonical as healthchecks requires. */
export function runUuid(run: string): string {
  const bytes = createHash('sha1').update(NAMESPACE).update(run).digest().subarray(0, 16);
  bytes[6] = (bytes[6] & 0x0f) | 0x50;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * The end of a run: its exit status (a signal N is 128 + N, as the shell's `$?`); a timeout is `fail`
 * whatever status the killed job left (one that traps TERM and exits 0 still timed out).
 */
export function endEndpoint(record: RunRecord, retried: boolean): PingEndpoint {
  if (retried) return 'log';
  const result = runResult(record);
  if (result === 'timeout' || result === 'spawn error') return 'fail';
  if (result === 'killed' || result === 'replaced' || result === 'unknown') return 'log';
  const status = shellStatus(record);
  return status === null || status < 0 || status > 255 ? 'fail' : `${status}`;
}

/** `<url>/<endpoint>?rid=<uuid>`: the path extended, the URL's own query (e.g. `create=1`) kept. */
export function pingUrl(base: string, endpoint: PingEndpoint, run: string): string {
  const url = new URL(base);
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/${endpoint}`;
  url.searchParams.set('rid', runUuid(run));
  return url.toString();
}

/** The body of a `/log` ping: why it ends no run, then as much of the output tail as fits in TAIL_BYTES. */
export function logPingBody(record: RunRecord, retried: boolean, tail: string): string {
  const result = runResult(record);
  const ended = record.signal ?? `exit ${record.exitCode}`;
  const why = retried
    ? `attempt ${record.attempt} failed (${result}); a retry follows`
    : result === 'killed'
      ? `stopped on request (${ended})`
      : result === 'replaced'
        ? `replaced by a newer fire, overlap=replace (${ended})`
        : `ended: ${result}`;
  const head = `gotorch: ${why}\n`;
  return head + lastBytes(tail, TAIL_BYTES - Buffer.byteLength(head));
}
