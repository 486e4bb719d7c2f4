/**
 * `gotorch history NAME --limit 20` on a large run log (issue 12 Figures: ≤ 200 ms on 1 GiB), with
 * `grep -c` over the same file beside it. The log is generated as a host writing 1 GiB of job output a
 * day would have it: 40 tasks each running once a minute with about 110 lines of output, and the task
 * asked about (`report`) running at every minute's first second, so it ran within the last hour.
 * Run alone: `npm run build && node dist/scripts/bench/history.js [--quick]`.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { historyLinesContaining, selectHistory } from '../../src/history/history-rows.js';
import { RunLog } from '../../src/history/run-log-files.js';
import { round, summary } from './stats.js';

const cli = path.resolve('dist/src/cli/main.js');
const MINUTE_BYTES = Math.round(2 ** 30 / 1440); // 1 GiB a day
const OTHER_TASKS = 40;
const TOKEN = '2e3ad148';

/** A value written into the minute's template: ms or s after the minute's start. */
interface Patch {
  readonly at: number;
  readonly digits: 10 | 13;
  readonly offset: number;
}

/** One minute of the run log with placeholder times, and where each time goes. */
function minuteTemplate(): { bytes: Buffer; patches: Patch[] } {
  const lines: { offsetMs: number; text: string }[] = [];
  const sec = 'S'.repeat(10);
  const ms = 'M'.repeat(13);
  const outputLine = (task: string, id: string, line: number, output: number): string =>
    `{"level":30,"time":${ms},"log":"run","task":"${task}","run":"${id}","stream":"stdout","line":"${task}: processed batch ${line} of ${output}, 1200 rows, checksum 9f8e7d6c5b4a"}`;
  const run = (task: string, counter: number, offsetMs: number, output: number, exitCode: number): void => {
    const id = `${sec}-${counter}-${TOKEN}`;
    for (let line = 0; line < output; line++) lines.push({ offsetMs: offsetMs + line, text: outputLine(task, id, line, output) });
    lines.push({
      offsetMs: offsetMs + output + 5,
      text: `{"level":${exitCode === 0 ? 30 : 40},"time":${ms},"log":"run","task":"${task}","run":"${id}","trigger":"schedule","attempt":1,"jobPid":4242,"scheduledAt":${sec},"startedAt":${ms},"lateMs":2,"durationMs":${output + 5},"exitCode":${exitCode},"signal":null,"timedOut":false,"killed":false,"bytesKept":${output * 80},"bytesDropped":0,"error":null,"msg":"run finished"}`,
    });
  };
  run('report', 1, 2, 5, 0);
  const perTask = Math.floor(MINUTE_BYTES / OTHER_TASKS / (outputLine('worker-10', `${sec}-10-${TOKEN}`, 10, 100).length + 1));
  for (let task = 0; task < OTHER_TASKS; task++) run(`worker-${task}`, task + 2, 1000 + task * 1400, perTask, task % 7 === 0 ? 1 : 0);
  lines.sort((a, b) => a.offsetMs - b.offsetMs);
  const patches: Patch[] = [];
  let length = 0;
  for (const { offsetMs, text: line } of lines) {
    for (const match of line.matchAll(/S{10}|M{13}/g)) {
      const at = length + match.index;
      // A line's `time` (its first field but `level`) is its own; `startedAt` and the seconds are the minute's start.
      const isTime = match.index < 30;
      patches.push({ at, digits: match[0].length as 10 | 13, offset: match[0].length === 13 ? (isTime ? offsetMs : 2) : 0 });
    }
    length += line.length + 1; // ASCII
  }
  return { bytes: Buffer.from(lines.map(({ text }) => `${text}\n`).join('')), patches };
}

function writeDigits(buffer: Buffer, at: number, digits: number, value: number): void {
  for (let index = at + digits - 1; index >= at; index--, value = Math.floor(value / 10)) buffer[index] = 0x30 + (value % 10);
}

/** A run log of about `bytes` whose last minute is the current one; returns the minutes written. */
export function generateRunLog(file: string, bytes: number, now = Date.now()): number {
  const { bytes: minute, patches } = minuteTemplate();
  const minutes = Math.max(1, Math.round(bytes / minute.length));
  const firstMinute = Math.floor(now / 60_000) - minutes + 1;
  const fd = openSync(file, 'w', 0o600);
  try {
    for (let index = 0; index < minutes; index++) {
      const startMs = (firstMinute + index) * 60_000;
      for (const patch of patches) writeDigits(minute, patch.at, patch.digits, patch.digits === 13 ? startMs + patch.offset : startMs / 1000 + patch.offset);
      writeSync(fd, minute);
    }
  } finally {
    closeSync(fd);
  }
  return minutes;
}

function timed(command: string, args: readonly string[]): { ms: number; stdout: string; status: number | null } {
  const begin = performance.now();
  const result = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
  return { ms: performance.now() - begin, stdout: result.stdout, status: result.status };
}

/** The command's wall time as an operator sees it (Node's start included), warm page cache. */
export function historyCost(quick: boolean) {
  const bytes = quick ? 64 * 2 ** 20 : 2 ** 30;
  const runs = quick ? 3 : 7;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gotorch-bench-history-'));
  const logDir = path.join(dir, 'log');
  mkdirSync(logDir, { mode: 0o700 });
  const file = path.join(logDir, 'runs.log');
  try {
    const began = performance.now();
    const minutes = generateRunLog(file, bytes);
    const generateMs = performance.now() - began;
    const history = (...args: string[]) => timed(process.execPath, [cli, '--log-dir', logDir, 'history', ...args]);
    const times: number[] = [];
    for (let index = 0; index < runs; index++) {
      const result = history('report', '--limit', '20', '--json');
      const rows = result.stdout.split('\n').filter(Boolean).length;
      if (result.status !== 0 || rows !== 20) throw new Error(`history printed ${rows} rows (exit ${result.status}), not 20`);
      times.push(result.ms);
    }
    // The same selection in this process: what the command costs beyond Node's start.
    const query = { task: 'report', limit: 20 };
    const inProcess = summary(
      Array.from({ length: runs }, () => {
        const begin = performance.now();
        const log = RunLog.open(logDir);
        selectHistory(log.linesNewestFirst(historyLinesContaining(query)), query);
        log.close();
        return performance.now() - begin;
      }),
    );
    const grep = summary(Array.from({ length: quick ? 1 : 3 }, () => timed('grep', ['-c', '"task":"report",', file]).ms));
    const start = summary(Array.from({ length: runs }, () => history('--help').ms));
    // What a name that never ran costs: the whole file is read.
    const fullScan = history('no-such-task');
    const { p50, max } = summary(times);
    return {
      fileMiB: round(bytes / 2 ** 20, 0),
      minutes,
      generateMs: round(generateMs, 0),
      runs,
      p50Ms: round(p50, 1),
      maxMs: round(max, 1),
      inProcessP50Ms: round(inProcess.p50, 1),
      nodeStartP50Ms: round(start.p50, 1),
      grepCountP50Ms: round(grep.p50, 1),
      fullScanMs: round(fullScan.ms, 0),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.stdout.write(JSON.stringify(historyCost(process.argv.includes('--quick')), null, 2) + '\n');
}
