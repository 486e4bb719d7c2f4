/** Task options (SPEC §1.5): `key=value` tokens after the type. Defaults live here and nowhere else. */
import path from 'node:path';
import { zoneError } from '../schedule/zone.js';
import { parseDuration } from '../schedule/duration.js';
import { didYouMean } from '../schedule/suggest.js';
import { parseHook, parsePingUrl } from './alert-options.js';
import { parseBody, parseExpect, parseHeader, parseMethod } from './http-options.js';
import type { OverlapPolicy, TaskOptions, TaskType } from './types.js';

export const OPTION_DEFAULTS = { graceMs: 10_000, logLimit: 1024 * 1024, retries: 0, retryDelayMs: 10_000, overlap: 'skip', jitterS: 0, singleton: false } as const;
/** SPEC §8: retry delays double up to this. */
export const RETRY_DELAY_CAP_MS = 10 * 60_000;
const RETRIES_LIMIT = 100;
/** `jitter=` stays below a day (SPEC §8 spreads fires over a window, not across days). */
const JITTER_LIMIT_S = 86_400;
const OVERLAP_POLICIES: readonly OverlapPolicy[] = ['skip', 'queue', 'replace'];
/** SPEC §8 run policy that applies to cron tasks only (a daemon task is restarted with back-off, SPEC §1.4). */
const CRON_ONLY: ReadonlySet<string> = new Set(['retries', 'retry_delay', 'overlap', 'jitter']);
/** The keys optionConflicts looks at. */
const CONFLICTING: ReadonlySet<string> = new Set([...CRON_ONLY, 'on_success', 'singleton']);

export interface OptionContext {
  /** `user=` is only allowed when the daemon runs as root. */
  readonly asRoot: boolean;
  /** Directory of the task file: relative `cwd=` values resolve against it. */
  readonly baseDir: string;
}

/** A problem in one option, at an offset inside the option's value. */
export interface OptionError {
  readonly offset: number;
  readonly message: string;
}

type Validated<T> = { value: T } | OptionError;
export type MutableOptions = { -readonly [K in keyof TaskOptions]: TaskOptions[K] };

const NAME = /^[A-Za-z0-9_.-]+$/;
const PATH_MAX = 4096;
const BYTE_SIZE = /^(\d+)(b|k|kb|kib|m|mb|mib|g|gb|gib)?$/i;
const BYTE_UNIT: Readonly<Record<string, number>> = { '': 1, b: 1, k: 1024, kb: 1024, kib: 1024, m: 1 << 20, mb: 1 << 20, mib: 1 << 20, g: 1 << 30, gb: 1 << 30, gib: 1 << 30 };

function duration(value: string, key: string): Validated<number> {
  const parsed = parseDuration(value);
  if (!parsed.ok) return { offset: parsed.offset, message: `${key}: ${parsed.message}` };
  if (parsed.ms === 0) return { offset: 0, message: `${key} must be longer than 0 (e.g. ${key}=30s)` };
  return { value: parsed.ms };
}

/** SPEC §8 `jitter=`: whole seconds, more than 0, less than a day. */
function jitterSeconds(value: string): Validated<number> {
  const parsed = parseDuration(value);
  const wholeSeconds = 'jitter is whole seconds, e.g. jitter=30s';
  if (!parsed.ok) return parsed.decimalMs === undefined ? { offset: parsed.offset, message: `jitter: ${parsed.message}` } : { offset: 0, message: wholeSeconds };
  if (parsed.ms % 1000 !== 0) return { offset: 0, message: wholeSeconds };
  if (parsed.ms === 0) return { offset: 0, message: 'jitter must be longer than 0 (e.g. jitter=30s)' };
  if (parsed.ms >= JITTER_LIMIT_S * 1000) return { offset: 0, message: 'jitter must be less than 1d (e.g. jitter=5m)' };
  return { value: parsed.ms / 1000 };
}

/** Keeps a validated value, or returns its error. */
function store<T>(result: Validated<T>, keep: (value: T) => void): OptionError | undefined {
  if (!('value' in result)) return result;
  keep(result.value);
  return undefined;
}

