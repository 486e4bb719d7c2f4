/**
 * Fault injection: the task file under a running daemon is deleted, replaced by a directory, by binary
 * garbage, by a 100 MB file (SPEC §5, §6). Each is rejected — by the watcher and by `gotorch reload` —
 * with an error naming the file and what is wrong; the old schedule keeps firing every second, with no
 * gap and no double; a good file put back is applied. The 100 MB file is refused by its size: the
 * daemon's RSS does not grow while it rejects it.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { sandboxes, type LogRecord, type Sandbox } from '../control/sandbox.js';
import { waitFor } from '../helpers/processes.js';
import { LONG } from './faults-support.js';

const sandbox = sandboxes();

const HUGE_BYTES = 100 * 1024 * 1024;
const REJECTED = 'task file rejected: the previous schedule keeps running';

interface Fault {
  readonly name: string;
  /** Puts the fault in place of the task file, as a deploy or an accident would. */
  readonly apply: (box: Sandbox) => void;
  /** What the error must say after the file's name. */
  readonly problem: RegExp;
}

/** Replaces the task file in one step (a temporary file renamed over it): the watcher never sees half of it. */
function replaceWith(box: Sandbox, content: Buffer): void {
  const temporary = `${box.conf}.new`;
  writeFileSync(temporary, content);
  renameSync(temporary, box.conf);
}

const faults: readonly Fault[] = [
  { name: 'deleted', apply: (box) => rmSync(box.conf), problem: /^: no such file/ },
  {
    name: 'replaced by a directory',
    apply: (box) => {
      rmSync(box.conf);
      mkdirSync(box.conf);
    },
    problem: /^: not a regular file/,
  },
  {
    name: 'replaced by binary garbage',
    apply: (box) => {
      const garbage = randomBytes(64 * 1024);
      garbage[100] = 0;
      replaceWith(box, garbage);
    },
    problem: /^:\d+:\d+: NUL byte/,
  },
  {
    name: 'replaced by a 100 MB file',
    // Valid lines all through: read and parsed, it would be accepted; only its size refuses it.
    apply: (box) => replaceWith(box, Buffer.alloc(HUGE_BYTES, '# a task file is never this long\n')),
    problem: /^: too large \(104857600 bytes; the limit is 16777216\)/,
  },
];

function rssBytes(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((entry) => entry.startsWith('VmRSS:'));
  return Number(line?.split(/\s+/)[1]) * 1024;
}

/** Puts a good file back where the fault is; `version` names a task that shows the file was applied. */
function restore(box: Sandbox, tick: string, version: number): void {
  try {
    rmdirSync(box.conf);
  } catch {
    // not a directory
  }
  replaceWith(box, Buffer.from(`${tick}\n0 0 0 1 1 * * 1 cron name=v${version} true\n`));
}

describe('a broken task file under a running daemon (SPEC §5)', () => {
  it('is rejected by the watcher and by reload, naming the file; the schedule ticks on; a good file is applied', async () => {
    const box = sandbox();
    const tick = `* * * * * * * 1 cron name=tick echo $GOTORCH_SCHEDULED_AT >> ${box.dir}/tick.out`;
    restore(box, tick, 0);
    const pid = await box.start();
    await box.watching();
    await waitFor(() => box.numbers('tick.out').length > 0, 5000, 'a first tick');

    const rounds = LONG ? 5 : 1;
    let version = 0;
    /** The most the daemon's RSS grew while rejecting each fault, over the rounds. */
    const rssGrowth = new Map<string, number>();
    for (let round = 0; round < rounds; round++) {
      for (const fault of faults) {
        const seen = box.daemonRecords().length;
        const baseline = rssBytes(pid);
        let peak = baseline;
        const sampler = setInterval(() => (peak = Math.max(peak, rssBytes(pid))), 10);
        try {
          fault.apply(box);
          const named = (error: string): boolean => error.startsWith(box.conf) && fault.problem.test(error.slice(box.conf.length));
          // The watcher: a rejection logged, naming the file and the problem.
          const logged = await waitFor(
            () => box.daemonRecords().slice(seen).find((record: LogRecord) => record.msg === REJECTED && record.trigger === 'file change' && (record.errors as string[]).some(named)),
            5000,
            `the watcher to reject the task file ${fault.name}`,
          );
          expect(logged.level).toBe(50);
          // `gotorch reload`: exit 1, the same error on stderr, and in status --json.
          const reload = await box.cli('reload');
          expect(reload.code, fault.name).toBe(1);
          expect(reload.stdout).toBe('');
          expect(reload.stderr.startsWith(`gotorch: ${box.conf} rejected; the previous schedule keeps running:\n`), reload.stderr).toBe(true);
          expect(reload.stderr.split('\n').some(named), reload.stderr).toBe(true);
          const status = await box.status();
          expect(status).toMatchObject({ pid, lastReload: { ok: false, trigger: 'reload command' } });
          expect(status.lastReload?.errors?.some(named), JSON.stringify(status.lastReload)).toBe(true);
          expect(status.tasks.map((task) => task.name)).toEqual(['tick', `v${version}`]);
        } finally {
          clearInterval(sampler);
        }
        rssGrowth.set(fault.name, Math.max(rssGrowth.get(fault.name) ?? 0, peak - baseline));
        if (fault.name.includes('100 MB')) expect(peak - baseline, 'RSS growth while rejecting the 100 MB file').toBeLessThan(20 * 1024 * 1024);

        // The old schedule still fires: a second after the rejection ticks.
        const after = Math.floor(Date.now() / 1000) + 1;
        await waitFor(() => box.numbers('tick.out').includes(after), 4000, `a tick after the rejection (${fault.name})`);

        restore(box, tick, ++version);
        // By the watcher alone: a task file that was briefly a folder must still be watched as a file.
        const applied = async (): Promise<boolean> => (await box.status()).tasks.some((task) => task.name === `v${version}`);
        await waitFor(applied, 5000, `the good file v${version} to be applied (after ${fault.name})`).catch((error: Error) => {
          const seen = box.daemonRecords().filter((record) => record.msg !== 'run finished');
          throw new Error(`${error.message}; gotorch.log:\n${seen.map((record) => JSON.stringify(record)).join('\n')}`);
        });
        expect((await box.status()).lastReload).toMatchObject({ ok: true, trigger: 'file change' });
      }
    }

    // Every second from the first tick to the last ran exactly once.
    const seconds = box.numbers('tick.out');
    const expected = Array.from({ length: seconds[seconds.length - 1] - seconds[0] + 1 }, (_, index) => seconds[0] + index);
    console.log(`broken task files: ${rounds * faults.length} faults rejected, ${seconds.length} ticks with no gap or double; daemon RSS growth while rejecting: ${[...rssGrowth].map(([name, bytes]) => `${name} +${(bytes / 1024 / 1024).toFixed(1)} MiB`).join(', ')}`);
    expect(seconds).toEqual(expected);
  }, (LONG ? 300 : 90) * 1000);
});
