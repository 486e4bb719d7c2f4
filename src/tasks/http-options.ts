/**
 * SPEC §11 HTTP tasks: a command that is an http:// or https:// URL is one request made with fetch,
 * no shell. `method=`, `body=`, `header=` (repeatable) and `expect=` say how; they are errors on other
 * tasks, and the options of a process (`user=`, `cwd=`) are errors on an HTTP task.
 */
import { HTTP_URL, httpUrl } from './alert-options.js';
import type { MutableOptions, OptionError } from './options.js';
import type { HttpOptions, Task, TaskType } from './types.js';

export const HTTP_DEFAULTS: HttpOptions = Object.freeze({ method: 'GET', headers: Object.freeze([]), expect: Object.freeze([]) });

/** The keys that only an HTTP task takes. */
const HTTP_ONLY: ReadonlySet<string> = new Set(['method', 'body', 'header', 'expect']);
/** What a request has no use for, and why. */
const PROCESS_ONLY: Readonly<Record<string, string>> = {
  user: 'user= switches the user of a process: an HTTP task runs none; remove it',
  cwd: 'cwd= is the working directory of a process: an HTTP task runs none; remove it',
};
/** fetch refuses these methods. */
const REFUSED_METHODS: ReadonlySet<string> = new Set(['CONNECT', 'TRACE', 'TRACK']);
/** Headers fetch sets itself, ignores or refuses. */
const MANAGED_HEADERS: ReadonlySet<string> = new Set(['host', 'content-length', 'transfer-encoding', 'keep-alive', 'upgrade', 'expect']);
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const STATUS_LIST = /^\d{3}(,\d{3})*$/;

export function isHttpCommand(command: string): boolean {
  return HTTP_URL.test(command);
}

/** The type `check` and `status` show: an HTTP task (a cron task whose command is a URL) is `http`. */
export function shownType(task: Task): string {
  return task.options.http === undefined ? task.type : 'http';
}

function update(into: MutableOptions, change: Partial<HttpOptions>): undefined {
  into.http = { ...(into.http ?? HTTP_DEFAULTS), ...change };
  return undefined;
}

export function parseMethod(value: string, into: MutableOptions): OptionError | undefined {
  const method = value.toUpperCase();
  if (!/^[A-Z]+$/.test(method)) return { offset: 0, message: `method "${value}" is not an HTTP method: write e.g. method=POST` };
  if (REFUSED_METHODS.has(method)) return { offset: 0, message: `method ${method} cannot be sent with fetch: use GET, POST, PUT, PATCH, DELETE, HEAD or OPTIONS` };
  return update(into, { method });
}

export function parseBody(value: string, into: MutableOptions): OptionError | undefined {
  return update(into, { body: value });
}

/** `header=Name:value`: one header per option, repeatable; blanks around the value are dropped. */
export function parseHeader(value: string, into: MutableOptions): OptionError | undefined {
  const colon = value.indexOf(':');
  const example = 'e.g. header="Authorization: Bearer KEY"';
  if (colon <= 0) return { offset: 0, message: `header "${value}" needs a name, a colon and a value, ${example}` };
  const name = value.slice(0, colon);
  const text = value.slice(colon + 1).trim();
  if (!TOKEN.test(name)) return { offset: 0, message: `header name "${name}" may not contain blanks or separators, ${example}` };
  const lower = name.toLowerCase();
  if (lower.startsWith('x-gotorch-')) return { offset: 0, message: `header ${name} is set by gotorch on every request: remove it` };
  if (MANAGED_HEADERS.has(lower)) return { offset: 0, message: `header ${name} is set (or refused) by fetch itself: remove it` };
  try {
    new Headers([[name, text]]);
  } catch {
    return { offset: 0, message: `header ${name} has a value fetch cannot send (a character beyond Latin-1, or NUL): percent-encode it or leave it out` };
  }
  const http = into.http ?? HTTP_DEFAULTS;
  return update(into, { headers: [...http.headers, [name, text]] });
}

/** `expect=404` or `expect=200,404`: statuses that count as a success besides 2xx. */
export function parseExpect(value: string, into: MutableOptions): OptionError | undefined {
  const example = 'write statuses from 100 to 599, comma-separated, e.g. expect=404 or expect=301,404';
  if (!STATUS_LIST.test(value)) return { offset: 0, message: `expect "${value}" is not a list of HTTP statuses: ${example}` };
  const expect = value.split(',').map(Number);
  const bad = expect.findIndex((status) => status < 100 || status > 599);
  if (bad >= 0) return { offset: bad * 4, message: `expect: ${expect[bad]} is not an HTTP status: ${example}` };
  return update(into, { expect: [...new Set(expect)] });
}

/** A problem of an option with the line's command: at an option (an index into the keys), the type or the command. */
export interface HttpConflict {
  readonly index: number | 'type' | 'command';
  readonly message: string;
  readonly warning: boolean;
}

const NO_CONFLICTS: readonly HttpConflict[] = [];

/**
 * The line-level rules once the command is known; sets `options.http` on an HTTP task. `keys` are the
 * option keys given, in order.
 */
export function httpConflicts(type: TaskType, command: string, keys: readonly string[], options: MutableOptions): readonly HttpConflict[] {
  if (!isHttpCommand(command)) {
    // Most lines: one regex and a look at the keys, nothing allocated (compile speed).
    const index = keys.findIndex((key) => HTTP_ONLY.has(key));
    return index < 0 ? NO_CONFLICTS : [{ index, message: `${keys[index]}= is for HTTP tasks, whose command is an http:// or https:// URL; remove it`, warning: false }];
  }
  const conflicts: HttpConflict[] = [];
  const http = (options.http ??= HTTP_DEFAULTS);
  if (type === 'daemon') conflicts.push({ index: 'type', message: 'an HTTP task is a cron task: a request is not a process to keep running (write cron)', warning: false });
  if (/\s/.test(command)) conflicts.push({ index: 'command', message: 'an HTTP task\'s command is one URL: write a space as %20', warning: false });
  else {
    const invalid = httpUrl(command, 'the URL');
    if (invalid !== undefined) conflicts.push({ index: 'command', message: invalid.message, warning: false });
    else if (/^[a-z]+:\/\/[^/?#]*@/i.test(command)) {
      conflicts.push({ index: 'command', message: 'fetch does not send a user and password from the URL: write header="Authorization: Basic ..." instead', warning: false });
    }
  }
  keys.forEach((key, index) => {
    if (Object.hasOwn(PROCESS_ONLY, key) && keys.indexOf(key) === index) conflicts.push({ index, message: PROCESS_ONLY[key], warning: false });
    if (key === 'grace') conflicts.push({ index, message: 'grace= has no effect on an HTTP task: a timeout, kill or stop aborts the request at once; remove it', warning: true });
  });
  if (http.body !== undefined && (http.method === 'GET' || http.method === 'HEAD')) {
    conflicts.push({ index: keys.indexOf('body'), message: `a ${http.method} request has no body: write method=POST (or PUT, PATCH) with body=`, warning: false });
  }
  return conflicts;
}
