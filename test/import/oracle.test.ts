/**
 * Imported crontab lines fire when cron-parser says the crontab lines fire (SPEC §11: "its fire times
 * equal the crontab's"). Seeded: IMPORT_ORACLE_SEED reproduces or varies a run. UTC, so no DST rules.
 */
import { CronExpressionParser } from 'cron-parser';
import { expect, it } from 'vitest';
import { parseCrontab } from '../../src/import/crontab.js';
import { importCrontabs } from '../../src/import/task-lines.js';
import { nextFires } from '../../src/schedule/next-fire.js';
import { Zone } from '../../src/schedule/zone.js';
import { parseTaskFile } from '../../src/tasks/task-file.js';
import { ExpressionGenerator, FIRES, oracleDayRuleDiffers, seededRandom } from '../schedule/oracle-support.js';

const SEED = Number(process.env.IMPORT_ORACLE_SEED ?? 20_261_201);
const LINES = 1500;
const WANTED = 1000;
const MACROS = ['@hourly', '@daily', '@midnight', '@weekly', '@monthly', '@yearly', '@annually'];

/** A crontab schedule: five fields as cron writes them (no `?`, no `a/n`), or now and then a macro. */
function crontabSchedule(generate: ExpressionGenerator): string {
  if (generate.random() < 0.05) return generate.pick(MACROS);
  return [1, 2, 3, 4, 5].map((field) => generate.field(field, false).replace('?', '*')).join(' ');
}

it(`imports ${LINES} generated crontab lines whose next ${FIRES} fires equal cron-parser's (seed ${SEED})`, { timeout: 120_000 }, () => {
  const generate = new ExpressionGenerator(seededRandom(SEED));
  const schedules = Array.from({ length: LINES }, () => crontabSchedule(generate));
  const crontab = schedules.map((schedule, index) => `${schedule} echo job-${index}`).join('\n');
  const result = importCrontabs([{ file: 'generated', host: '*', parsed: parseCrontab(crontab, 'generated', 'user') }], { max: 1 });
  expect(result.problems).toEqual([]);
  const parsed = parseTaskFile(result.text, 'imported', { env: {}, shell: '/bin/sh', zone: 'UTC', asRoot: false, baseDir: '/' });
  expect(parsed.errors).toEqual([]);
  const tasks = parsed.entries.flatMap((entry) => (entry.kind === 'task' ? [entry.task] : []));
  expect(tasks.map((task) => task.command)).toEqual(schedules.map((_, index) => `echo job-${index}`));

  const utc = Zone.for('UTC');
  const excluded: Record<string, number> = {};
  const failures: string[] = [];
  let compared = 0;
  tasks.forEach((task, index) => {
    const schedule = schedules[index];
    const fields = schedule.split(' ');
    if (task.schedule.kind === 'cron' && fields.length === 5 && oracleDayRuleDiffers(task.schedule, fields[2], fields[4], ['*'])) {
      const reason = 'day rule: cron-parser ORs a day field starting with * that is not exactly *';
      excluded[reason] = (excluded[reason] ?? 0) + 1;
      return;
    }
    const start = Math.floor(Date.UTC(2020, 0, 1) / 1000) + generate.int(0, 15 * 365) * 86_400 + generate.int(0, 86_399);
    let oracle: number[];
    try {
      // cron-parser knows @midnight as @daily only.
      const iterator = CronExpressionParser.parse(schedule === '@midnight' ? '@daily' : schedule, { currentDate: new Date(start * 1000), tz: 'UTC' });
      oracle = Array.from({ length: FIRES }, () => iterator.next().getTime() / 1000);
    } catch (error) {
      const { message } = error as Error;
      const reason = message.includes('duplicate values') ? 'cron-parser rejects overlapping list items' : message.includes('Invalid explicit day of month') ? 'cron-parser rejects a day that never occurs' : undefined;
      if (reason === undefined) throw error;
      excluded[reason] = (excluded[reason] ?? 0) + 1;
      return;
    }
    compared++;
    const ours = nextFires(task.schedule, utc, start, FIRES);
    if (failures.length < 5 && JSON.stringify(ours) !== JSON.stringify(oracle)) failures.push(`"${schedule}" after ${new Date(start * 1000).toISOString()}: ours ${ours.join(',')} oracle ${oracle.join(',')}`);
  });
  console.log(`import oracle (seed ${SEED}): compared ${compared}, excluded ${JSON.stringify(excluded)}`);
  expect(failures).toEqual([]);
  expect(compared).toBeGreaterThanOrEqual(WANTED);
});
