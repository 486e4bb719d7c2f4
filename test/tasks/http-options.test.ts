/** SPEC §11 HTTP task options as the parser reads them: method=, body=, header= (repeatable), expect=, and their conflicts. */
import { describe, expect, it } from 'vitest';
import { parseTaskFile } from '../../src/tasks/task-file.js';
import type { LineContext } from '../../src/tasks/task-line.js';
import type { Task } from '../../src/tasks/types.js';
import { sameDefinition } from '../../src/daemon/task-diff.js';

const context: LineContext = { env: {}, shell: '/bin/sh', zone: 'UTC', asRoot: true, baseDir: '/srv/app' };
const cron = '* * * * * * * 1 cron';
const url = 'https://api.example.com/health';

function parse(text: string) {
  return parseTaskFile(text, 'tasks.conf', context);
}

function taskOf(text: string): Task {
  const parsed = parse(text);
  expect(parsed.errors).toEqual([]);
  const tasks = parsed.entries.flatMap((entry) => (entry.kind === 'task' ? [entry.task] : []));
  expect(tasks).toHaveLength(1);
  return tasks[0];
}

// Rows: a line and the `http` options it resolves to (undefined: not an HTTP task).
const valueRows: { name: string; text: string; http: unknown }[] = [
  { name: 'a URL alone is a GET', text: `${cron} ${url}`, http: { method: 'GET', headers: [], expect: [] } },
  { name: 'http:// too', text: `${cron} http://10.0.0.5:8080/ping`, http: { method: 'GET', headers: [], expect: [] } },
  { name: 'a shell command is not one', text: `${cron} curl ${url}`, http: undefined },
  { name: 'a command that mentions a URL later is not one', text: `${cron} echo ${url}`, http: undefined },
  { name: 'method= in any case is upper-cased', text: `${cron} method=post ${url}`, http: { method: 'POST' } },
  { name: 'a POST with a quoted body', text: `${cron} method=POST body='{"a": 1}' ${url}`, http: { method: 'POST', body: '{"a": 1}' } },
  { name: 'an empty body', text: `${cron} method=PUT body= ${url}`, http: { method: 'PUT', body: '' } },
  { name: 'one header, blanks around the value dropped', text: `${cron} header="Authorization: Bearer k" ${url}`, http: { headers: [['Authorization', 'Bearer k']] } },
  {
    name: 'header= repeats, in order, a name twice kept twice',
    text: `${cron} header=Accept:text/plain header=X-A:1 header=X-A:2 ${url}`,
    http: { headers: [['Accept', 'text/plain'], ['X-A', '1'], ['X-A', '2']] },
  },
  { name: 'a header with an empty value', text: `${cron} header=X-Empty: ${url}`, http: { headers: [['X-Empty', '']] } },
  { name: 'a value with a colon', text: `${cron} header=X-Time:10:30 ${url}`, http: { headers: [['X-Time', '10:30']] } },
  { name: 'expect= one status', text: `${cron} expect=404 ${url}`, http: { expect: [404] } },
  { name: 'expect= a list, duplicates once', text: `${cron} expect=200,404,404,503 ${url}`, http: { expect: [200, 404, 503] } },
  { name: 'an @ in the path is no user', text: `${cron} https://api.example.com/users/@me?to=a@b`, http: { method: 'GET' } },
  { name: 'timeout= and name= apply', text: `${cron} name=health timeout=5s ${url}`, http: { method: 'GET' } },
];

describe('SPEC §11 HTTP task options', () => {
  it.each(valueRows)('$name', ({ text, http }) => {
    const task = taskOf(text);
    if (http === undefined) expect(task.options).not.toHaveProperty('http');
    else expect(task.options.http).toMatchObject(http as object);
  });

  it('a derived identity comes from the URL path', () => {
    expect(taskOf(`${cron} ${url}`).id).toMatch(/^health-[0-9a-f]{6}$/);
  });

  it('a reload sees the same request as unchanged, and a changed header, status or body as changed (SPEC §5)', () => {
    const line = (options: string) => taskOf(`${cron} name=h method=POST ${options} ${url}`);
    const same = 'body=a header=A:1 header=B:2 expect=404';
    expect(sameDefinition(line(same), line(same))).toBe(true);
    for (const other of ['body=b header=A:1 header=B:2 expect=404', 'body=a header=A:1 header=B:3 expect=404', 'body=a header=A:1 expect=404', 'body=a header=A:1 header=B:2 expect=410']) {
      expect(sameDefinition(line(same), line(other)), other).toBe(false);
    }
  });

  it('the URL is the command, kept as written', () => {
    expect(taskOf(`${cron} method=HEAD ${url}?a=1&b=2`).command).toBe(`${url}?a=1&b=2`);
  });
});

