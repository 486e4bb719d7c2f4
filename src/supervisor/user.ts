import { readFileSync } from 'node:fs';

export type UserIds = { ok: true; uid: number; gid: number } | { ok: false; error: string };

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
      return { ok: true, uid: Number(fields[2]), gid: Number(fields[3]) };
    }
  }
  if (numeric) return { ok: true, uid: Number(user), gid: Number(user) };
  return { ok: false, error: `unknown user "${user}": no such entry in /etc/passwd` };
}

function readPasswd(): string {
  try {
    return readFileSync('/etc/passwd', 'utf8');
  } catch {
    return '';
  }
}
