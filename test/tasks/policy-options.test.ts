/** SPEC §8 options and env lines as the parser reads them: hooks, ping, retries, overlap, jitter. */
import { describe, expect, it } from 'vitest';
import { parseTaskFile } from '../../src/tasks/task-file.js';
import type { LineContext } from '../../src/tasks/task-line.js';
import type { Task } from '../../src/tasks/types.js';

const context: LineContext = { env: {}, shell: '/bin/sh', zone: 'UTC', asRoot: false, baseDir: '/srv/app' };
const cron = '* * * * * * * 1 cron';
const daemon = '* * * * * * * 1 daemon';

function parse(text: string) {
  return parseTaskFile(text, 'tasks.conf', context);
}

function tasksOf(text: string): Task[] {
  const parsed = parse(text);
  expect(parsed.errors).toEqual([]);
  return parsed.entries.flatMap((entry) => (entry.kind === 'task' ? [entry.task] : []));
}

// Rows: a line, and the options it resolves to (toMatchObject) or the fields it must not have.
const valueRows: { name: string; text: string; expect: Record<string, unknown>; absent?: string[] }[] = [
  { name: 'defaults', text: `${cron} true`, expect: { retries: 0, retryDelayMs: 10_000, overlap: 'skip', jitterS: 0 }, absent: ['onFailure', 'onSuccess', 'ping'] },
  { name: 'an https hook', text: `${cron} on_failure=https://alerts.example.com/hook?t=1 true`, expect: { onFailure: { kind: 'url', url: 'https://alerts.example.com/hook?t=1' } } },
  { name: 'an http hook with a port', text: `${cron} on_success=http://10.0.0.5:8080/ok true`, expect: { onSuccess: { kind: 'url', url: 'http://10.0.0.5:8080/ok' } } },
  { name: 'an upper-case scheme is a URL', text: `${cron} on_failure=HTTPS://alerts.example.com true`, expect: { onFailure: { kind: 'url', url: 'HTTPS://alerts.example.com' } } },
  { name: 'a quoted command hook', text: `${cron} on_failure="mail -s failed ops@example.com" true`, expect: { onFailure: { kind: 'command', command: 'mail -s failed ops@example.com' } } },
  { name: 'a single-quoted command hook', text: `${cron} on_success='logger "done"' true`, expect: { onSuccess: { kind: 'command', command: 'logger "done"' } } },
  { name: 'a plain command hook', text: `${cron} on_failure=/usr/local/bin/page-me true`, expect: { onFailure: { kind: 'command', command: '/usr/local/bin/page-me' } } },
  { name: 'both hooks', text: `${cron} on_failure=/bin/a on_success=/bin/b true`, expect: { onFailure: { kind: 'command', command: '/bin/a' }, onSuccess: { kind: 'command', command: '/bin/b' } } },
  { name: 'a ping URL', text: `${cron} ping=https://hc-ping.com/0c5e-11 true`, expect: { ping: 'https://hc-ping.com/0c5e-11' } },
  { name: 'a ping URL loses one trailing /', text: `${cron} ping=https://hc-ping.com/0c5e-11/ true`, expect: { ping: 'https://hc-ping.com/0c5e-11' } },
  { name: 'retries', text: `${cron} retries=3 true`, expect: { retries: 3 } },
  { name: 'retries=0 and 100 are the range ends', text: `${cron} retries=100 true`, expect: { retries: 100 } },
  { name: 'retries with a delay', text: `${cron} retries=2 retry_delay=30s true`, expect: { retries: 2, retryDelayMs: 30_000 } },
  { name: 'retry_delay at the cap', text: `${cron} retries=1 retry_delay=10m true`, expect: { retryDelayMs: 600_000 } },
  { name: 'retry_delay in milliseconds', text: `${cron} retries=1 retry_delay=500ms true`, expect: { retryDelayMs: 500 } },
  { name: 'overlap=queue', text: `${cron} overlap=queue true`, expect: { overlap: 'queue' } },
  { name: 'overlap=replace', text: `${cron} overlap=replace true`, expect: { overlap: 'replace' } },
  { name: 'overlap=skip', text: `${cron} overlap=skip true`, expect: { overlap: 'skip' } },
  { name: 'jitter in seconds', text: `${cron} jitter=30s true`, expect: { jitterS: 30 } },
  { name: 'jitter in minutes', text: `${cron} jitter=5m true`, expect: { jitterS: 300 } },
  { name: 'jitter in whole seconds of milliseconds', text: `${cron} jitter=2000ms true`, expect: { jitterS: 2 } },
  { name: 'jitter on @every', text: '@every 90s * 1 cron jitter=30s true', expect: { jitterS: 30 } },
  { name: 'jitter just under a day', text: `${cron} jitter=23h59m59s true`, expect: { jitterS: 86_399 } },
  { name: 'singleton defaults to no', text: `${cron} true`, expect: { singleton: false } },
  { name: 'singleton=yes on a cron task', text: `${cron} singleton=yes true`, expect: { singleton: true } },
  { name: 'singleton=yes on a daemon task', text: `${daemon} singleton=yes sleep 9`, expect: { singleton: true } },
  { name: 'singleton=no with jitter', text: `${cron} singleton=no jitter=30s true`, expect: { singleton: false, jitterS: 30 } },
  { name: 'a daemon task takes on_failure and ping', text: `${daemon} on_failure=/bin/page ping=https://hc.example/p sleep 9`, expect: { onFailure: { kind: 'command', command: '/bin/page' }, ping: 'https://hc.example/p' } },
];

