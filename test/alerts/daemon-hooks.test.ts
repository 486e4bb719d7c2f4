/**
 * SPEC §8 hooks and pings end to end: a real daemon (test/control/sandbox.ts) running real jobs, hooks
 * POSTed to a real HTTP server on a free loopback port, command hooks run for real. Conditions are
 * polled with deadlines, never slept for.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { HookDocument } from '../../src/alerts/document.js';
import { runUuid } from '../../src/alerts/ping.js';
import { loadTaskFile } from '../../src/tasks/load.js';
import { sandboxes, type LogRecord, type Sandbox } from '../control/sandbox.js';
import { waitFor } from '../helpers/processes.js';
import { hookServers, refusedUrl, type HookServer, type Received } from './hook-server.js';

const sandbox = sandboxes();
const server = hookServers();
const HOST = 'hooks-host';
/** A tick may be late on a loaded 2-core box; a hook that held the loop would make it seconds late. */
const TICK_LATE_BOUND_MS = 750;

const documentOf = (request: Received): HookDocument => JSON.parse(request.body) as HookDocument;

/** The first document `task` was POSTed with, once it is there. */
async function documentFor(endpoint: HookServer, prefix: string, task: string, timeoutMs = 15_000): Promise<HookDocument> {
  return waitFor(() => endpoint.to(prefix).map(documentOf).find((document) => document.task === task), timeoutMs, `a ${prefix} document for ${task} (got ${endpoint.received.map((request) => request.url).join(' ')})`);
}

function hookRecords(box: Sandbox, fields: LogRecord = {}): LogRecord[] {
  return box.daemonRecords().filter((record) => typeof record.hook === 'string' && Object.entries(fields).every(([key, value]) => record[key] === value));
}

async function started(box: Sandbox): Promise<void> {
  await box.start('--host-id', HOST);
}

const LONG = process.env.GOTORCH_LONG === '1';