// file:line:column: the column at the value (an option's own error) or at the key (a conflict), the type or the URL.
const errorRows: { name: string; text: string; column: number; message: string }[] = [
  { name: 'method= on a shell command', text: `${cron} method=POST curl -X POST ${url}`, column: 22, message: 'method= is for HTTP tasks, whose command is an http:// or https:// URL; remove it' },
  { name: 'body= on a shell command', text: `${cron} body=x true`, column: 22, message: 'body= is for HTTP tasks' },
  { name: 'header= on a shell command', text: `${cron} name=a header=X:1 true`, column: 29, message: 'header= is for HTTP tasks' },
  { name: 'expect= on a shell command', text: `${cron} expect=404 true`, column: 22, message: 'expect= is for HTTP tasks' },
  { name: 'a daemon HTTP task', text: `* * * * * * * 1 daemon ${url}`, column: 17, message: 'an HTTP task is a cron task' },
  { name: 'user= on an HTTP task', text: `${cron} user=nobody ${url}`, column: 22, message: 'user= switches the user of a process: an HTTP task runs none; remove it' },
  { name: 'cwd= on an HTTP task', text: `${cron} timeout=5s cwd=/tmp ${url}`, column: 33, message: 'cwd= is the working directory of a process: an HTTP task runs none' },
  { name: 'a body on a GET', text: `${cron} body=x ${url}`, column: 22, message: 'a GET request has no body: write method=POST (or PUT, PATCH) with body=' },
  { name: 'a body on a HEAD', text: `${cron} method=HEAD body=x ${url}`, column: 34, message: 'a HEAD request has no body' },
  { name: 'a method that is not a word', text: `${cron} method=GET/1 ${url}`, column: 29, message: 'method "GET/1" is not an HTTP method: write e.g. method=POST' },
  { name: 'a method fetch refuses', text: `${cron} method=trace ${url}`, column: 29, message: 'method TRACE cannot be sent with fetch' },
  { name: 'method= twice', text: `${cron} method=GET method=POST ${url}`, column: 33, message: 'option method= is given twice: keep one' },
  { name: 'a header without a colon', text: `${cron} header=Accept ${url}`, column: 29, message: 'header "Accept" needs a name, a colon and a value, e.g. header="Authorization: Bearer KEY"' },
  { name: 'a header without a name', text: `${cron} header=:x ${url}`, column: 29, message: 'needs a name' },
  { name: 'a header name with a blank', text: `${cron} header="X A:1" ${url}`, column: 29, message: 'header name "X A" may not contain blanks or separators' },
  { name: 'a header gotorch sets', text: `${cron} header=x-gotorch-run-id:1 ${url}`, column: 29, message: 'header x-gotorch-run-id is set by gotorch on every request: remove it' },
  { name: 'a header fetch sets', text: `${cron} header=Content-Length:3 ${url}`, column: 29, message: 'header Content-Length is set (or refused) by fetch itself' },
  { name: 'a header value fetch cannot send', text: `${cron} header="X-A:\u03a9" ${url}`, column: 29, message: 'header X-A has a value fetch cannot send' },
  { name: 'expect= not a status', text: `${cron} expect=ok ${url}`, column: 29, message: 'expect "ok" is not a list of HTTP statuses: write statuses from 100 to 599, comma-separated, e.g. expect=404' },
  { name: 'expect= with blanks', text: `${cron} expect="200, 404" ${url}`, column: 29, message: 'is not a list of HTTP statuses' },
  { name: 'expect= out of range, at the status', text: `${cron} expect=200,600 ${url}`, column: 33, message: 'expect: 600 is not an HTTP status' },
  { name: 'a URL with a blank', text: `${cron} ${url} now`, column: 22, message: "an HTTP task's command is one URL: write a space as %20" },
  { name: 'a URL without a host', text: `${cron} http://`, column: 22, message: 'the URL "http://" is not a valid URL' },
  { name: 'a URL with a user alone', text: `${cron} http://me@api.example.com/`, column: 22, message: 'fetch does not send a user and password from the URL' },
  { name: 'a URL with credentials', text: `${cron} https://me:secret@api.example.com/`, column: 22, message: 'fetch does not send a user and password from the URL: write header="Authorization: Basic ..." instead' },
];

describe('SPEC §11 HTTP task errors', () => {
  it.each(errorRows)('$name', ({ text, column, message }) => {
    const { errors, entries } = parse(text);
    const hit = errors.find((error) => error.line === 1 && error.column === column);
    expect(hit, `errors were: ${JSON.stringify(errors)}`).toBeDefined();
    expect(hit?.message).toContain(message);
    expect(entries.filter((entry) => entry.kind === 'task')).toEqual([]);
  });

  it('grace= is a warning on an HTTP task, not an error', () => {
    const parsed = parse(`${cron} grace=5s ${url}`);
    expect(parsed.errors).toEqual([]);
    expect(parsed.warnings).toEqual([{ file: 'tasks.conf', line: 1, column: 22, message: expect.stringContaining('grace= has no effect on an HTTP task') }]);
  });

  it('a repeated header= is no error, every other repeated option still is', () => {
    expect(parse(`${cron} header=A:1 header=B:2 ${url}`).errors).toEqual([]);
    expect(parse(`${cron} expect=404 expect=500 ${url}`).errors.map((error) => error.message)).toEqual(['option expect= is given twice: keep one']);
  });
});