// SPEC §1.7 shape: file:line:column, the column at the value (options) or the key (conflicts).
const errorRows: { name: string; text: string; line?: number; column: number; message: string }[] = [
  { name: 'an empty hook', text: `${cron} on_failure= true`, column: 33, message: 'on_failure is empty: write an http(s) URL or a shell command' },
  { name: 'an empty quoted hook', text: `${cron} on_success="" true`, column: 33, message: 'on_success is empty' },
  { name: 'a mailto hook', text: `${cron} on_failure=mailto:ops@example.com true`, column: 33, message: 'a hook is an http(s) URL or a shell command, e.g. on_failure="mail -s failed ops@example.com"' },
  { name: 'another URL scheme', text: `${cron} on_failure=ftp://example.com/x true`, column: 33, message: 'a hook is an http(s) URL or a shell command, not a ftp:// URL' },
  { name: 'a URL hook without a host', text: `${cron} on_failure=http:// true`, column: 33, message: 'on_failure URL "http://" is not a valid URL' },
  { name: 'a URL hook that is not a URL', text: `${cron} on_success=https://exa%mple.com true`, column: 33, message: 'is not a valid URL' },
  { name: 'an empty ping', text: `${cron} ping= true`, column: 27, message: 'ping is empty' },
  { name: 'a ping that is not http(s)', text: `${cron} ping=hc-ping.com/abc true`, column: 27, message: 'ping must be an http(s) URL, e.g. ping=https://hc-ping.com/<uuid>' },
  { name: 'a ping with another scheme', text: `${cron} ping=ftp://hc.example/abc true`, column: 27, message: 'ping must be an http(s) URL' },
  { name: 'a ping URL without a host', text: `${cron} ping=https:// true`, column: 27, message: 'ping URL "https://" is not a valid URL' },
  { name: 'retries=-1', text: `${cron} retries=-1 true`, column: 30, message: 'retries "-1" must be a whole number from 0 to 100' },
  { name: 'retries above the range', text: `${cron} retries=101 true`, column: 30, message: 'from 0 to 100' },
  { name: 'retries not a number', text: `${cron} retries=three true`, column: 30, message: 'retries "three"' },
  { name: 'retries empty', text: `${cron} retries= true`, column: 30, message: 'retries "" must be a whole number' },
  { name: 'a bad retry_delay', text: `${cron} retries=1 retry_delay=5x true`, column: 44, message: 'retry_delay: bad duration "5x"' },
  { name: 'retry_delay without a unit', text: `${cron} retries=1 retry_delay=5 true`, column: 45, message: 'write 5s' },
  { name: 'a zero retry_delay', text: `${cron} retries=1 retry_delay=0s true`, column: 44, message: 'retry_delay must be longer than 0' },
  { name: 'retry_delay above the cap', text: `${cron} retries=1 retry_delay=11m true`, column: 44, message: 'retry_delay must be at most 10m: that is the cap of its doubling' },
  { name: 'overlap=later', text: `${cron} overlap=later true`, column: 30, message: 'overlap must be skip, queue or replace' },
  { name: 'a misspelled overlap', text: `${cron} overlap=replce true`, column: 30, message: 'did you mean "replace"' },
  { name: 'overlap is lower case', text: `${cron} overlap=Skip true`, column: 30, message: 'did you mean "skip"' },
  { name: 'jitter=500ms', text: `${cron} jitter=500ms true`, column: 29, message: 'jitter is whole seconds, e.g. jitter=30s' },
  { name: 'jitter=1500ms', text: `${cron} jitter=1500ms true`, column: 29, message: 'jitter is whole seconds, e.g. jitter=30s' },
  { name: 'a decimal jitter', text: `${cron} jitter=1.5s true`, column: 29, message: 'jitter is whole seconds' },
  { name: 'a zero jitter', text: `${cron} jitter=0s true`, column: 29, message: 'jitter must be longer than 0' },
  { name: 'a jitter of a day', text: `${cron} jitter=1d true`, column: 29, message: 'jitter must be less than 1d' },
  { name: 'a bad jitter duration', text: `${cron} jitter=soon true`, column: 29, message: 'jitter: bad duration "soon"' },
  { name: 'retries on a daemon task', text: `${daemon} retries=2 sleep 9`, column: 24, message: 'retries= applies to cron tasks: a daemon task is restarted with back-off' },
  { name: 'retry_delay on a daemon task', text: `${daemon} retry_delay=5s sleep 9`, column: 24, message: 'retry_delay= applies to cron tasks' },
  { name: 'overlap on a daemon task', text: `${daemon} name=w overlap=queue sleep 9`, column: 31, message: 'overlap= applies to cron tasks: a daemon task is restarted with back-off' },
  { name: 'jitter on a daemon task', text: `${daemon} jitter=30s sleep 9`, column: 24, message: 'jitter= applies to cron tasks' },
  { name: 'jitter on @reboot', text: '@reboot * 1 cron jitter=30s true', column: 18, message: 'jitter= has no effect on @reboot' },
  { name: 'singleton=true', text: `${cron} singleton=true true`, column: 32, message: 'singleton must be yes or no, not "true"' },
  { name: 'singleton with jitter', text: `${cron} jitter=30s singleton=yes true`, column: 33, message: 'remove jitter= from a singleton task' },
  { name: 'singleton on @reboot', text: '@reboot * 1 cron singleton=yes true', column: 18, message: 'singleton= has no meaning on @reboot' },
  { name: 'a new option given twice', text: `${cron} retries=1 retries=2 true`, column: 32, message: 'option retries= is given twice' },
  { name: 'a typo in a new option', text: `${cron} on_failur=/bin/x true`, column: 22, message: 'did you mean "on_failure"' },
  // env lines: the error stands at the value
  { name: 'ON_FAILURE with a mailto', text: 'ON_FAILURE=mailto:ops@example.com', column: 12, message: 'ON_FAILURE cannot send mail itself' },
  { name: 'ON_SUCCESS with another scheme', text: 'ON_SUCCESS = gopher://x', column: 14, message: 'not a gopher:// URL' },
  { name: 'ON_FAILURE with a bad URL', text: 'ON_FAILURE=https://', column: 12, message: 'ON_FAILURE URL "https://" is not a valid URL' },
  { name: 'PING not http(s)', text: 'PING=hc-ping.com/KEY', column: 6, message: 'PING must be an http(s) URL' },
  { name: 'an env-line error on a later line', text: '# alerts\nPING=mailto:x', line: 2, column: 6, message: 'PING must be an http(s) URL' },
];