const OPTIONS: Readonly<Record<string, (value: string, context: OptionContext, into: MutableOptions) => OptionError | undefined>> = {
  name(value, _context, into) {
    if (!NAME.test(value)) return { offset: 0, message: `name "${value}" may use only letters, digits, "-", "_" and "."` };
    into.name = value;
  },
  timeout: (value, _context, into) => store(duration(value, 'timeout'), (parsed) => (into.timeoutMs = parsed)),
  grace: (value, _context, into) => store(duration(value, 'grace'), (parsed) => (into.graceMs = parsed)),
  tz(value, _context, into) {
    const error = zoneError(value);
    if (error !== undefined) return { offset: 0, message: error };
    into.tz = value;
  },
  cwd(value, context, into) {
    if (value === '') return { offset: 0, message: 'cwd is empty: write a directory, e.g. cwd=/srv/app' };
    if (value.length > PATH_MAX) return { offset: 0, message: `cwd is longer than ${PATH_MAX} bytes, the longest path Linux accepts` };
    into.cwd = path.resolve(context.baseDir, value);
  },
  user(value, context, into) {
    if (!context.asRoot) return { offset: 0, message: 'user= needs the daemon to run as root: remove it or run gotorch as root' };
    if (!/^[a-z_][a-z0-9_.-]*\$?$/i.test(value) && !/^\d+$/.test(value)) return { offset: 0, message: `user "${value}" is not a valid user name or uid` };
    into.user = value;
  },
  log_limit(value, _context, into) {
    const match = BYTE_SIZE.exec(value);
    if (!match) return { offset: 0, message: `log_limit "${value}" is not a size: write bytes, e.g. log_limit=65536 or log_limit=1M` };
    const bytes = Number(match[1]) * BYTE_UNIT[(match[2] ?? '').toLowerCase()];
    if (!Number.isSafeInteger(bytes)) return { offset: 0, message: `log_limit "${value}" is too large` };
    into.logLimit = bytes;
  },
  on_failure: (value, _context, into) => store(parseHook(value, 'on_failure'), (parsed) => (into.onFailure = parsed)),
  on_success: (value, _context, into) => store(parseHook(value, 'on_success'), (parsed) => (into.onSuccess = parsed)),
  ping: (value, _context, into) => store(parsePingUrl(value, 'ping'), (parsed) => (into.ping = parsed)),
  retries(value, _context, into) {
    const count = /^\d+$/.test(value) ? Number(value) : NaN;
    if (!(count <= RETRIES_LIMIT)) return { offset: 0, message: `retries "${value}" must be a whole number from 0 to ${RETRIES_LIMIT}, e.g. retries=3` };
    into.retries = count;
  },
  retry_delay(value, _context, into) {
    const result = duration(value, 'retry_delay');
    if (!('value' in result)) return result;
    if (result.value > RETRY_DELAY_CAP_MS) return { offset: 0, message: 'retry_delay must be at most 10m: that is the cap of its doubling (e.g. retry_delay=30s)' };
    into.retryDelayMs = result.value;
  },
  overlap(value, _context, into) {
    if (!(OVERLAP_POLICIES as readonly string[]).includes(value)) {
      return { offset: 0, message: `overlap must be skip, queue or replace, not "${value}"${didYouMean(value, OVERLAP_POLICIES)}` };
    }
    into.overlap = value as OverlapPolicy;
  },
  jitter: (value, _context, into) => store(jitterSeconds(value), (parsed) => (into.jitterS = parsed)),
  // SPEC §10: one live host of the fleet runs it (README: Singleton tasks); needs --etcd.
  singleton(value, _context, into) {
    if (value !== 'yes' && value !== 'no') return { offset: 0, message: `singleton must be yes or no, not "${value}"` };
    into.singleton = value === 'yes';
  },
  // SPEC §11: HTTP tasks (tasks/http-options.ts).
  method: (value, _context, into) => parseMethod(value, into),
  body: (value, _context, into) => parseBody(value, into),
  header: (value, _context, into) => parseHeader(value, into),
  expect: (value, _context, into) => parseExpect(value, into),
};
/** Options that may be given more than once on a line: each adds one (SPEC §11 `header=`). */
const REPEATABLE: ReadonlySet<string> = new Set(['header']);

