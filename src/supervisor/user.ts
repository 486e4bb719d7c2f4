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

/** SPEC §1.5 `user=`: the job sees the user's HOME, USER and LOGNAME (its own env lines still win). */
export function userEnvironment(user: string | undefined): Record<string, string> {
  if (user === undefined) return {};
  const ids = resolveUser(user);
  if (!ids.ok || ids.name === undefined) return {};
  return { HOME: ids.home ?? '/', USER: ids.name, LOGNAME: ids.name };
}

function readPasswd(): string {
  try {
    return readFileSync('/etc/passwd', 'utf8');
  } catch {
    return '';
  }
}