const warningRows: { name: string; text: string; column?: number; message?: string }[] = [
  { name: 'retry_delay without retries', text: `${cron} retry_delay=30s true`, column: 22, message: 'retry_delay= has no effect without retries= on the line' },
  { name: 'on_success on a daemon task', text: `${daemon} on_success=/bin/ok sleep 9`, column: 24, message: 'on_success= never fires on a daemon task' },
  // Rows that must not warn.
  { name: 'retry_delay after retries', text: `${cron} retry_delay=30s retries=1 true` },
  { name: 'on_failure on a daemon task', text: `${daemon} on_failure=/bin/page sleep 9` },
  { name: 'on_success on a cron task', text: `${cron} on_success=/bin/ok true` },
];

describe('SPEC §8 option values', () => {
  it.each(valueRows)('$name', ({ text, expect: options, absent = [] }) => {
    const [task] = tasksOf(text);
    expect(task.options).toMatchObject(options);
    for (const key of absent) expect(task.options).not.toHaveProperty(key);
  });
});

describe('SPEC §8 option errors', () => {
  it.each(errorRows)('$name', ({ text, line = 1, column, message }) => {
    const { errors, entries } = parse(text);
    const hit = errors.find((error) => error.line === line && error.column === column);
    expect(hit, `errors were: ${JSON.stringify(errors)}`).toBeDefined();
    expect(hit?.message).toContain(message);
    expect(entries.filter((entry) => entry.kind === 'task')).toEqual([]);
  });

  it('a daemon task with every cron-only option gets one error each, in order', () => {
    const { errors } = parse(`${daemon} retries=1 retry_delay=1s overlap=queue jitter=5s sleep 9`);
    expect(errors.map((error) => error.column)).toEqual([24, 34, 49, 63]);
  });
});

