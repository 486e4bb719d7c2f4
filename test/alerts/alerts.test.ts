/**
 * The hooks and pings subscriber (src/alerts/alerts.ts) fed run events directly, sending to a real
 * local HTTP server and running real command hooks; a fake clock drives flood control's minute only.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Alerts, type AlertTiming } from '../../src/alerts/alerts.js';
import type { HookDocument } from '../../src/alerts/document.js';
import { runUuid } from '../../src/alerts/ping.js';
import { RunEvents, type HookOutcome } from '../../src/events.js';
import { procTable } from '../../src/supervisor/process-table.js';
import type { RunRecord, RunRole } from '../../src/supervisor/run.js';
import type { Task, TaskOptions } from '../../src/tasks/types.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { groupMembers, waitFor } from '../helpers/processes.js';
import { recordOf, SECOND, taskWith } from './fixtures.js';
import { hookServers, type HookServer } from './hook-server.js';

const server = hookServers();
const FAST: Partial<AlertTiming> = { timeoutMs: 1000, backoffMs: [50, 100], commandTimeoutMs: 5000 };
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
function tempDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gotorch-alerts-'));
  dirs.push(dir);
  return dir;
}

function harness(timing: Partial<AlertTiming> = {}) {
  const events = new RunEvents();
  const clock = new FakeClock();
  const outcomes: HookOutcome[] = [];
  events.on('hook-outcome', 'test', (outcome) => outcomes.push(outcome));
  const alerts = new Alerts({ events, clock, host: 'web-1', digest: () => 'digest-1', baseEnv: { PATH: process.env.PATH ?? '/usr/bin:/bin', FROM_DAEMON: 'yes' }, timing: { ...FAST, ...timing } });
  let counter = 0;
  return {
    events,
    clock,
    alerts,
    outcomes,
    /** Publishes a run's start (and returns its id); pid null: the spawn failed. */
    started(task: Task, fields: { pid?: number | null; attempt?: number; trigger?: 'schedule' | 'retry'; role?: RunRole; adopted?: boolean; scheduledAt?: number } = {}): string {
      const run = `${fields.scheduledAt ?? SECOND}-${++counter}-0463ee15`;
      const { pid = 4242, attempt = 1, trigger = 'schedule', role = task.type === 'daemon' ? 'daemon' : 'job', adopted = false, scheduledAt = SECOND } = fields;
      events.publish({ type: 'run-started', task, run, pid, role, trigger, attempt, scheduledAt, startedAt: scheduledAt * 1000 + 5, adopted });
      return run;
    },
    output(task: Task, run: string, ...lines: string[]): void {
      for (const line of lines) events.publish({ type: 'output', task, run, stream: 'stdout', line });
    },
    finished(task: Task, run: string, fields: Partial<RunRecord> = {}, retryInMs: number | null = null): RunRecord {
      const record = recordOf(task, { run, ...fields });
      events.publish({ type: 'run-finished', task, role: task.type === 'daemon' ? 'daemon' : 'job', record, retryInMs });
      return record;
    },
    /** Every outcome of `count` sends, once they are all in. */
    async settled(count: number): Promise<HookOutcome[]> {
      await waitFor(async () => {
        await events.drained();
        return outcomes.length >= count;
      }, 10_000, `${count} hook outcomes (got ${outcomes.length})`);
      return outcomes;
    },
  };
}

const url = (endpoint: HookServer, at: string) => ({ kind: 'url', url: endpoint.url(at) }) as const;
const job = (options: Partial<TaskOptions>, line = '* * * * * * * 2 cron name=backup /opt/backup') => taskWith(line, options);
const documentOf = (request: { body: string }): HookDocument => JSON.parse(request.body) as HookDocument;

