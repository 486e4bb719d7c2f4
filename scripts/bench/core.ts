/** In-process figures: compile throughput against cron-parser, and the planner's tick cost. */
import { performance } from 'node:perf_hooks';
import { CronExpressionParser } from 'cron-parser';
import { Planner } from '../../src/planner/planner.js';
import { parseTaskFile } from '../../src/tasks/task-file.js';
import type { Task } from '../../src/tasks/types.js';
import { round, summary } from './stats.js';
import { expressions, taskFile } from './workload.js';

const context = { env: {}, shell: '/bin/sh', zone: 'UTC', asRoot: false, baseDir: '/tmp' };

function parseTasks(text: string): Task[] {
  const parsed = parseTaskFile(text, 'bench.conf', context);
  if (parsed.errors.length > 0) throw new Error(`workload has errors: ${parsed.errors[0].message}`);
  return parsed.entries.flatMap((entry) => (entry.kind === 'task' ? [entry.task] : []));
}

function median(runs: number, measure: () => number): number {
  const values = Array.from({ length: runs }, measure).sort((a, b) => a - b);
  return values[Math.floor(values.length / 2)];
}

/** Task lines parsed and compiled per second, against cron-parser parsing the same expressions alone. */
export function compileThroughput(quick: boolean) {
  const lines = quick ? 50_000 : 200_000;
  const text = taskFile(lines);
  const ours = median(quick ? 3 : 5, () => {
    const start = performance.now();
    parseTaskFile(text, 'bench.conf', context);
    return performance.now() - start;
  });
  // cron-parser is about 15× slower: a quarter of the expressions keeps its share of the run short.
  const exprs = expressions(lines / 4);
  const theirs = median(3, () => {
    const start = performance.now();
    for (const expression of exprs) CronExpressionParser.parse(expression, { tz: 'UTC' });
    return performance.now() - start;
  });
  const linesPerSecond = Math.round(lines / (ours / 1000));
  const cronParserPerSecond = Math.round(exprs.length / (theirs / 1000));
  return { lines, gotorchLinesPerSecond: linesPerSecond, cronParserExpressions: exprs.length, cronParserExpressionsPerSecond: cronParserPerSecond, ratio: round(linesPerSecond / cronParserPerSecond, 1) };
}

/** Cost of one planner tick with N tasks loaded and none due (hour 3, ticking through 10:00-11:00 UTC). */
export function tickCost(count: number, seconds: number) {
  const lines = expressions(count).map((expression, index) => `${expression.split(' ').map((field, position) => (position === 2 ? '3' : field)).join(' ')} * 1 cron name=t${index} true`);
  const planner = new Planner(parseTasks(lines.join('\n')), Date.UTC(2026, 10, 20, 10, 0, 0) / 1000);
  const start = Date.UTC(2026, 10, 20, 10, 0, 0) / 1000;
  const costs: number[] = [];
  let fires = 0;
  for (let second = start + 1; second <= start + seconds; second++) {
    const begin = performance.now();
    fires += planner.advance(second).fires.length;
    costs.push(performance.now() - begin);
  }
  const { p50, p99, max, mean } = summary(costs);
  return { tasks: count, ticks: seconds, fires, meanMs: round(mean, 4), p50Ms: round(p50, 4), p99Ms: round(p99, 4), maxMs: round(max, 4) };
}
