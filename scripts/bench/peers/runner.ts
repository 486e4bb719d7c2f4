/**
 * The scheduler a Node user would write instead of gotorch: a cron library plus child_process.
 *
 *   node runner.js croner|node-cron <crontab>
 *
 * The crontab holds one `sec min hour dom mon dow command` line per job. Each fire runs
 * `/bin/bash -c command` through child_process.exec, with GOTORCH_SCHEDULED_AT set to the second the
 * library says it was due: the contract gotorch gives its jobs, so the bench times both with the same
 * job. Prints `ready` once every job is scheduled; runs until SIGTERM.
 */
import { exec } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Cron } from 'croner';
import cron from 'node-cron';

const [library, crontab] = process.argv.slice(2);
if ((library !== 'croner' && library !== 'node-cron') || crontab === undefined) {
  process.stderr.write('usage: runner.js croner|node-cron <crontab>\n');
  process.exit(2);
}

/** `exec` with a callback that logs the outcome: the usual Node idiom, output collected as gotorch does. */
function run(command: string, due: Date): void {
  const env = { ...process.env, GOTORCH_SCHEDULED_AT: String(Math.round(due.getTime() / 1000)) };
  exec(command, { shell: '/bin/bash', env }, (error) => {
    if (error !== null) process.stderr.write(`job failed: ${error.message}\n`);
  });
}

const stops: (() => void)[] = [];
for (const line of readFileSync(crontab, 'utf8').split('\n')) {
  const fields = line.trim().split(/\s+/);
  if (fields.length < 7) continue;
  const expression = fields.slice(0, 6).join(' ');
  const command = fields.slice(6).join(' ');
  if (library === 'croner') {
    const job: Cron = new Cron(expression, { timezone: 'UTC' }, () => run(command, job.currentRun() ?? new Date()));
    stops.push(() => job.stop());
  } else {
    const task = cron.schedule(expression, (context) => run(command, context.date), { timezone: 'UTC' });
    stops.push(() => void task.stop());
  }
}
process.stdout.write('ready\n');
// With nothing scheduled (the idle bench with 0 tasks) a library holds no timer: stay up like a daemon.
const keepAlive = setInterval(() => undefined, 2 ** 30);
process.on('SIGTERM', () => {
  for (const stop of stops) stop();
  clearInterval(keepAlive);
  process.exit(0);
});