describe('failure and success hooks', () => {
  it('a failed run: its document POSTed as JSON, with the output tail, host, digest and summary; the outcome published', async () => {
    const endpoint = await server();
    const h = harness();
    const task = job({ onFailure: url(endpoint, '/fail'), onSuccess: url(endpoint, '/ok') });
    const run = h.started(task);
    h.output(task, run, 'dumping', 'error: disk full');
    h.finished(task, run, { exitCode: 3 });
    const [request] = await endpoint.waitFor(1);
    expect(request).toMatchObject({ method: 'POST', url: '/fail', headers: { 'content-type': 'application/json', 'user-agent': 'gotorch' } });
    expect(documentOf(request)).toMatchObject({ event: 'failure', task: 'backup', host: 'web-1', run, scheduledAt: SECOND, exitCode: 3, result: 'exit 3', output: 'dumping\nerror: disk full\n', digest: 'digest-1', suppressed: 0, summary: 'backup failed: exit 3' });
    expect(await h.settled(1)).toMatchObject([{ type: 'hook-outcome', run, hook: 'on_failure', via: 'url', result: 'sent', status: 200, tries: 1, target: `http://127.0.0.1:${endpoint.port}` }]);
  });

  it.each<{ name: string; fields: Partial<RunRecord>; path: string | null }>([
    { name: 'ok: the success hook', fields: {}, path: '/ok' },
    { name: 'a signal: a failure', fields: { exitCode: null, signal: 'SIGKILL' }, path: '/fail' },
    { name: 'a timeout: a failure', fields: { exitCode: null, signal: 'SIGTERM', timedOut: true }, path: '/fail' },
    { name: 'killed on request: neither', fields: { exitCode: null, signal: 'SIGTERM', killed: true }, path: null },
    { name: 'replaced by overlap=replace: neither', fields: { exitCode: null, signal: 'SIGTERM', killed: true, replaced: true }, path: null },
    { name: 'an adopted run of unknown end: neither', fields: { exitCode: null, error: 'exit status unknown: adopted from a previous daemon' }, path: null },
  ])('$name', async ({ fields, path: expected }) => {
    const endpoint = await server();
    const h = harness();
    const task = job({ onFailure: url(endpoint, '/fail'), onSuccess: url(endpoint, '/ok') });
    const run = h.started(task);
    h.finished(task, run, fields);
    // A marker run afterwards: once its hook is in, the one before had its chance.
    const marker = job({ onSuccess: url(endpoint, '/marker') }, '* * * * * * * 1 cron name=marker true');
    h.finished(marker, h.started(marker));
    await endpoint.waitFor(1, '/marker');
    await h.settled(expected === null ? 1 : 2);
    expect(endpoint.received.filter((request) => request.url !== '/marker').map((request) => request.url)).toEqual(expected === null ? [] : [expected]);
  });

  it('a spawn error: a failure hook with the error, no start ping and a /fail ping', async () => {
    const endpoint = await server();
    const h = harness();
    const task = job({ onFailure: url(endpoint, '/fail'), ping: endpoint.url('/ping') });
    const run = h.started(task, { pid: null });
    h.finished(task, run, { jobPid: null, exitCode: null, error: 'cwd /srv/gone is not an existing directory' });
    await h.settled(2);
    expect(endpoint.received.map((request) => request.url).sort()).toEqual(['/fail', `/ping/fail?rid=${runUuid(run)}`]);
    expect(documentOf(endpoint.to('/fail')[0])).toMatchObject({ result: 'spawn error', error: 'cwd /srv/gone is not an existing directory', exitCode: null });
  });

  it('a daemon instance that exits unexpectedly is a failure (with its output); one stopped on purpose is not', async () => {
    const endpoint = await server();
    const h = harness();
    const task = taskWith('* * * * * * * 1 daemon name=queue node worker.js', { onFailure: url(endpoint, '/fail') });
    for (const expected of [true, false]) {
      const run = h.started(task);
      h.output(task, run, `instance ${expected ? 'stopped' : 'crashed'}`);
      const record = h.finished(task, run, { exitCode: expected ? 0 : 1, killed: expected });
      h.events.publish({ type: 'daemon-exited', task, record, expected, restartInMs: expected ? null : 1000 });
    }
    const [request] = await endpoint.waitFor(1);
    await h.settled(1);
    expect(endpoint.received).toHaveLength(1);
    expect(documentOf(request)).toMatchObject({ event: 'failure', type: 'daemon', task: 'queue', exitCode: 1, output: 'instance crashed\n', summary: 'queue (daemon) exited: exit 1' });
  });

  it('a failed attempt a retry follows: no failure hook and a /log ping; the failure hook comes after the last attempt', async () => {
    const endpoint = await server();
    const h = harness();
    const task = job({ onFailure: url(endpoint, '/fail'), ping: endpoint.url('/ping'), retries: 1 });
    const first = h.started(task);
    h.output(task, first, 'first try');
    h.finished(task, first, { exitCode: 2 }, 10_000);
    const second = h.started(task, { attempt: 2, trigger: 'retry' });
    h.output(task, second, 'second try');
    h.finished(task, second, { exitCode: 3, attempt: 2, trigger: 'retry' });
    await h.settled(5);
    const log = endpoint.to(`/ping/log?rid=${runUuid(first)}`);
    expect(log).toHaveLength(1);
    expect(log[0].body).toBe('gotorch: attempt 1 failed (exit 2); a retry follows\nfirst try\n');
    expect(endpoint.to(`/ping/3?rid=${runUuid(second)}`)).toMatchObject([{ body: 'second try\n' }]);
    const hooks = endpoint.to('/fail');
    expect(hooks).toHaveLength(1);
    expect(documentOf(hooks[0])).toMatchObject({ run: second, attempt: 2, attempts: 2, summary: 'backup failed: exit 3 (attempt 2 of 2)', output: 'second try\n' });
  });

  it('a retry that will not happen (retry-dropped): the attempt before it is the last, its failure hook and exit ping go out', async () => {
    const endpoint = await server();
    const h = harness();
    const task = job({ onFailure: url(endpoint, '/fail'), ping: endpoint.url('/ping'), retries: 3 });
    const run = h.started(task);
    h.output(task, run, 'tried once');
    const record = h.finished(task, run, { exitCode: 7 }, 10_000);
    h.events.publish({ type: 'retry-dropped', task, record, reason: 'shutting down' });
    await h.settled(4);
    expect(endpoint.to('/ping/').map((request) => request.url.split('?')[0]).sort()).toEqual(['/ping/7', '/ping/log', '/ping/start']);
    expect(documentOf(endpoint.to('/fail')[0])).toMatchObject({ run, exitCode: 7, output: 'tried once\n', summary: 'backup failed: exit 7 (attempt 1 of 4)' });
  });
});