describe('SPEC §8 option warnings', () => {
  it.each(warningRows)('$name', ({ text, column, message }) => {
    const parsed = parse(text);
    expect(parsed.errors).toEqual([]);
    expect(parsed.entries).toHaveLength(1);
    if (message === undefined) {
      expect(parsed.warnings).toEqual([]);
      return;
    }
    expect(parsed.warnings).toEqual([{ file: 'tasks.conf', line: 1, column, message: expect.stringContaining(message) }]);
  });
});

describe('SPEC §8 env lines: ON_FAILURE=, ON_SUCCESS=, PING=', () => {
  it('set the defaults of the task lines below them, not above', () => {
    const [before, after] = tasksOf(`${cron} name=before true\nON_FAILURE=https://alerts.example.com/f\nON_SUCCESS="logger ok"\n${cron} name=after true`);
    expect(before.options).not.toHaveProperty('onFailure');
    expect(after.options).toMatchObject({ onFailure: { kind: 'url', url: 'https://alerts.example.com/f' }, onSuccess: { kind: 'command', command: 'logger ok' } });
  });

  it('a task option wins over the default', () => {
    const [task] = tasksOf(`ON_FAILURE=/bin/default\n${cron} on_failure=/bin/own true`);
    expect(task.options.onFailure).toEqual({ kind: 'command', command: '/bin/own' });
  });

  it('an unquoted command keeps its blanks', () => {
    const [task] = tasksOf(`ON_FAILURE=mail -s failed ops@example.com\n${cron} true`);
    expect(task.options.onFailure).toEqual({ kind: 'command', command: 'mail -s failed ops@example.com' });
  });

  it('an empty value clears the default, quoted or not (as MAILTO="" in cron)', () => {
    const tasks = tasksOf(`ON_FAILURE=/bin/a\nPING=https://hc.example/ping/KEY\n${cron} name=a true\nON_FAILURE=""\n${cron} name=b true\nON_FAILURE=/bin/c\nON_FAILURE=\nPING=\n${cron} name=c true`);
    expect(tasks.map((task) => [task.options.onFailure, task.options.ping])).toEqual([
      [{ kind: 'command', command: '/bin/a' }, 'https://hc.example/ping/KEY/a'],
      [undefined, 'https://hc.example/ping/KEY/b'],
      [undefined, undefined],
    ]);
  });

  it('PING= pings <prefix>/<task id>: name= or the derived identity; a trailing / is dropped', () => {
    const [named, derived] = tasksOf(`PING=https://hc.example/ping/KEY/\n${cron} name=backup true\n${cron} /usr/bin/report`);
    expect(named.options.ping).toBe('https://hc.example/ping/KEY/backup');
    expect(derived.options.ping).toBe(`https://hc.example/ping/KEY/${derived.id}`);
    expect(derived.id).toMatch(/^report-/);
  });

  it('a task ping= wins over PING=', () => {
    const [task] = tasksOf(`PING=https://hc.example/ping/KEY\n${cron} ping=https://hc-ping.com/uuid true`);
    expect(task.options.ping).toBe('https://hc-ping.com/uuid');
  });

  it('are not put into the jobs\' environment; SHELL= and TZ= still are', () => {
    const [task] = tasksOf(`A=1\nON_FAILURE=/bin/a\nON_SUCCESS=/bin/b\nPING=https://hc.example/ping/KEY\nTZ=Europe/Berlin\n${cron} true`);
    expect(task.env).toEqual({ A: '1', TZ: 'Europe/Berlin' });
  });

  it('are carried into includes, as env lines are', () => {
    const parsed = parse('ON_FAILURE=/bin/a\nPING=https://hc.example/p\ninclude conf.d/*.conf');
    expect(parsed.entries).toEqual([expect.objectContaining({ kind: 'include', context: expect.objectContaining({ onFailure: { kind: 'command', command: '/bin/a' }, pingPrefix: 'https://hc.example/p' }) })]);
  });

  it('a rejected env line leaves the default in force unchanged', () => {
    const parsed = parse(`ON_FAILURE=/bin/a\nON_FAILURE=ftp://x\n${cron} true`);
    expect(parsed.errors).toHaveLength(1);
    const [entry] = parsed.entries;
    expect(entry.kind === 'task' && entry.task.options.onFailure).toEqual({ kind: 'command', command: '/bin/a' });
  });
});
