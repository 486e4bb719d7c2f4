/**
 * SPEC §8: a command hook, `$SHELL -c command` with the document on stdin, in the task's cwd, as its
 * `user=`, in a process group of its own that is killed whole (SIGKILL) after the timeout. It runs
 * once: a command is not retried. Its output is kept as a bounded excerpt for the daemon's log, never
 * for the run log, and it is not counted against the task's `max`.
 */
import { signalProcessGroup, asUser } from '../supervisor/spawner.js';
import { resolveUser } from '../supervisor/user.js';
import type { Task } from '../tasks/types.js';
import { lastBytes } from './output-tail.js';

/** Bytes of a command hook's output (stdout and stderr as they came) kept for the daemon's log. */
export const COMMAND_OUTPUT_BYTES = 2048;

export interface CommandHook {
  readonly task: Task;
  readonly command: string;
  /** The document, JSON: its stdin. */
  readonly input: string;
  /** Complete: nothing is added to it. */
  readonly env: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  /** A stop that gave up waiting kills it. */
  readonly abort: AbortSignal;
}

export interface CommandOutcome {
  readonly ok: boolean;
  readonly exitCode: number | null;
  readonly ms: number;
  readonly error: string | null;
  readonly output: string;
}

export async function runCommandHook(hook: CommandHook): Promise<CommandOutcome> {
  const began = performance.now();
  const elapsed = (): number => Math.round(performance.now() - began);
  const { task } = hook;
  const ids = task.options.user === undefined ? undefined : resolveUser(task.options.user);
  if (ids !== undefined && !ids.ok) return { ok: false, exitCode: null, ms: elapsed(), error: ids.error, output: '' };
  const request = { shell: task.shell, command: hook.command };
  const [file, args, switchIds] = ids === undefined ? [task.shell, ['-c', hook.command], {}] : asUser(ids, request);
  // Loaded at the first hook, not with the daemon: most daemons run none (execa is ~120 modules).
  const { execa } = await import('execa');
  const child = execa(file, args, {
    input: hook.input,
    env: hook.env,
    extendEnv: false,
    cwd: task.options.cwd,
    detached: true,
    reject: false,
    buffer: false,
    all: true,
    ...switchIds,
  });
  let output = Buffer.alloc(0);
  child.all?.on('data', (chunk: Buffer) => {
    output = Buffer.concat([output, chunk]);
    if (output.length > 2 * COMMAND_OUTPUT_BYTES) output = output.subarray(-COMMAND_OUTPUT_BYTES);
  });
  let killedFor: string | undefined;
  const kill = (why: string): void => {
    killedFor ??= why;
    signalProcessGroup(child.pid, 'SIGKILL');
  };
  const timer = setTimeout(() => kill(`timed out after ${hook.timeoutMs / 1000}s: its process group was killed`), hook.timeoutMs);
  const onAbort = (): void => kill('killed: the daemon stopped before it ended');
  hook.abort.addEventListener('abort', onAbort, { once: true });
  try {
    const result = await child;
    const excerpt = lastBytes(output.toString('utf8'), COMMAND_OUTPUT_BYTES);
    const exitCode = result.exitCode ?? null;
    if (killedFor !== undefined) return { ok: false, exitCode, ms: elapsed(), error: killedFor, output: excerpt };
    if (exitCode === 0) return { ok: true, exitCode, ms: elapsed(), error: null, output: excerpt };
    // Never the message execa builds: it quotes the command, which may hold a token.
    const error = exitCode !== null ? `exit ${exitCode}` : result.signal !== undefined ? `signal ${result.signal}` : (result.originalMessage ?? 'could not start').split('\n')[0];
    return { ok: false, exitCode, ms: elapsed(), error, output: excerpt };
  } finally {
    clearTimeout(timer);
    hook.abort.removeEventListener('abort', onAbort);
  }
}
