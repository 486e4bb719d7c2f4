import { readFileSync } from 'node:fs';

export type UserIds = { ok: true; uid: number; gid: number; name?: string; home?: string } | { ok: false; error: string };

/**
 * SPEC §1.5 `user=`: a name or a numeric uid, looked up in /etc/passwd (read only for tasks that set
 * `user=`, small, and read at spawn time so account changes apply without a reload).
 */
export function resolveUser(user: string, passwd: string = readPasswd()): UserIds {
  const numeric = /^\d+$/.test(user);
  for (const line of passwd.split('\n')) {
    const fields = line.split(':');
    if (fields.length < 4) continue;
    if (numeric ? fields[2] === user : fields[0] === user) {
      return { ok: true, uid: Number(fields[2]), gid: Number(fields[3]), name: fields[0], home: fields[5] };
    }
  }
  if (numeric) return { ok: true, uid: Number(user), gid: Number(user) };
  return { ok: false, error: `unknown user "${user}": no such entry in /etc/passwd` };
}

/** The PATH a job that switches user starts with (cron's, with /usr/local/bin first as Debian's login PATH). */
export const USER_JOB_PATH = '/usr/local/bin:/usr/bin:/bin';

/**
 * SPEC §1.5 `user=`: a job that switches user starts from a clean environment, as cron and sudo do —
 * none of the daemon's (root's) variables reach it: HOME, USER and LOGNAME from /etc/passwd (a numeric
 * uid without an entry: HOME=/ only), SHELL (the shell that runs the command), a default PATH, and
 * LANG when the daemon has one. The task file's env lines are laid over this by the caller.
 */
export function switchedUserEnvironment(user: string, shell: string, daemonEnv: Readonly<Record<string, string>>): Record<string, string> {
  const env: Record<string, string> = { HOME: '/', SHELL: shell, PATH: USER_JOB_PATH };
  const ids = resolveUser(user);
  if (ids.ok && ids.name !== undefined) Object.assign(env, { HOME: ids.home || '/', USER: ids.name, LOGNAME: ids.name });
  if (daemonEnv.LANG !== undefined) env.LANG = daemonEnv.LANG;
  return env;
}

function readPasswd(): string {
  try {
    return readFileSync('/etc/passwd', 'utf8');
  } catch {
    return '';
  }
}
