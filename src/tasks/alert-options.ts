/**
 * SPEC §8 alert values: hooks (`on_failure=`, `on_success=`) and healthchecks ping URLs (`ping=`),
 * read the same way from an option and from the env lines `ON_FAILURE=`, `ON_SUCCESS=`, `PING=`
 * that set the defaults of the task lines below them.
 */
import { argumentTooLong } from './arg-limit.js';
import type { OptionError } from './options.js';
import type { Hook } from './types.js';

type Validated<T> = { value: T } | OptionError;

/** The defaults the env lines set; gotorch's own settings, never put into a job's environment. */
export interface AlertDefaults {
  readonly onFailure?: Hook;
  readonly onSuccess?: Hook;
  /** `PING=`, without a trailing `/`: a task without `ping=` pings `<pingPrefix>/<task id>`. */
  readonly pingPrefix?: string;
}

export const HTTP_URL = /^https?:\/\//i;
const OTHER_URL = /^[a-z][a-z0-9+.-]*:\/\//i;
const MAILTO = /^mailto:/i;

/** An absolute http(s) URL with a host, or why not. `what` names the value in the message. */
export function httpUrl(value: string, what: string): OptionError | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return { offset: 0, message: `${what} "${value}" is not a valid URL: write e.g. https://alerts.example.com/gotorch` };
  }
  if (url.hostname === '') return { offset: 0, message: `${what} "${value}" has no host: write e.g. https://alerts.example.com/gotorch` };
  return undefined;
}

/** SPEC §8: a hook is an http(s) URL (POSTed to) or else a shell command; other URL schemes are mistakes. */
export function parseHook(value: string, key: string): Validated<Hook> {
  const example = `${key}="mail -s failed ops@example.com"`;
  if (value === '') return { offset: 0, message: `${key} is empty: write an http(s) URL or a shell command, e.g. ${example}` };
  if (HTTP_URL.test(value)) {
    const error = httpUrl(value, `${key} URL`);
    return error ?? { value: { kind: 'url', url: value } };
  }
  if (MAILTO.test(value)) {
    return { offset: 0, message: `${key} cannot send mail itself: a hook is an http(s) URL or a shell command, e.g. ${example}` };
  }
  if (OTHER_URL.test(value)) {
    const scheme = value.slice(0, value.indexOf(':'));
    return { offset: 0, message: `${key}: a hook is an http(s) URL or a shell command, not a ${scheme}:// URL (e.g. ${key}=https://alerts.example.com/gotorch or ${example})` };
  }
  const tooLong = argumentTooLong(value, `the ${key} command`);
  if (tooLong) return { offset: 0, message: tooLong };
  return { value: { kind: 'command', command: value } };
}

/** SPEC §8 `ping=`: a healthchecks.io ping URL, http(s) only; one trailing `/` is dropped (`<url>/start` follows). */
export function parsePingUrl(value: string, key: string): Validated<string> {
  const example = `${key}=https://hc-ping.com/<uuid>`;
  if (value === '') return { offset: 0, message: `${key} is empty: write a healthchecks ping URL, e.g. ${example}` };
  if (!HTTP_URL.test(value)) return { offset: 0, message: `${key} must be an http(s) URL, e.g. ${example}` };
  const error = httpUrl(value, `${key} URL`);
  if (error) return error;
  return { value: value.endsWith('/') ? value.slice(0, -1) : value };
}

type DefaultsLine = (value: string, into: AlertDefaults) => { defaults: AlertDefaults } | OptionError;

function hookLine(key: string, field: 'onFailure' | 'onSuccess'): DefaultsLine {
  return (value, into) => {
    // SPEC §8: as `MAILTO=""` in cron, an empty value clears the default.
    if (value === '') return { defaults: { ...into, [field]: undefined } };
    const hook = parseHook(value, key);
    return 'value' in hook ? { defaults: { ...into, [field]: hook.value } } : hook;
  };
}

const DEFAULTS_LINES: Readonly<Record<string, DefaultsLine>> = {
  ON_FAILURE: hookLine('ON_FAILURE', 'onFailure'),
  ON_SUCCESS: hookLine('ON_SUCCESS', 'onSuccess'),
  PING(value, into) {
    if (value === '') return { defaults: { ...into, pingPrefix: undefined } };
    const url = parsePingUrl(value, 'PING');
    return 'value' in url ? { defaults: { ...into, pingPrefix: url.value } } : url;
  },
};

export function isDefaultsLine(name: string): boolean {
  return Object.hasOwn(DEFAULTS_LINES, name);
}

/** Applies an `ON_FAILURE=`/`ON_SUCCESS=`/`PING=` line to the defaults in force; returns the new ones or the error. */
export function applyDefaultsLine(name: string, value: string, into: AlertDefaults): { defaults: AlertDefaults } | OptionError {
  return DEFAULTS_LINES[name](value, into);
}

/** A task's own alert options, else the defaults in force; the ping prefix is completed with the task's identity. */
export function withAlertDefaults(options: { onFailure?: Hook; onSuccess?: Hook; ping?: string }, defaults: AlertDefaults, id: string): void {
  if (options.onFailure === undefined && defaults.onFailure !== undefined) options.onFailure = defaults.onFailure;
  if (options.onSuccess === undefined && defaults.onSuccess !== undefined) options.onSuccess = defaults.onSuccess;
  if (options.ping === undefined && defaults.pingPrefix !== undefined) options.ping = `${defaults.pingPrefix}/${id}`;
}