describe('pings (healthchecks.io)', () => {
  it('two overlapping runs (max=2): start and end pair up by rid, a UUID per run; the URL\'s own query is kept', async () => {
    const endpoint = await server();
    // healthchecks is slow to answer the starts: each run's end still goes only after its start was answered.
    endpoint.answer((request) => (request.url.includes('/start?') ? { status: 200, afterMs: 300 } : 200));
    const h = harness();
    const task = job({ ping: endpoint.url('/ping/key/backup?create=1') });
    const a = h.started(task);
    const b = h.started(task);
    h.finished(task, b, { exitCode: 0 });
    h.finished(task, a, { exitCode: null, signal: 'SIGKILL' });
    await h.settled(4);
    const [ridA, ridB] = [runUuid(a), runUuid(b)];
    expect(ridA).toMatch(UUID);
    expect(ridB).toMatch(UUID);
    expect(ridA).not.toBe(ridB);
    expect(runUuid(a)).toBe(ridA); // stable
    expect(endpoint.received.map((request) => request.url).sort()).toEqual(
      [`/ping/key/backup/start?create=1&rid=${ridA}`, `/ping/key/backup/start?create=1&rid=${ridB}`, `/ping/key/backup/0?create=1&rid=${ridB}`, `/ping/key/backup/137?create=1&rid=${ridA}`].sort(),
    );
    // Each run's end reaches healthchecks after its start was answered.
    for (const rid of [ridA, ridB]) {
      const [start, end] = endpoint.received.filter((request) => request.url.endsWith(rid));
      expect(start.url).toContain('/start?');
      expect(end.at - start.at).toBeGreaterThanOrEqual(290);
    }
  });

  it.each<{ name: string; fields: Partial<RunRecord>; endpoint: string }>([
    { name: 'exit 0', fields: {}, endpoint: '0' },
    { name: 'exit 3', fields: { exitCode: 3 }, endpoint: '3' },
    { name: 'SIGTERM: 128 + 15', fields: { exitCode: null, signal: 'SIGTERM' }, endpoint: '143' },
    { name: 'a timeout: fail, whatever the killed job exited with', fields: { exitCode: 0, timedOut: true }, endpoint: 'fail' },
    { name: 'killed on request: log', fields: { exitCode: null, signal: 'SIGTERM', killed: true }, endpoint: 'log' },
    { name: 'replaced by overlap=replace: log', fields: { exitCode: null, signal: 'SIGTERM', killed: true, replaced: true }, endpoint: 'log' },
  ])('the end of a run: $name → /$endpoint', async ({ fields, endpoint: expected }) => {
    const endpoint = await server();
    const h = harness();
    const task = job({ ping: endpoint.url('/p') });
    const run = h.started(task);
    h.finished(task, run, fields);
    await h.settled(2);
    expect(endpoint.to(`/p/${expected}?rid=${runUuid(run)}`)).toHaveLength(1);
  });

  it('1 MB of output: the end ping\'s body is its last ≤ 10 kB', async () => {
    const endpoint = await server();
    const h = harness();
    const task = job({ ping: endpoint.url('/p') });
    const run = h.started(task);
    const lines = Array.from({ length: 10_000 }, (_, index) => `${String(index).padStart(5, '0')} ${'y'.repeat(94)}`);
    h.output(task, run, ...lines);
    h.finished(task, run, { exitCode: 1 });
    await h.settled(2);
    const [end] = endpoint.to('/p/1?');
    expect(Buffer.byteLength(end.body)).toBeLessThanOrEqual(10_000);
    expect(Buffer.byteLength(end.body)).toBeGreaterThan(9_800);
    const kept = end.body.trimEnd().split('\n');
    expect(kept).toEqual(lines.slice(-kept.length));
  });

  it('a daemon task: a start ping when an instance starts and its exit code when it exits', async () => {
    const endpoint = await server();
    const h = harness();
    const task = taskWith('* * * * * * * 1 daemon name=queue node worker.js', { ping: endpoint.url('/q') });
    const run = h.started(task);
    const record = h.finished(task, run, { exitCode: 1 });
    h.events.publish({ type: 'daemon-exited', task, record, expected: false, restartInMs: 1000 });
    await h.settled(2);
    expect(endpoint.received.map((request) => request.url)).toEqual([`/q/start?rid=${runUuid(run)}`, `/q/1?rid=${runUuid(run)}`]);
  });

  it('an adopted run: no start ping (its daemon sent it); its unknown end is a /log', async () => {
    const endpoint = await server();
    const h = harness();
    const task = job({ ping: endpoint.url('/p') });
    const run = h.started(task, { adopted: true });
    h.finished(task, run, { exitCode: null, error: 'exit status unknown: adopted from a previous daemon' });
    await h.settled(1);
    expect(endpoint.received.map((request) => request.url)).toEqual([`/p/log?rid=${runUuid(run)}`]);
  });
});