export const OPTION_KEYS = Object.keys(OPTIONS);

export function isOptionKey(key: string): boolean {
  return Object.hasOwn(OPTIONS, key);
}

export function isRepeatable(key: string): boolean {
  return REPEATABLE.has(key);
}

export function unknownOptionMessage(key: string): string {
  return `unknown option "${key}="${didYouMean(key, OPTION_KEYS)}; options are ${OPTION_KEYS.join(', ')} (put -- before a command that starts with an assignment)`;
}

/** Applies one `key=value` to `into`; returns the error, if any. */
export function applyOption(key: string, value: string, context: OptionContext, into: MutableOptions): OptionError | undefined {
  return OPTIONS[key](value, context, into);
}

/** An option that is valid alone but wrong (error) or without effect (warning) on its line. */
export interface OptionConflict {
  /** Which of the keys given. */
  readonly index: number;
  readonly message: string;
  readonly warning: boolean;
}

const NO_CONFLICTS: readonly OptionConflict[] = [];

/**
 * SPEC §8: the option keys given on a line, in order, checked against the task's type, its schedule
 * (`reboot`: an `@reboot` task), each other and `singleton=yes` (SPEC §10).
 */
export function optionConflicts(type: TaskType, reboot: boolean, keys: readonly string[], singleton = false): readonly OptionConflict[] {
  let conflicts: OptionConflict[] | undefined;
  for (let index = 0; index < keys.length; index++) {
    const key = keys[index];
    // Most lines give only name=, timeout= and the like: one Set lookup each (compile speed).
    if (!CONFLICTING.has(key) || keys.indexOf(key) !== index) continue;
    let conflict: OptionConflict | undefined;
    if (type === 'daemon' && CRON_ONLY.has(key)) {
      conflict = { index, message: `${key}= applies to cron tasks: a daemon task is restarted with back-off; remove it`, warning: false };
    } else if (reboot && key === 'jitter') {
      conflict = { index, message: 'jitter= has no effect on @reboot, which runs once when the daemon first starts after boot; remove it', warning: false };
    } else if (type === 'daemon' && key === 'on_success') {
      conflict = { index, message: 'on_success= never fires on a daemon task: each exit of a daemon task is a failure (SPEC §8); use on_failure=', warning: true };
    } else if (key === 'singleton' && singleton && reboot) {
      conflict = { index, message: 'singleton= has no meaning on @reboot, which is about one host booting; remove it', warning: false };
    } else if (key === 'singleton' && singleton && keys.includes('jitter')) {
      conflict = { index, message: 'jitter= shifts each host\'s fires by its own offset, so a fleet would claim different seconds: remove jitter= from a singleton task', warning: false };
    } else if (key === 'retry_delay' && !keys.includes('retries')) {
      conflict = { index, message: 'retry_delay= has no effect without retries= on the line (e.g. retries=3 retry_delay=30s)', warning: true };
    }
    if (conflict !== undefined) (conflicts ??= []).push(conflict);
  }
  return conflicts ?? NO_CONFLICTS;
}

/** The last folder resolved: every task of a file shares one string instead of a copy each (10,000 tasks: 0.5 MiB). */
let resolvedDir = { from: '', to: '' };

/** A job's working directory is its task file's folder unless `cwd=` says otherwise (README: choices). */
export function newOptions(baseDir: string): MutableOptions {
  if (resolvedDir.from !== baseDir) resolvedDir = { from: baseDir, to: path.resolve(baseDir) };
  // A literal, not `{ ...OPTION_DEFAULTS }`: V8 gives a spread copy a property store with room to grow,
  // 440 bytes a task instead of 136 (100,000 tasks: 30 MiB), and builds it several times slower.
  const d = OPTION_DEFAULTS;
  return { graceMs: d.graceMs, logLimit: d.logLimit, retries: d.retries, retryDelayMs: d.retryDelayMs, overlap: d.overlap, jitterS: d.jitterS, singleton: d.singleton, cwd: resolvedDir.to };
}
