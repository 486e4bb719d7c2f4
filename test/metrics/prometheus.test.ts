/**
 * A real Prometheus scrapes a running daemon every second (SPEC §9): `up` is 1, and once the tasks stop
 * firing (a reload keeps their names, so their counters too), `gotorch_runs_total` per task and result
 * equals what runs.log records.
 */
import path from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { waitFor } from '../helpers/processes.js';
import { sandboxes } from '../control/sandbox.js';
import { describeWithPrometheus, freePort, Prometheus, requirePrometheus } from './metrics-support.js';

const sandbox = sandboxes();

describeWithPrometheus('a real Prometheus scraping the daemon (SPEC §9)', () => {
  beforeAll(requirePrometheus);

  it('sees up == 1 and, for two tasks, the runs runs.log records', async () => {
    const box = sandbox();
    box.write(['* * * * * * * 1 cron name=passes true', '* * * * * * * 1 cron name=fails false']);
    const target = `127.0.0.1:${await freePort()}`;
    await box.start('--metrics', target);
    const prometheus = await Prometheus.start(path.join(box.dir, 'prometheus'), target);
    try {
      const value = async (expression: string): Promise<number | undefined> => (await prometheus.query(expression))[0]?.value;
      await waitFor(async () => (await value('up{job="gotorch"}')) === 1, 30_000, 'up{job="gotorch"} == 1').catch((error: Error) => {
        throw new Error(`${error.message}; prometheus said:\n${prometheus.log}`);
      });
      await box.waitForFinished('passes', 3, 10_000);
      await box.waitForFinished('fails', 3, 10_000);
      // Same names, a schedule that does not come this year: no more runs, and the series stay.
      box.saveAtomically(['0 0 0 1 1 * * 1 cron name=passes true', '0 0 0 1 1 * * 1 cron name=fails false']);
      expect((await box.cli('reload')).code).toBe(0);
      await waitFor(async () => (await box.status()).tasks.every((task) => task.running.length === 0), 5000, 'the last runs to end');
      const expected = [
        { task: 'passes', result: 'ok' },
        { task: 'fails', result: 'exit 1' },
      ];
      let seen = '';
      await waitFor(
        async () => {
          const scraped = await prometheus.query('gotorch_runs_total');
          const logged = expected.map(({ task }) => box.finishedRuns(task).length);
          const counted = expected.map(({ task, result }) => scraped.find(({ labels }) => labels.task === task && labels.result === result)?.value);
          seen = `runs.log ${JSON.stringify(logged)}, Prometheus ${JSON.stringify(counted)}`;
          return counted.every((count, index) => count === logged[index]);
        },
        15_000,
        'Prometheus to hold the counts of runs.log',
      ).catch((error: Error) => {
        throw new Error(`${error.message} (last seen: ${seen})`);
      });
      // Every run of a task has the one result: no other series of them.
      expect((await prometheus.query('sum by (task) (gotorch_runs_total)')).map(({ labels, value: count }) => [labels.task, count]).sort()).toEqual(
        expected.map(({ task }) => [task, box.finishedRuns(task).length]).sort(),
      );
      expect(await value('up{job="gotorch"}')).toBe(1);
      expect(await value('gotorch_tasks_applicable')).toBe(2);
    } finally {
      await prometheus.stop();
    }
  });
});