describe('flood control with real sends', () => {
  it('a failure every second for 3 minutes of fake time: at most 4 failure hooks, the last counting the suppressed; success hooks unlimited', async () => {
    const endpoint = await server();
    const h = harness();
    const task = job({ onFailure: url(endpoint, '/fail'), onSuccess: url(endpoint, '/ok') });
    for (let second = 0; second < 180; second++) {
      h.finished(task, h.started(task, { scheduledAt: SECOND + second }), { exitCode: 1, scheduledAt: SECOND + second });
      if (second % 60 === 30) h.finished(task, h.started(task, { scheduledAt: SECOND + second }), { scheduledAt: SECOND + second });
      await h.events.drained();
      h.clock.advance(1000);
    }
    h.clock.advance(60_000);
    const outcomes = await h.settled(180 + 3);
    const hooks = (await endpoint.waitFor(4, '/fail')).map(documentOf);
    expect(hooks.map((hook) => [hook.scheduledAt - SECOND, hook.suppressed])).toEqual([
      [0, 0],
      [59, 58],
      [119, 59],
      [179, 59],
    ]);
    expect(hooks[3].summary).toBe('backup failed: exit 1 — and 59 more failures');
    expect(endpoint.to('/ok')).toHaveLength(3);
    const failures = outcomes.filter((outcome) => outcome.hook === 'on_failure');
    expect(failures.filter((outcome) => outcome.result === 'suppressed')).toHaveLength(176);
    expect(failures.filter((outcome) => outcome.result === 'sent').map((outcome) => outcome.suppressed)).toEqual([0, 58, 59, 59]);
  });
});

