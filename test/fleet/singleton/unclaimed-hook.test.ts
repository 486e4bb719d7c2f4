/**
 * SPEC §10: a singleton fire not run because etcd was unavailable raises the failure hook, with flood
 * control as any failure (SPEC §8: one per task per minute, the rest counted into the next one).
 * The gate on the in-memory etcd, the real alerts subscriber, a real command hook.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Alerts } from '../../../src/alerts/alerts.js';
import type { HookDocument } from '../../../src/alerts/document.js';
import { RunEvents, type HookOutcome } from '../../../src/events.js';
import { writeDaemonLog } from '../../../src/daemon/daemon-log.js';
import { writeRunLog } from '../../../src/daemon/run-log.js';
import { SKIP_MESSAGES, SKIPPED_FIRE_MESSAGE } from '../../../src/daemon/skip-report.js';
import { FireGate } from '../../../src/fleet/singleton/gate.js';
import { FakeClock } from '../../helpers/fake-clock.js';
import { waitFor } from '../../helpers/processes.js';
import { captureLogger, makeTask, settle } from '../../supervisor/fakes.js';
import { FakeEtcd } from './fake-etcd.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('SPEC §10 an unclaimed singleton fire is a failure', () => {
  it('etcd down: the first skipped fire sends on_failure at once, later ones in the minute are counted into the next; the logs and history say it', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'gotorch-unclaimed-'));
    dirs.push(dir);
    const out = path.join(dir, 'hooks');
    const clock = new FakeClock(1_800_000_000_000);
    const etcd = new FakeEtcd(clock);
    const link = etcd.host('web-1');
    const events = new RunEvents();
    const outcomes: HookOutcome[] = [];
    events.on('hook-outcome', 'test', (outcome) => outcomes.push(outcome));
    const daemonLog = captureLogger();
    const runLog = captureLogger();
    writeDaemonLog(events, daemonLog.logger, clock);
    writeRunLog(events, runLog.logger, clock);
    const alerts = new Alerts({ events, clock, host: 'web-1', digest: () => 'd', baseEnv: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });
    const fired: number[] = [];
    const gate = new FireGate({ link: () => link, fire: (_task, second) => (fired.push(second), 'queued'), events, clock, log: captureLogger().logger, runId: (second) => `${second}-1-i` });
    const task = makeTask({ id: 'report' }, { singleton: true, onFailure: { kind: 'command', command: `cat >> ${out}; echo >> ${out}` } });

    etcd.failing = true;
    for (const second of [1_800_000_001, 1_800_000_002, 1_800_000_003]) gate.fire(task, second, 'schedule');
    await settle();
    // The second fire's failure is held, then replaced by the third's (a `suppressed` outcome at once): wait for the send.
    const sent = () => outcomes.filter((outcome) => outcome.result === 'sent').length;
    await waitFor(async () => (await events.drained(), sent() >= 1), 10_000, 'the first failure hook');
    const first = JSON.parse(readFileSync(out, 'utf8').trim()) as HookDocument;
    expect(first).toMatchObject({ event: 'failure', task: 'report', scheduledAt: 1_800_000_001, result: 'spawn error', error: 'singleton fire not claimed: etcd is unreachable', suppressed: 0 });
    expect(first.summary).toBe('report failed: could not start: singleton fire not claimed: etcd is unreachable');

    clock.advance(60_000);
    await waitFor(async () => (await events.drained(), sent() >= 2), 10_000, 'the held failure hook');
    const documents = readFileSync(out, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as HookDocument);
    expect(documents.map((doc) => [doc.scheduledAt, doc.suppressed])).toEqual([[1_800_000_001, 0], [1_800_000_003, 1]]);
    expect(fired).toEqual([]);
    // The daemon's log and the run log (history) say it, the first at once and the rest counted per minute.
    expect(daemonLog.records.find((record) => record.msg === SKIP_MESSAGES['fleet unavailable'])).toMatchObject({ task: 'report', scheduledAt: 1_800_000_001 });
    expect(runLog.records.filter((record) => record.msg === SKIPPED_FIRE_MESSAGE)).toMatchObject([
      { task: 'report', reason: 'fleet unavailable', scheduledAt: 1_800_000_001 },
      { task: 'report', reason: 'fleet unavailable', skipped: 2, seconds: [1_800_000_002, 1_800_000_003] },
    ]);
    await alerts.flush();
  });
});
