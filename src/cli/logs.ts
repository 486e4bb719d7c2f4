/** `gotorch logs` (SPEC §7): a run's output lines from the run log; `--follow` goes on like `tail -F`. */
import path from 'node:path';
import { runtimePaths } from '../daemon/paths.js';
import { escapeControls, readableDuration } from '../daemon/terminal-format.js';
import { LogFollower, type FollowStart } from '../history/follow.js';
import { RUN_LOG_NAME, RunLog } from '../history/run-log-files.js';
import { parseEntry, runIdSecond, taskBytes, type OutputEntry, type RunFinishedEntry } from '../history/run-log-records.js';
import { runOutput } from '../history/run-output.js';
import { runResult } from '../supervisor/run-result.js';
import { formatLocalInstant } from './format.js';
import type { CommonOptions } from './main.js';

export interface LogsOptions {
  readonly run?: string;
  readonly follow?: boolean;
  readonly json?: boolean;
}

/**
 * Prints entries as they come. For people: a heading when a run's lines begin, a line per output line
 * (time, stream, the line with its control characters shown, not obeyed), and the run's result once
 * it finished. `--json`: the output lines, one object each.
 */
class OutputPrinter {
  private shownRun: string | undefined;

  constructor(private readonly json: boolean) {}

  print(entry: OutputEntry | RunFinishedEntry): void {
    if (this.json) {
      if (entry.kind === 'output') process.stdout.write(JSON.stringify({ time: entry.time, task: entry.task, run: entry.run, stream: entry.stream, line: entry.line }) + '\n');
      return;
    }
    const lines: string[] = [];
    if (entry.run !== this.shownRun) {
      const second = runIdSecond(entry.run);
      lines.push(`==> ${entry.task} run ${entry.run}${second === undefined ? '' : ` (scheduled ${formatLocalInstant(second * 1000)})`} <==`);
      this.shownRun = entry.run;
    }
    if (entry.kind === 'output') lines.push(`${formatLocalInstant(entry.time, true)} ${entry.stream.padEnd(6)} ${escapeControls(entry.line)}`);
    else lines.push(`==> ${entry.task} run ${entry.run}: ${runResult({ ...entry, killed: entry.killed ?? false })} after ${readableDuration(entry.durationMs)} <==`);
    process.stdout.write(lines.join('\n') + '\n');
  }
}

export async function logsCommand(common: CommonOptions, name: string, options: LogsOptions): Promise<number> {
  const log = RunLog.open(runtimePaths(common).logDir); // unreadable: main prints why, exit 1
  const output = runOutput(log.linesNewestFirst(taskBytes(name)), name, options.run);
  const printer = new OutputPrinter(options.json === true);
  for (const entry of output?.lines ?? []) printer.print(entry);
  if (output?.finished) printer.print(output.finished);
  if (output === undefined && options.run !== undefined) {
    log.close();
    process.stderr.write(`gotorch: no run ${options.run} of ${name} in ${log.dir}\n`);
    return 1;
  }
  if (output === undefined) process.stderr.write(`gotorch: no output of ${name} in ${log.dir}${options.follow ? '; waiting for it' : ''}\n`);
  // With --run, following ends with that run.
  if (!options.follow || (options.run !== undefined && output?.finished)) {
    log.close();
    return 0;
  }
  const current = log.current;
  log.close(current);
  await follow(path.join(log.dir, RUN_LOG_NAME), name, options.run, printer, current && { fd: current.fd, position: current.size });
  return 0;
}

/** Until Ctrl-C (SIGINT), SIGTERM, a reader that went away, or with `run` that run's end. */
function follow(file: string, task: string, run: string | undefined, printer: OutputPrinter, start: FollowStart | undefined): Promise<void> {
  const marker = taskBytes(task);
  return new Promise((resolve) => {
    const end = (): void => {
      follower.stop();
      process.off('SIGINT', end).off('SIGTERM', end);
      process.stdout.off('error', end);
      resolve();
    };
    const follower = new LogFollower(
      file,
      (line) => {
        if (!line.includes(marker)) return;
        const entry = parseEntry(line);
        if (entry === undefined || entry.kind === 'fire-skipped' || entry.kind === 'hook' || entry.task !== task || (run !== undefined && entry.run !== run)) return;
        printer.print(entry);
        if (run !== undefined && entry.kind === 'run-finished') end();
      },
      start,
    );
    process.once('SIGINT', end).once('SIGTERM', end);
    process.stdout.once('error', end);
    follower.start();
  });
}
