import { describe, expect, it } from 'vitest';
import { linesBackward } from '../../src/history/reverse-lines.js';
import { taskBytes } from '../../src/history/run-log-records.js';
import { runOutput } from '../../src/history/run-output.js';
import { finishedLine, hookLine, outputLine, runId } from './run-log-fixtures.js';

const T = 1_796_000_000;

/** Lines as RunLog gives them (the newest first), and a count of those looked at. */
function newestFirst(lines: readonly string[], task: string): { lines: Iterable<Buffer>; looked: () => number } {
  const bytes = Buffer.from(lines.map((line) => `${line}\n`).join(''));
  let count = 0;
  const source = { size: bytes.length, read: (buffer: Buffer, length: number, position: number) => bytes.copy(buffer, 0, position, position + length) };
  return {
    lines: (function* () {
      for (const line of linesBackward(source, { containing: taskBytes(task), blockBytes: 256 })) {
        count++;
        yield line;
      }
    })(),
    looked: () => count,
  };
}

const shown = (output: ReturnType<typeof runOutput>) => output && { run: output.run, lines: output.lines.map((entry) => `${entry.stream}: ${entry.line}`), finished: output.finished?.exitCode };

// Two runs of `report` overlap (max=2); `other` runs between them.
const LOG = [
  outputLine('report', runId(T, 1), T * 1000 + 5, 'first run, line 1'),
  outputLine('other', runId(T, 2), T * 1000 + 6, 'not report'),
  outputLine('report', runId(T + 1, 3), (T + 1) * 1000 + 5, 'second run, line 1'),
  outputLine('report', runId(T, 1), (T + 1) * 1000 + 10, 'first run, line 2', 'stderr'),
  finishedLine('report', runId(T, 1), { scheduledAt: T, durationMs: 1500, exitCode: 2 }),
  outputLine('report', runId(T + 1, 3), (T + 2) * 1000, 'second run, line 2'),
  finishedLine('other', runId(T, 2), { scheduledAt: T, durationMs: 2500 }),
];

describe('logs: the output of a run (SPEC §7)', () => {
  it.each([
    { name: 'the latest run: the one the newest line names, still running', task: 'report', run: undefined, expected: { run: runId(T + 1, 3), lines: ['stdout: second run, line 1', 'stdout: second run, line 2'], finished: undefined } },
    { name: 'a run by id, with its record', task: 'report', run: runId(T, 1), expected: { run: runId(T, 1), lines: ['stdout: first run, line 1', 'stderr: first run, line 2'], finished: 2 } },
    { name: 'a finished run without lines of its own amid others', task: 'other', run: undefined, expected: { run: runId(T, 2), lines: ['stdout: not report'], finished: 0 } },
    { name: 'an unknown run id', task: 'report', run: runId(T + 5, 9), expected: undefined },
    { name: "another task's run id", task: 'report', run: runId(T, 2), expected: undefined },
    { name: 'a task that never ran', task: 'nosuch', run: undefined, expected: undefined },
  ])('$name', ({ task, run, expected }) => {
    expect(shown(runOutput(newestFirst(LOG, task).lines, task, run))).toEqual(expected);
  });

  it("a hook's record of an older run, logged last, does not make that run the latest; nor is it taken for a run's end", () => {
    const log = [...LOG, hookLine('report', runId(T + 1, 3), (T + 59) * 1000, 'ping', 'sent', 'start'), hookLine('report', runId(T, 1), (T + 60) * 1000, 'on_failure', 'sent')];
    expect(shown(runOutput(newestFirst(log, 'report').lines, 'report'))).toEqual({ run: runId(T + 1, 3), lines: ['stdout: second run, line 1', 'stdout: second run, line 2'], finished: undefined });
    expect(shown(runOutput(newestFirst(log, 'report').lines, 'report', runId(T, 1)))?.finished).toBe(2);
  });

  it('reads back to where the run began (and a minute of clock slack), not further', () => {
    const lines: string[] = [];
    for (let second = 0; second < 3000; second++) lines.push(outputLine('busy', runId(T + second, second), (T + second) * 1000 + 1, `tick ${second}`));
    lines.push(outputLine('report', runId(T + 2990, 9999), (T + 2990) * 1000 + 2, 'late'));
    for (let second = 3000; second < 3010; second++) lines.push(outputLine('busy', runId(T + second, second), (T + second) * 1000 + 1, `tick ${second}`));
    const log = newestFirst(lines, 'report');
    expect(shown(runOutput(log.lines, 'report'))?.lines).toEqual(['stdout: late']);
    // 256-byte blocks hold about two lines: 20 s and the 60 s slack are some 40 blocks.
    expect(log.looked()).toBeLessThan(80);
    const byId = newestFirst(lines, 'busy');
    expect(shown(runOutput(byId.lines, 'busy', runId(T + 2000, 2000)))?.lines).toEqual(['stdout: tick 2000']);
    expect(byId.looked()).toBeLessThan(1010 + 70);
  });
});