describe('never blocking, never losing track', () => {
  it('past the bound of sends in flight a send is dropped (and says so); a stop waits up to its bound, then aborts the rest', async () => {
    const endpoint = await server();
    endpoint.answer('hang');
    const h = harness({ maxInFlight: 2, timeoutMs: 60_000, stopWaitMs: 300 });
    const task = job({ onFailure: url(endpoint, '/fail') });
    for (const name of ['a', 'b', 'c']) {
      const other = { ...task, id: name };
      h.finished(other, h.started(other), { exitCode: 1 });
    }
    await endpoint.waitFor(2);
    const [dropped] = await h.settled(1);
    expect(dropped).toMatchObject({ task: { id: 'c' }, result: 'dropped', tries: 0 });
    expect(dropped.error).toMatch(/^2 hooks and pings in flight: dropped \(1 since the daemon started\)$/);
    const began = Date.now();
    await h.alerts.flush();
    expect(Date.now() - began).toBeLessThan(5_000);
    const outcomes = await h.settled(3);
    expect(outcomes.slice(1).map((outcome) => [outcome.task.id, outcome.result, outcome.error])).toEqual(expect.arrayContaining([['a', 'failed', 'aborted'], ['b', 'failed', 'aborted']]));
  });

  it('a stop sends the failure flood control holds and waits for it', async () => {
    const endpoint = await server();
    endpoint.answer((request) => (request.url === '/fail' ? 200 : 200));
    const h = harness();
    const task = job({ onFailure: url(endpoint, '/fail') });
    for (let index = 0; index < 3; index++) h.finished(task, h.started(task), { exitCode: 1 });
    await h.events.drained();
    await h.alerts.flush();
    const hooks = endpoint.to('/fail').map(documentOf);
    expect(hooks.map((hook) => hook.suppressed)).toEqual([0, 1]);
  });
});