describe('hooks against a real daemon (SPEC §8)', () => {
  // The issue's flood run in real time (3 minutes: GOTORCH_LONG=1); test/alerts/flood-control.test.ts runs it on the fake clock.
  it.runIf(LONG)('an every-second failure for 3 minutes sends at most 4 failure hooks, the last counting the suppressed ones', { timeout: 240_000 }, async () => {
    const endpoint = await server();
    const box = sandbox();
    box.write([`* * * * * * * 1 cron name=flood on_failure=${endpoint.url('/flood')} exit 1`]);
    await started(box);
    await endpoint.waitFor(1, '/flood');
    const began = Date.now();
    await waitFor(() => Date.now() - began >= 180_000, 200_000, 'three minutes of failures'); // the run is the condition: every second fails meanwhile
    const hooks = endpoint.to('/flood').map(documentOf);
    const failures = box.finishedRuns('flood').length;
    console.log(`flood: ${failures} failures in 3 min, ${hooks.length} failure hooks, suppressed ${hooks.map((hook) => hook.suppressed).join(' / ')}`);
    expect(hooks.length).toBeLessThanOrEqual(4);
    expect(hooks.at(-1)!.suppressed).toBeGreaterThan(50);
    expect(hooks.at(-1)!.summary).toMatch(/— and \d+ more failures$/);
    expect(failures).toBeGreaterThanOrEqual(170);
  });

  it('POSTs the failure document of an exit 3, a timeout, a spawn error and a daemon-task exit, and the success document', async () => {
    const endpoint = await server();
    const box = sandbox();
    const fail = endpoint.url('/fail');
    box.write([
      `* * * * * * * 1 cron name=exits on_failure=${fail} echo out; echo err >&2; exit 3`,
      `* * * * * * * 1 cron name=slow timeout=1s on_failure=${fail} echo napping; sleep 30`,
      `* * * * * * * 1 cron name=nowhere cwd=${box.dir}/missing on_failure=${fail} true`,
      `* * * * * * * 1 daemon name=crashy on_failure=${fail} echo crashing; exit 2`,
      `* * * * * * * 1 cron name=fine on_success=${endpoint.url('/ok')} echo fine`,
    ]);
    await started(box);
    const digest = (await loadTaskFile(box.conf)).digest;
    const exits = await documentFor(endpoint, '/fail', 'exits');
    expect(exits).toMatchObject({ event: 'failure', type: 'cron', host: HOST, exitCode: 3, signal: null, timedOut: false, result: 'exit 3', error: null, output: 'out\nerr\n', digest, suppressed: 0, attempt: 1, summary: 'exits failed: exit 3' });
    expect(exits.run).toMatch(new RegExp(`^${exits.scheduledAt}-`));
    expect(exits.endedAt).toBeGreaterThanOrEqual(exits.startedAt);
    const slow = await documentFor(endpoint, '/fail', 'slow');
    expect(slow).toMatchObject({ result: 'timeout', timedOut: true, output: 'napping\n', summary: 'slow failed: timed out after 1s' });
    const nowhere = await documentFor(endpoint, '/fail', 'nowhere');
    expect(nowhere).toMatchObject({ result: 'spawn error', exitCode: null, output: '' });
    expect(nowhere.error).toContain(`${box.dir}/missing`);
    const crashy = await documentFor(endpoint, '/fail', 'crashy');
    expect(crashy).toMatchObject({ type: 'daemon', exitCode: 2, output: 'crashing\n', summary: 'crashy (daemon) exited: exit 2' });
    expect(await documentFor(endpoint, '/ok', 'fine')).toMatchObject({ event: 'success', result: 'ok', output: 'fine\n', host: HOST, digest });
    // Every outcome is in the daemon's log (the URL's origin only) and, per run, in the run log.
    const sent = await waitFor(() => hookRecords(box, { task: 'exits', result: 'sent' })[0], 5000, 'the outcome in gotorch.log');
    expect(sent).toMatchObject({ msg: 'hook sent', run: exits.run, hook: 'on_failure', via: 'url', status: 200, tries: 1, target: `http://127.0.0.1:${endpoint.port}` });
    await waitFor(() => box.runRecords().some((record) => record.msg === 'hook' && record.run === exits.run && record.result === 'sent'), 5000, 'the hook record in runs.log');
    const history = await box.cli('history', '--json', 'exits');
    const rows = history.stdout.trimEnd().split('\n').map((line) => JSON.parse(line) as { run: string; hooks: unknown });
    expect(rows.find((row) => row.run === exits.run)?.hooks).toEqual([{ hook: 'on_failure', result: 'sent', ping: null }]);
  });

  it('a command hook gets the document on stdin and its fields as GOTORCH_* variables, in the task folder; its output goes to the daemon log only', async () => {
    const box = sandbox();
    box.write(['FROM_FILE=env-line', `* * * * * * * 1 cron name=cmdfail on_failure="cat > hook.json; env > hook.env; echo hook-said-this" echo job-output; exit 4`]);
    await started(box);
    const envFile = path.join(box.dir, 'hook.env');
    const outcome = await waitFor(() => hookRecords(box, { task: 'cmdfail', hook: 'on_failure' })[0], 15_000, 'the command hook outcome');
    expect(outcome).toMatchObject({ msg: 'hook sent', via: 'command', exitCode: 0, tries: 1, output: 'hook-said-this\n' });
    const document = JSON.parse(readFileSync(path.join(box.dir, 'hook.json'), 'utf8')) as HookDocument;
    expect(document).toMatchObject({ event: 'failure', task: 'cmdfail', host: HOST, exitCode: 4, output: 'job-output\n', run: outcome.run });
    const env = Object.fromEntries(readFileSync(envFile, 'utf8').trimEnd().split('\n').filter((line) => line.includes('=')).map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]));
    expect(env).toMatchObject({
      GOTORCH_HOOK: 'on_failure',
      GOTORCH_EVENT: 'failure',
      GOTORCH_TASK: 'cmdfail',
      GOTORCH_HOST: HOST,
      GOTORCH_RUN_ID: document.run,
      GOTORCH_SCHEDULED_AT: String(document.scheduledAt),
      GOTORCH_ATTEMPT: '1',
      GOTORCH_EXIT_CODE: '4',
      GOTORCH_RESULT: 'exit 4',
      GOTORCH_DIGEST: document.digest,
      GOTORCH_SUPPRESSED: '0',
      FROM_FILE: 'env-line',
    });
    // The hook's output is not job output: no run log line carries it.
    expect(box.runRecords().some((record) => String(record.line).includes('hook-said-this'))).toBe(false);
  });

  it('at most one failure hook a minute; a stop sends the held one with its count and waits for it', async () => {
    const endpoint = await server();
    const box = sandbox();
    box.write([`* * * * * * * 1 cron name=flaky on_failure=${endpoint.url('/fail')} exit 1`]);
    await started(box);
    const [first] = await endpoint.waitFor(1, '/fail');
    expect(documentOf(first).suppressed).toBe(0);
    await box.waitForFinished('flaky', 4, 15_000);
    expect(endpoint.to('/fail')).toHaveLength(1);
    expect((await box.cli('stop')).code).toBe(0);
    const hooks = endpoint.to('/fail').map(documentOf);
    expect(hooks).toHaveLength(2);
    const failures = box.finishedRuns('flaky').length;
    expect(hooks[1].suppressed).toBe(failures - 2);
    expect(hooks[1].summary).toMatch(new RegExp(`^flaky failed: exit 1 — and ${failures - 2} more failures?$`));
    // Each suppressed failure is on record in the run log; the daemon's log has the count in the hook sent.
    expect(box.runRecords().filter((record) => record.msg === 'hook' && record.task === 'flaky' && record.result === 'suppressed')).toHaveLength(failures - 2);
    expect(hookRecords(box, { task: 'flaky', result: 'suppressed' })).toEqual([]);
    expect(hookRecords(box, { task: 'flaky', result: 'sent' }).map((record) => record.suppressed)).toEqual([0, failures - 2]);
  });

  it('an endpoint that hangs, refuses or answers 500 delays no tick, and is tried as specified', { timeout: 90_000 }, async () => {
    const hanging = await server();
    hanging.answer('hang');
    const failing = await server();
    failing.answer(500);
    const refused = await refusedUrl('/refused');
    const box = sandbox();
    box.write([
      `* * * * * * * 1 cron name=tick echo $GOTORCH_SCHEDULED_AT >> ${box.dir}/tick.out`,
      `* * * * * * * 1 cron name=to-hang on_failure=${hanging.url('/hang')} exit 1`,
      `* * * * * * * 1 cron name=to-500 on_failure=${failing.url('/err')} exit 1`,
      `* * * * * * * 1 cron name=to-refused on_failure=${refused} exit 1`,
    ]);
    await started(box);
    let worstTick = 0;
    const watchTicks = async (): Promise<void> => {
      const ticks = (await box.status()) as unknown as { ticks: { maxMs: number } | null };
      worstTick = Math.max(worstTick, ticks.ticks?.maxMs ?? 0);
    };
    // 500: three tries (after 1 s, then 2 s), then failed; no more within the minute.
    const err = await waitFor(async () => {
      await watchTicks();
      return hookRecords(box, { task: 'to-500', result: 'failed' })[0];
    }, 20_000, 'the 500 hook to fail');
    expect(err).toMatchObject({ msg: 'hook failed', status: 500, tries: 3, error: 'HTTP 500' });
    expect(failing.to('/err')).toHaveLength(3);
    const refusedOutcome = await waitFor(() => hookRecords(box, { task: 'to-refused', result: 'failed' })[0], 20_000, 'the refused hook to fail');
    expect(refusedOutcome).toMatchObject({ tries: 3, error: 'fetch failed: ECONNREFUSED' });
    expect(refusedOutcome).not.toHaveProperty('status');
    // Hanging: 10 s a try, then 1 s and 2 s between: the third try comes some 23 s after the first.
    await waitFor(async () => {
      await watchTicks();
      return hanging.to('/hang').length >= 3;
    }, 45_000, 'three tries of the hanging hook');
    const hang = await waitFor(() => hookRecords(box, { task: 'to-hang', result: 'failed' })[0], 20_000, 'the hanging hook to fail');
    expect(hang).toMatchObject({ tries: 3, error: 'timed out' });
    expect(hanging.to('/hang')).toHaveLength(3);
    const [firstTry, , lastTry] = hanging.to('/hang').map((request) => request.at);
    expect(lastTry - firstTry).toBeGreaterThanOrEqual(22_500);
    await watchTicks();
    // Every second ran its tick: none was held up or lost while the hooks waited.
    const seconds = box.numbers('tick.out');
    expect(seconds.length).toBeGreaterThanOrEqual(25);
    expect(seconds.at(-1)! - seconds[0] + 1).toBe(seconds.length);
    console.log(`hooks hanging / answering 500 / refused: ${seconds.length} seconds ticked, none missed; worst tick lateness ${worstTick} ms; hanging hook's third try ${lastTry - firstTry} ms after its first`);
    expect(worstTick).toBeLessThan(TICK_LATE_BOUND_MS);
    // A stop sends the failures flood control holds: the hanging one holds the stop 10 s at most, then is aborted.
    const began = Date.now();
    expect((await box.cli('stop')).code).toBe(0);
    const stopMs = Date.now() - began;
    expect(stopMs).toBeGreaterThanOrEqual(9_500);
    expect(stopMs).toBeLessThan(25_000);
    console.log(`stop with a hanging failure hook held: ${stopMs} ms`);
    const atStop = hookRecords(box, { task: 'to-hang', result: 'failed' });
    expect(atStop).toHaveLength(2);
    // Its one try took the stop's 10 s (the try's own limit too): whichever ended it first, no second try followed.
    expect(atStop[1]).toMatchObject({ tries: 1 });
    expect(atStop[1].error).toMatch(/^(aborted|timed out; stopped before the next try)$/);
    expect(atStop[1].suppressed).toBeGreaterThan(0);
    expect(hookRecords(box, { task: 'to-500', result: 'failed' }).map((record) => record.tries)).toEqual([3, 3]);
  });

  it('retries: an attempt a retry follows pings /log and fires no hook; the last attempt, or the one whose retry `kill` cancelled, fires the failure hook', async () => {
    const endpoint = await server();
    const box = sandbox();
    const options = (name: string, delay: string) => `name=${name} retries=1 retry_delay=${delay} on_failure=${endpoint.url('/fail')} ping=${endpoint.url(`/ping/${name}`)}`;
    box.write([`0 0 0 1 1 * * 1 cron ${options('retried', '1s')} echo attempt $GOTORCH_ATTEMPT; exit 3`, `0 0 0 1 1 * * 1 cron ${options('cancelled', '10m')} echo only once; exit 5`]);
    await started(box);
    expect((await box.cli('run', 'retried')).code).toBe(0);
    const retried = await documentFor(endpoint, '/fail', 'retried');
    expect(retried).toMatchObject({ attempt: 2, attempts: 2, exitCode: 3, output: 'attempt 2\n', summary: 'retried failed: exit 3 (attempt 2 of 2)' });
    const [first, second] = await box.waitForFinished('retried', 2);
    const [firstRid, secondRid] = [runUuid(String(first.run)), runUuid(String(second.run))];
    await endpoint.waitFor(4, '/ping/retried');
    expect(endpoint.to('/ping/retried').map((request) => request.url)).toEqual([
      `/ping/retried/start?rid=${firstRid}`,
      `/ping/retried/log?rid=${firstRid}`,
      `/ping/retried/start?rid=${secondRid}`,
      `/ping/retried/3?rid=${secondRid}`,
    ]);
    expect(endpoint.to('/ping/retried/log')[0].body).toBe('gotorch: attempt 1 failed (exit 3); a retry follows\nattempt 1\n');
    expect(endpoint.to('/fail')).toHaveLength(1);

    expect((await box.cli('run', 'cancelled')).code).toBe(0);
    await box.waitForLog('run failed: attempt 2 of 2 in 600 s', { task: 'cancelled' }, 10_000);
    expect((await box.cli('kill', 'cancelled')).code).toBe(0);
    const cancelled = await documentFor(endpoint, '/fail', 'cancelled');
    expect(cancelled).toMatchObject({ attempt: 1, attempts: 2, exitCode: 5, output: 'only once\n' });
    const [only] = box.finishedRuns('cancelled');
    await endpoint.waitFor(3, '/ping/cancelled');
    expect(endpoint.to('/ping/cancelled').map((request) => request.url.split('?')[0])).toEqual(['/ping/cancelled/start', '/ping/cancelled/log', '/ping/cancelled/5']);
    expect(endpoint.to('/ping/cancelled/5')[0].url).toBe(`/ping/cancelled/5?rid=${runUuid(String(only.run))}`);
  });

  it('a fake healthchecks: start and end paths and rid pairing of overlapping runs (max=2), /fail for a timeout and a spawn error', async () => {
    const hc = await server();
    const box = sandbox();
    box.write([
      // Each run takes 1.5 s and one starts every second: two at a time. Odd seconds exit 1.
      `* * * * * * * 2 cron name=overlap ping=${hc.url('/ping/KEY/overlap')} sleep 1.5; exit $((GOTORCH_SCHEDULED_AT % 2))`,
      `* * * * * * * 1 cron name=late timeout=1s ping=${hc.url('/ping/KEY/late')} sleep 30`,
      `* * * * * * * 1 cron name=nowhere cwd=${box.dir}/missing ping=${hc.url('/ping/KEY/nowhere')} true`,
    ]);
    await started(box);
    const finished = await box.waitForFinished('overlap', 4, 15_000);
    await waitFor(() => box.finishedRuns('late').length >= 1 && box.finishedRuns('nowhere').length >= 1, 10_000, 'late and nowhere to finish');
    // The end pings go out after the run records are written: wait for every end of the runs seen.
    const runs = [...finished, ...box.finishedRuns('late'), ...box.finishedRuns('nowhere')];
    await waitFor(() => runs.every((run) => hc.received.some((request) => request.url.endsWith(`rid=${runUuid(String(run.run))}`) && !request.url.includes('/start?'))), 15_000, 'an end ping for every finished run');
    const overlapped = finished.some((a) => finished.some((b) => a !== b && (a.startedAt as number) < (b.startedAt as number) && (b.startedAt as number) < (a.startedAt as number) + (a.durationMs as number)));
    expect(overlapped).toBe(true);
    for (const run of finished) {
      const rid = runUuid(String(run.run));
      const pings = hc.received.filter((request) => request.url.endsWith(`?rid=${rid}`));
      expect(pings.map((request) => request.url)).toEqual([`/ping/KEY/overlap/start?rid=${rid}`, `/ping/KEY/overlap/${run.exitCode as number}?rid=${rid}`]);
    }
    const [late] = box.finishedRuns('late');
    const lateRid = runUuid(String(late.run));
    expect(hc.received.filter((request) => request.url.endsWith(lateRid)).map((request) => request.url)).toEqual([`/ping/KEY/late/start?rid=${lateRid}`, `/ping/KEY/late/fail?rid=${lateRid}`]);
    const [nowhere] = box.finishedRuns('nowhere');
    const nowhereRid = runUuid(String(nowhere.run));
    expect(hc.received.filter((request) => request.url.endsWith(nowhereRid)).map((request) => request.url)).toEqual([`/ping/KEY/nowhere/fail?rid=${nowhereRid}`]);
    expect(hookRecords(box, { task: 'overlap', hook: 'ping', result: 'sent' }).length).toBeGreaterThanOrEqual(8);
  });
});
