/**
 * What the task file asks of the host that loads it: a working directory, a shell, a user. One that
 * is missing makes every run of the task fail to start, yet the file may be meant for other hosts
 * (README: choices), so each is a warning, never an error. Each distinct value is looked at once per
 * load, with async calls: a reload of 10,000 tasks with one cwd makes one stat, not 10,000.
 */
import { constants } from 'node:fs';
import { access, readFile, stat } from 'node:fs/promises';
import { resolveUser } from '../supervisor/user.js';
import type { TaskFileError } from './errors.js';
import type { Task } from './types.js';

/** The problem with one value on this host, phrased to follow its subject, or undefined. */
type Probe = (value: string) => Promise<string | undefined>;

interface HostRequirement {
  /** What the value is, for the message: `cwd /srv/app`. */
  readonly subject: (value: string) => string;
  readonly of: (task: Task) => string | undefined;
  readonly probe: Probe;
}

const errorCode = (error: unknown): string => (error as NodeJS.ErrnoException).code ?? String(error);

const directoryProblem: Probe = async (dir) => {
  const info = await stat(dir).catch((error: unknown) => errorCode(error));
  if (info === 'ENOENT' || info === 'ENOTDIR') return 'does not exist on this host: every run would fail to start; create it or fix cwd=';
  if (typeof info === 'string') return `cannot be reached on this host (${info}): every run would fail to start`;
  return info.isDirectory() ? undefined : 'is not a directory on this host: every run would fail to start; point cwd= at a directory';
};

const shellProblem: Probe = async (shell) => {
  const info = await stat(shell).catch((error: unknown) => errorCode(error));
  if (info === 'ENOENT' || info === 'ENOTDIR') {
    return 'does not exist on this host: every run would fail to start; install it, or set SHELL= (default /bin/sh) to an installed shell';
  }
  if (typeof info === 'string') return `cannot be reached on this host (${info}): every run would fail to start`;
  if (!info.isFile()) return 'is not a file on this host: set SHELL= to a shell such as /bin/sh';
  const executable = await access(shell, constants.X_OK).then(
    () => true,
    () => false,
  );
  return executable ? undefined : `is not executable on this host: every run would fail to start; run: chmod +x ${shell}`;
};

/** `user=` is looked up as the job's start will look it up; /etc/passwd is read once, and only if needed. */
function userProbe(): Probe {
  let passwd: Promise<string> | undefined;
  return async (user) => {
    passwd ??= readFile('/etc/passwd', 'utf8').catch(() => '');
    const ids = resolveUser(user, await passwd);
    return ids.ok ? undefined : 'is not in /etc/passwd on this host (and not a numeric uid): every run would fail to start; create the user or fix user=';
  };
}

function requirements(): readonly HostRequirement[] {
  return [
    { subject: (dir) => `cwd ${dir}`, of: (task) => task.options.cwd, probe: directoryProblem },
    { subject: (shell) => `shell ${shell}`, of: (task) => task.shell, probe: shellProblem },
    { subject: (user) => `user "${user}"`, of: (task) => task.options.user, probe: userProbe() },
  ];
}

/** One warning per problematic value, at the first task that uses it, counting the others. */
export async function hostWarnings(tasks: readonly Task[]): Promise<TaskFileError[]> {
  const checks: Promise<TaskFileError | undefined>[] = [];
  for (const requirement of requirements()) {
    const users = new Map<string, Task[]>();
    for (const task of tasks) {
      const value = requirement.of(task);
      if (value === undefined) continue;
      const list = users.get(value);
      if (list) list.push(task);
      else users.set(value, [task]);
    }
    for (const [value, using] of users) {
      checks.push(
        requirement.probe(value).then((problem) => {
          if (problem === undefined) return undefined;
          const others = using.length > 1 ? ` (of this task and ${using.length - 1} more)` : '';
          return { ...using[0].location, message: `${requirement.subject(value)}${others} ${problem}` };
        }),
      );
    }
  }
  return (await Promise.all(checks)).filter((warning): warning is TaskFileError => warning !== undefined);
}
