/** `gotorch reload`, `status`, `kill`, `run` (SPEC §4): questions for the running daemon's control socket. */
import { realpathSync } from 'node:fs';
import path from 'node:path';
import { runtimePaths } from '../daemon/paths.js';
import type { ControlRequest, ControlResponse } from '../daemon/control-server.js';
import type { ReloadResult, StatusReport } from '../daemon/status.js';
import { NotRunningError, request } from './control-client.js';
import type { CommonOptions } from './main.js';
import { formatStatus } from './status-format.js';

/** LSB init scripts: `status` exits 3 when the program is not running. */
export const STATUS_NOT_RUNNING = 3;

async function ask(common: CommonOptions, body: ControlRequest): Promise<ControlResponse | NotRunningError> {
  try {
    return await request(runtimePaths(common).socket, body);
  } catch (error) {
    if (error instanceof NotRunningError) return error;
    throw error;
  }
}

/** The running daemon's status: it names the task file it runs (SPEC §4) and where it serves metrics (SPEC §9). */
export async function daemonStatus(common: CommonOptions): Promise<StatusReport | NotRunningError> {
  const answer = await ask(common, { cmd: 'status' });
  if (answer instanceof NotRunningError) return answer;
  if (!answer.ok) throw new Error(answer.error);
  return answer.status as StatusReport;
}

function fail(reason: string, code = 1): number {
  process.stderr.write(`gotorch: ${reason}\n`);
  return code;
}

/** One file by two names (relative, through a symlink)? */
function sameFile(a: string, b: string): boolean {
  const real = (file: string): string => {
    try {
      return realpathSync(file);
    } catch {
      return path.resolve(file);
    }
  };
  return real(a) === real(b);
}

/** SPEC §4 reload: the daemon re-reads its own file, so messages name that one, not `./tasks.conf`. */
export async function reloadCommand(common: CommonOptions): Promise<number> {
  const status = await daemonStatus(common);
  if (status instanceof NotRunningError) return fail(status.message);
  const { file } = status;
  if (common.tasksGiven && !sameFile(common.tasks, file)) {
    return fail(`the daemon runs ${file}, not ${common.tasks}; reload applies the daemon's own file (to switch files: gotorch -c ${common.tasks} restart)`);
  }
  const answer = await ask(common, { cmd: 'reload' });
  if (answer instanceof NotRunningError) return fail(answer.message);
  const result = answer.reload as ReloadResult | undefined;
  if (answer.ok && result) {
    process.stdout.write(`${result.summary}\n`);
    return 0;
  }
  const errors = result?.errors ?? [String(answer.ok ? 'no answer' : answer.error)];
  return fail(`${file} rejected; the previous schedule keeps running:\n${errors.join('\n')}`);
}

export async function statusCommand(common: CommonOptions, options: { json?: boolean }): Promise<number> {
  const answer = await ask(common, { cmd: 'status' });
  if (answer instanceof NotRunningError || !answer.ok) {
    if (options.json) process.stdout.write(JSON.stringify({ running: false }) + '\n');
    else process.stdout.write('gotorch is not running\n');
    return STATUS_NOT_RUNNING;
  }
  const status = answer.status as StatusReport;
  process.stdout.write(options.json ? JSON.stringify({ running: true, ...status }, null, 2) + '\n' : formatStatus(status, Date.now()));
  return 0;
}

export async function taskCommand(common: CommonOptions, cmd: 'kill' | 'run', name: string): Promise<number> {
  const answer = await ask(common, { cmd, name });
  if (answer instanceof NotRunningError) return fail(answer.message);
  if (!answer.ok) return fail(answer.error);
  if (cmd === 'kill') process.stdout.write(`stopped ${String(answer.killed)} running instance(s) of ${name}\n`);
  else process.stdout.write(answer.waiting === true ? `${name} waits for a free slot (max, overlap=): it starts when one frees\n` : `started ${name}\n`);
  return 0;
}
