/**
 * SPEC §11 HTTP tasks end to end: the built daemon requests a real local server (node:http on a free
 * loopback port) with fetch. Headers and bodies as the server sees them, success by status and
 * expect=, timeout= aborting with no socket left open, redirects, a 100 MiB body cut at log_limit with
 * the daemon's memory flat, and max= holding requests in flight.
 */
import { existsSync, readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli, waitFor } from '../helpers/processes.js';
import { BIG_BYTES, closedPort, startTestServer, type TestServer } from './http-server.js';
import { sandboxes, type LogRecord, type Sandbox } from './sandbox.js';

const sandbox = sandboxes();
let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const MiB = 1024 * 1024;
/** Runs only by `gotorch run` (midnight of 1 January). */
const ON_DEMAND = '0 0 0 1 1 * * 1 cron';

async function serve(): Promise<TestServer> {
  server = await startTestServer();
  return server;
}

/** Starts a daemon on `lines`, runs `name` once and returns its run record. */
async function runOnce(box: Sandbox, name: string, timeoutMs = 10_000): Promise<LogRecord> {
  const before = box.finishedRuns(name).length;
  expect((await box.cli('run', name)).code).toBe(0);
  const records = await box.waitForFinished(name, before + 1, timeoutMs);
  return records[before];
}

function outputOf(box: Sandbox, run: unknown): string[] {
  return box.runRecords().filter((record) => record.run === run && 'line' in record).map((record) => String(record.line));
}

/** A process's resident set (`VmRSS`) or its peak (`VmHWM`), bytes. */
function memory(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(match?.[1]) * 1024;
}