describe('command hooks', () => {
  it('runs $SHELL -c with the document on stdin and its fields as variables, in the task\'s cwd and environment', async () => {
    const dir = tempDir();
    const h = harness();
    const command = `cat > stdin.json; env > env.txt; pwd > pwd.txt; echo to-stdout; echo to-stderr >&2`;
    const task = taskWith(`* * * * * * * 1 cron name=backup cwd=${dir} /opt/backup`, { onFailure: { kind: 'command', command } });
    const withEnv = { ...task, env: { FROM_FILE: 'line' } };
    const run = h.started(withEnv);
    h.output(withEnv, run, 'job said this');
    h.finished(withEnv, run, { exitCode: 5 });
    const [outcome] = await h.settled(1);
    expect(outcome).toMatchObject({ hook: 'on_failure', via: 'command', result: 'sent', exitCode: 0, tries: 1, target: null, status: null });
    expect(outcome.output).toBe('to-stdout\nto-stderr\n');
    const document = JSON.parse(readFileSync(path.join(dir, 'stdin.json'), 'utf8')) as HookDocument;
    expect(document).toMatchObject({ event: 'failure', task: 'backup', run, exitCode: 5, output: 'job said this\n' });
    const env = Object.fromEntries(readFileSync(path.join(dir, 'env.txt'), 'utf8').trimEnd().split('\n').map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]));
    expect(env).toMatchObject({
      GOTORCH_EVENT: 'failure',
      GOTORCH_HOOK: 'on_failure',
      GOTORCH_TASK: 'backup',
      GOTORCH_HOST: 'web-1',
      GOTORCH_RUN_ID: run,
      GOTORCH_SCHEDULED_AT: String(SECOND),
      GOTORCH_ATTEMPT: '1',
      GOTORCH_EXIT_CODE: '5',
      GOTORCH_SIGNAL: '',
      GOTORCH_TIMED_OUT: 'false',
      GOTORCH_RESULT: 'exit 5',
      GOTORCH_DIGEST: 'digest-1',
      GOTORCH_SUPPRESSED: '0',
      FROM_DAEMON: 'yes',
      FROM_FILE: 'line',
    });
    expect(env).not.toHaveProperty('GOTORCH_OUTPUT');
    expect(readFileSync(path.join(dir, 'pwd.txt'), 'utf8').trim()).toBe(dir);
  });

  it('a command that fails is a failed outcome with its exit code; it is not run again', async () => {
    const dir = tempDir();
    const h = harness();
    const task = taskWith(`* * * * * * * 1 cron name=backup cwd=${dir} /opt/backup`, { onSuccess: { kind: 'command', command: 'echo ran >> count.txt; echo bad token >&2; exit 4' } });
    h.finished(task, h.started(task));
    const [outcome] = await h.settled(1);
    expect(outcome).toMatchObject({ hook: 'on_success', result: 'failed', exitCode: 4, tries: 1, error: 'exit 4', output: 'bad token\n' });
    expect(readFileSync(path.join(dir, 'count.txt'), 'utf8')).toBe('ran\n');
  });

  it('past its timeout the whole process group is killed', async () => {
    const dir = tempDir();
    const h = harness({ commandTimeoutMs: 500 });
    const task = taskWith(`* * * * * * * 1 cron name=backup cwd=${dir} /opt/backup`, { onFailure: { kind: 'command', command: 'echo $$ > pgid; sleep 30 & sleep 30' } });
    h.finished(task, h.started(task), { exitCode: 1 });
    const [outcome] = await h.settled(1);
    expect(outcome).toMatchObject({ result: 'failed', error: 'timed out after 0.5s: its process group was killed' });
    const pgid = Number(readFileSync(path.join(dir, 'pgid'), 'utf8'));
    await waitFor(() => groupMembers(pgid).length === 0, 5000, `process group ${pgid} to be gone`);
  });

  it('a hook process is never taken for the job it reports on: the process table leaves out what carries GOTORCH_HOOK', async () => {
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
    const job = spawn('sleep', ['30'], { env: { ...env, GOTORCH_RUN_ID: 'job-run-1' }, stdio: 'ignore' });
    const hook = spawn('sleep', ['30'], { env: { ...env, GOTORCH_RUN_ID: 'job-run-2', GOTORCH_HOOK: 'on_failure' }, stdio: 'ignore' });
    try {
      await waitFor(() => procTable.environ(hook.pid!, 'GOTORCH_HOOK') === 'on_failure' && procTable.environ(job.pid!, 'GOTORCH_RUN_ID') === 'job-run-1', 5000, 'both processes to exec');
      // A scan is reused for 20 ms: look until one taken after both started says so.
      await waitFor(() => procTable.byRun().get('job-run-1')?.includes(job.pid!), 5000, 'the job in the process table');
      expect(procTable.byRun().has('job-run-2')).toBe(false);
    } finally {
      job.kill('SIGKILL');
      hook.kill('SIGKILL');
    }
  });

  it('a missing cwd: a failed outcome that says why, never the command', async () => {
    const h = harness();
    const task = taskWith('* * * * * * * 1 cron name=backup cwd=/nonexistent/gotorch /opt/backup', { onFailure: { kind: 'command', command: 'curl -H "token: s3cret" x' } });
    h.finished(task, h.started(task), { exitCode: 1 });
    const [outcome] = await h.settled(1);
    expect(outcome).toMatchObject({ result: 'failed', exitCode: null });
    expect(outcome.error).toMatch(/cwd/);
    expect(outcome.error).not.toContain('s3cret');
  });
});
