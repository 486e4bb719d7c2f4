/**
 * The run log's records as history and logs read them (src/daemon/run-log.ts writes them): a job's
 * output line, the record a run ends with, a fire that did not run, a hook's outcome. Lines are tested for a few bytes
 * before they are parsed: the bytes `"msg":"run finished"` cannot occur inside a JSON string (its
 * quotes would be escaped), so a line without them is not such a record.
 */
import { HOOK_MESSAGE } from '../daemon/run-log.js';
import { SKIPPED_FIRE_MESSAGE } from '../daemon/skip-report.js';
import type { RunRecord } from '../supervisor/run.js';

export const RUN_FINISHED_MESSAGE = 'run finished';

export interface OutputEntry {
  readonly kind: 'output';
  /** When the line was logged (ms). */
  readonly time: number;
  readonly task: string;
  readonly run: string;
  readonly stream: string;
  readonly line: string;
}

/** A run record as logged: the fields of RunRecord, and `time`, when it was logged (ms). */
export interface RunFinishedEntry extends Omit<RunRecord, 'trigger' | 'attempt' | 'killed' | 'replaced' | 'jitterS'> {
  readonly kind: 'run-finished';
  readonly time: number;
  /** Absent from records of versions before SPEC §7 history. */
  readonly trigger?: RunRecord['trigger'];
  readonly attempt?: number;
  readonly killed?: boolean;
  /** Absent from records of versions before SPEC §8 overlap= and jitter=. */
  readonly replaced?: boolean;
  readonly jitterS?: number;
  /** SPEC §8: a retry of this failed attempt followed after this many ms (absent: none). */
  readonly retryInMs?: number;
}

export interface FireSkippedEntry {
  readonly kind: 'fire-skipped';
  readonly time: number;
  readonly task: string;
  readonly reason: string;
  /** Every scheduled second the record stands for: one, or all those counted into it (skip-report.ts). */
  readonly seconds: readonly number[];
}

/** SPEC §8: what became of one hook or ping of a run. */
export interface HookEntry {
  readonly kind: 'hook';
  readonly time: number;
  readonly task: string;
  readonly run: string;
  /** `on_failure`, `on_success`, `ping`. */
  readonly hook: string;
  /** `sent`, `failed`, `suppressed`, `dropped`. */
  readonly result: string;
  /** A ping's endpoint (`start`, an exit status, `fail`, `log`); null for a hook. */
  readonly ping: string | null;
}

export type RunLogEntry = OutputEntry | RunFinishedEntry | FireSkippedEntry | HookEntry;

const bytes = (text: string): Buffer => Buffer.from(text);
/** Every record with a message: in the run log, the run records and the skipped fires (output lines have none). */
export const MESSAGE_BYTES = bytes('"msg":"');
export const RUN_FINISHED_BYTES = bytes(`"msg":${JSON.stringify(RUN_FINISHED_MESSAGE)}`);
export const FIRE_SKIPPED_BYTES = bytes(`"msg":${JSON.stringify(SKIPPED_FIRE_MESSAGE)}`);
export const HOOK_BYTES = bytes(`"msg":${JSON.stringify(HOOK_MESSAGE)}`);

/** The bytes every record of `task` carries (pino writes the bound `task` field followed by another). */
export function taskBytes(task: string): Buffer {
  return bytes(`"task":${JSON.stringify(task)},`);
}

/** One line as an entry; undefined for anything else (other records, a torn or foreign line). */
export function parseEntry(line: Buffer): RunLogEntry | undefined {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(line.toString('utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (record === null || typeof record !== 'object' || typeof record.time !== 'number' || typeof record.task !== 'string') return undefined;
  if (record.msg === RUN_FINISHED_MESSAGE && typeof record.run === 'string' && typeof record.scheduledAt === 'number') {
    return { ...(record as unknown as RunFinishedEntry), kind: 'run-finished' };
  }
  if (record.msg === SKIPPED_FIRE_MESSAGE && typeof record.scheduledAt === 'number') {
    const seconds = Array.isArray(record.seconds) ? record.seconds.filter((second): second is number => typeof second === 'number') : [record.scheduledAt];
    return { kind: 'fire-skipped', time: record.time, task: record.task, reason: String(record.reason ?? 'unknown'), seconds };
  }
  if (record.msg === HOOK_MESSAGE && typeof record.run === 'string' && typeof record.hook === 'string' && typeof record.result === 'string') {
    return { kind: 'hook', time: record.time, task: record.task, run: record.run, hook: record.hook, result: record.result, ping: typeof record.ping === 'string' ? record.ping : null };
  }
  if (typeof record.line === 'string' && typeof record.run === 'string') {
    return { kind: 'output', time: record.time, task: record.task, run: record.run, stream: String(record.stream), line: record.line };
  }
  return undefined;
}

const TIME_KEY = bytes('"time":');
/** pino writes `{"level":30,"time":` first: the key lies within this many bytes. */
const TIME_KEY_WITHIN = 24;

/** When a pino line was logged (ms), read from its bytes without parsing the line; undefined if not found. */
export function lineTime(line: Buffer): number | undefined {
  const at = line.subarray(0, TIME_KEY_WITHIN + TIME_KEY.length).indexOf(TIME_KEY);
  if (at === -1) return undefined;
  let time = 0;
  let index = at + TIME_KEY.length;
  for (; index < line.length && line[index] >= 0x30 && line[index] <= 0x39; index++) time = time * 10 + (line[index] - 0x30);
  return index === at + TIME_KEY.length ? undefined : time;
}

/**
 * The wall clock may step back a little (README: steps of up to 60 s hold planning): readers go that
 * much further back than the times say is needed before concluding that nothing older is wanted.
 */
export const CLOCK_SLACK_MS = 60_000;

/** The scheduled second a run id starts with (`1796119653-1-76be54ba`, supervisor.ts); undefined if it does not. */
export function runIdSecond(run: string): number | undefined {
  const match = /^(\d{1,12})-/.exec(run);
  return match ? Number(match[1]) : undefined;
}