describe('HTTP tasks against a daemon (SPEC §11)', () => {
  it('GET and POST: the server sees method, body, headers and the three X-Gotorch headers; status line and body are the output', async () => {
    const web = await serve();
    const box = sandbox();
    box.write([
      `${ON_DEMAND} name=get ${web.base}/echo`,
      `${ON_DEMAND} name=post method=post body='{"n": 1}' header="Content-Type: application/json" header=X-Extra:one header=X-Extra:two ${web.base}/echo`,
    ]);
    await box.start();
    const get = await runOnce(box, 'get');
    expect(get).toMatchObject({ exitCode: 0, httpStatus: 200, signal: null, timedOut: false, error: null, jobPid: null, bytesDropped: 0 });
    expect(outputOf(box, get.run)).toEqual(['HTTP 200 OK', 'hello', 'world']);
    const post = await runOnce(box, 'post');
    expect(post).toMatchObject({ exitCode: 0, httpStatus: 200 });
    const [first, second] = web.requests;
    expect(first).toMatchObject({ method: 'GET', url: '/echo', body: '' });
    expect(first.headers).toMatchObject({ 'x-gotorch-task': 'get', 'x-gotorch-run-id': get.run, 'x-gotorch-scheduled-at': String(get.scheduledAt) });
    expect(second).toMatchObject({ method: 'POST', url: '/echo', body: '{"n": 1}' });
    expect(second.headers).toMatchObject({ 'content-type': 'application/json', 'x-extra': 'one, two', 'x-gotorch-task': 'post', 'x-gotorch-run-id': post.run });
    const history = (await box.cli('history', 'get', '--json')).stdout.trim().split('\n').map((line) => JSON.parse(line) as { result: string });
    expect(history.map((row) => row.result)).toEqual(['ok']);
  });

  it('a 2xx is a success, a 404 a failure (exit 1), expect=404 a success; no response is an error', async () => {
    const web = await serve();
    const port = await closedPort();
    const box = sandbox();
    box.write([
      `${ON_DEMAND} name=missing ${web.base}/missing`,
      `${ON_DEMAND} name=gone expect=404 ${web.base}/missing`,
      `${ON_DEMAND} name=refused http://127.0.0.1:${port}/`,
    ]);
    await box.start();
    const missing = await runOnce(box, 'missing');
    expect(missing).toMatchObject({ exitCode: 1, httpStatus: 404, error: null });
    expect(outputOf(box, missing.run)).toEqual(['HTTP 404 Not Found', 'no such page']);
    expect(await runOnce(box, 'gone')).toMatchObject({ exitCode: 0, httpStatus: 404 });
    const refused = await runOnce(box, 'refused');
    expect(refused).toMatchObject({ exitCode: null, error: expect.stringMatching(/^request failed: .*ECONNREFUSED/) });
    expect(refused).not.toHaveProperty('httpStatus');
    const results = async (name: string) => (await box.cli('history', name, '--json')).stdout.trim().split('\n').map((line) => (JSON.parse(line) as { result: string }).result);
    expect(await results('missing')).toEqual(['exit 1']);
    expect(await results('gone')).toEqual(['ok']);
    expect(await results('refused')).toEqual(['spawn error']);
  });

  it('timeout= against a hanging server: the run ends timed out at its timeout, never in the state file, and no socket stays open', async () => {
    const web = await serve();
    const box = sandbox();
    box.write([`${ON_DEMAND} name=hang timeout=3s ${web.base}/hang`, `${ON_DEMAND} name=sleeper sleep 30`]);
    await box.start();
    expect((await box.cli('run', 'hang')).code).toBe(0);
    await waitFor(() => web.requests.length === 1, 10_000, 'the request to arrive');
    // The state file lists the jobs to re-adopt after a crash and is saved when they change: the process started
    // after the request makes a save with both running, and it has the process, not the request.
    expect((await box.cli('run', 'sleeper')).code).toBe(0);
    const saved = () => (existsSync(box.state) ? (JSON.parse(readFileSync(box.state, 'utf8')) as { jobs: { task: string }[] }).jobs.map((job) => job.task) : []);
    await waitFor(() => saved().length > 0, 10_000, 'a state save with the process running');
    expect(saved()).toEqual(['sleeper']);
    const task = await box.task('hang');
    expect(task?.type).toBe('http');
    expect(task?.running.map((run) => run.pid)).toEqual([null]);
    expect((await box.cli('status')).stdout).toMatch(/^hang\s+http\s.*\brequest\b/m);
    const [record] = await box.waitForFinished('hang', 1, 15_000);
    expect(record).toMatchObject({ timedOut: true, exitCode: null, error: 'request aborted' });
    expect(Number(record.durationMs)).toBeGreaterThanOrEqual(3000);
    expect(Number(record.durationMs)).toBeLessThan(10_000);
    // undici opens one idle connection after an abort (nodejs/undici#5845) and closes it at its 4 s keep-alive timeout.
    await waitFor(() => web.connections() === 0, 15_000, 'the server to see every connection closed');
    const history = (await box.cli('history', 'hang', '--json')).stdout.trim();
    expect((JSON.parse(history) as { result: string }).result).toBe('timeout');
  });

  it('redirects are followed up to 5 times; a sixth is a failure that says so', async () => {
    const web = await serve();
    const box = sandbox();
    box.write([`${ON_DEMAND} name=five ${web.base}/redirect/5`, `${ON_DEMAND} name=six ${web.base}/redirect/6`, `${ON_DEMAND} name=stay expect=302 ${web.base}/redirect/3`]);
    await box.start();
    const five = await runOnce(box, 'five');
    expect(five).toMatchObject({ exitCode: 0, httpStatus: 200 });
    expect(outputOf(box, five.run)).toEqual(['HTTP 200 OK', 'arrived']);
    expect(web.requests.map((request) => request.url)).toEqual(['/redirect/5', '/redirect/4', '/redirect/3', '/redirect/2', '/redirect/1', '/redirect/0']);
    const six = await runOnce(box, 'six');
    expect(six).toMatchObject({ exitCode: null, error: `more than 5 redirects (the last to ${web.base}/redirect/0)` });
    expect(web.requests.filter((request) => request.url === '/redirect/0')).toHaveLength(1);
    // A redirect status expect= lists is the answer, not followed.
    expect(await runOnce(box, 'stay')).toMatchObject({ exitCode: 0, httpStatus: 302 });
  });

  it('a 100 MiB body: the output keeps log_limit bytes, the rest is counted, not read, and the daemon memory stays flat', async () => {
    const web = await serve();
    const box = sandbox();
    box.write([`${ON_DEMAND} name=big log_limit=64k ${web.base}/big`, `${ON_DEMAND} name=warm ${web.base}/echo`]);
    const daemon = await box.start();
    const statusLine = 'HTTP 200 OK\n'.length;
    const bigRun = async (): Promise<void> => {
      const written = web.bigBytesWritten();
      const record = await runOnce(box, 'big', 30_000);
      expect(record).toMatchObject({ exitCode: 0, httpStatus: 200, bytesKept: 64 * 1024 });
      expect(Number(record.bytesKept) + Number(record.bytesDropped)).toBe(statusLine + BIG_BYTES);
      // The body past the limit is never read: the server could not write most of it.
      expect(web.bigBytesWritten() - written).toBeLessThan(BIG_BYTES / 2);
    };
    // A new daemon's first runs and commands grow its heap by 10-25 MiB (code loaded and compiled, undici's
    // at the first fetch), whatever the output: measured after two small requests and one big one.
    await runOnce(box, 'warm');
    await runOnce(box, 'warm');
    await bigRun();
    const [rssBefore, peakBefore] = [memory(daemon, 'VmRSS'), memory(daemon, 'VmHWM')];
    let sampled = rssBefore;
    const sampler = setInterval(() => (sampled = Math.max(sampled, memory(daemon, 'VmRSS'))), 10);
    await bigRun().finally(() => clearInterval(sampler));
    const peakAfter = memory(daemon, 'VmHWM');
    console.log(`100 MiB body: RSS before ${(rssBefore / MiB).toFixed(1)} MiB, sampled peak +${((sampled - rssBefore) / MiB).toFixed(1)} MiB, VmHWM +${((peakAfter - peakBefore) / MiB).toFixed(1)} MiB`);
    expect(sampled - rssBefore).toBeLessThan(20 * MiB);
    expect(peakAfter - peakBefore).toBeLessThan(20 * MiB);
    await waitFor(() => web.connections() === 0, 15_000, 'the big response\'s connection to close');
  });

  it('max=1 holds requests in flight: an every-second task on a 2.5 s server never has two at once', async () => {
    const web = await serve();
    const box = sandbox();
    box.write([`* * * * * * * 1 cron name=slow ${web.base}/slow`]);
    await box.start();
    await box.waitForFinished('slow', 3, 30_000);
    expect(web.mostInFlight()).toBe(1);
    const skips = box.runRecords().filter((record) => record.task === 'slow' && record.reason === 'max');
    expect(skips.length).toBeGreaterThan(0);
    for (const record of box.finishedRuns('slow')) expect(record).toMatchObject({ exitCode: 0, httpStatus: 200 });
  });

  it('retries and hooks consume the record: a 404 is retried, then the failure hook gets the status line in its output', async () => {
    const web = await serve();
    const box = sandbox();
    box.write([`${ON_DEMAND} name=flaky retries=1 retry_delay=1s on_failure="cat > hook.json" ${web.base}/missing`]);
    await box.start();
    expect((await box.cli('run', 'flaky')).code).toBe(0);
    const records = await box.waitForFinished('flaky', 2, 15_000);
    expect(records.map((record) => [record.attempt, record.exitCode, record.httpStatus])).toEqual([
      [1, 1, 404],
      [2, 1, 404],
    ]);
    expect(web.requests.map((request) => request.headers['x-gotorch-run-id'])).toEqual(records.map((record) => record.run));
    const hookFile = `${box.dir}/hook.json`;
    const document = await waitFor(() => {
      try {
        return JSON.parse(readFileSync(hookFile, 'utf8')) as { event: string; attempt: number; exitCode: number; output: string };
      } catch {
        return undefined;
      }
    }, 15_000, 'the failure hook to write its document');
    expect(document).toMatchObject({ event: 'failure', attempt: 2, exitCode: 1, output: 'HTTP 404 Not Found\nno such page\n' });
  });

  it('check shows an HTTP task as http, in the table and in --json', async () => {
    const box = sandbox();
    box.write([`${ON_DEMAND} name=probe method=HEAD https://example.com/health`, `${ON_DEMAND} name=shell true`]);
    const table = runCli([...box.globalArgs, 'check']);
    expect(await table.exited).toBe(0);
    expect(table.output()).toMatch(/^probe\s+http\s+1\s/m);
    expect(table.output()).toMatch(/^shell\s+cron\s+1\s/m);
    const json = runCli([...box.globalArgs, 'check', '--json']);
    expect(await json.exited).toBe(0);
    const tasks = (JSON.parse(json.output()) as { tasks: { name: string; type: string }[] }).tasks;
    expect(tasks.map((task) => [task.name, task.type])).toEqual([
      ['probe', 'http'],
      ['shell', 'cron'],
    ]);
  });
});
