/** Task options (SPEC §1.5): `key=value` tokens after the type. Defaults live here and nowhere else. */
import path from 'node:path';
import { zoneError } from '../schedule/zone.js';
import { parseDuration } from '../schedule/duration.js';
import { didYouMean } from '../schedule/suggest.js';
import type { TaskOptions } from './types.js';

export const OPTION_DEFAULTS = { graceMs: 10_000, logLimit: 1024 * 1024, retries: 0, retryDelayMs: 10_000, overlap: 'skip', jitterS: 0 } as const;
/** SPEC §8: retry delays double up to this. */
export const RETRY_DELAY_CAP_MS = 10 * 60_000;

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
type MutableOptions = { -readonly [K in keyof TaskOptions]: TaskOptions[K] };

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

const OPTIONS: Readonly<Record<string, (value: string, context: OptionContext, into: MutableOptions) => OptionError | undefined>> = {
  name(value, _context, into) {
    if (!NAME.test(value)) return { offset: 0, message: `name "${value}" may use only letters, digits, "-", "_" and "."` };
    into.name = value;
  },
  timeout(value, _context, into) {
    const result = duration(value, 'timeout');
    if ('value' in result) into.timeoutMs = result.value;
    else return result;
  },
  grace(value, _context, into) {
    const result = duration(value, 'grace');
    if ('value' in result) into.graceMs = result.value;
    else return result;
  },
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
};

export const OPTION_KEYS = Object.keys(OPTIONS);

export function isOptionKey(key: string): boolean {
  return Object.hasOwn(OPTIONS, key);
}

export function unknownOptionMessage(key: string): string {
  return `unknown option "${key}="${didYouMean(key, OPTION_KEYS)}; options are ${OPTION_KEYS.join(', ')} (put -- before a command that starts with an assignment)`;
}

/** Applies one `key=value` to `into`; returns the error, if any. */
export function applyOption(key: string, value: string, context: OptionContext, into: MutableOptions): OptionError | undefined {
  return OPTIONS[key](value, context, into);
}

/** The last folder resolved: every task of a file shares one string instead of a copy each (10,000 tasks: 0.5 MiB). */
let resolvedDir = { from: '', to: '' };

/** A job's working directory is its task file's folder unless `cwd=` says otherwise (README: choices). */
export function newOptions(baseDir: string): MutableOptions {
  if (resolvedDir.from !== baseDir) resolvedDir = { from: baseDir, to: path.resolve(baseDir) };
  return { ...OPTION_DEFAULTS, cwd: resolvedDir.to };
}
