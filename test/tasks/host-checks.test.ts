import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { hostWarnings } from '../../src/tasks/host-checks.js';
import { parseTaskFile } from '../../src/tasks/task-file.js';
import type { Task } from '../../src/tasks/types.js';

let dir = '';

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'gotorch-host-checks-'));
  mkdirSync(path.join(dir, 'folder'));
  writeFileSync(path.join(dir, 'plain-file'), '');
  writeFileSync(path.join(dir, 'not-executable'), '#!/bin/sh\n');
  chmodSync(path.join(dir, 'not-executable'), 0o644);
});

/** Parses as a root daemon would (user= allowed); relative cwd= resolves against the temp folder. */
function tasksOf(text: string): Task[] {
  const parsed = parseTaskFile(text, 'tasks.conf', { env: {}, shell: '/bin/sh', zone: 'UTC', asRoot: true, baseDir: dir });
  expect(parsed.errors).toEqual([]);
  return parsed.entries.flatMap((entry) => (entry.kind === 'task' ? [entry.task] : []));
}

// Facts of the host that loads the file: each is a warning (README: choices), at the task's line.
const rows: { name: string; text: string; line?: number; message?: string }[] = [
  { name: 'cwd= is a plain file', text: '* * * * * * * 1 cron cwd=plain-file true', message: `cwd ${'<dir>'}/plain-file is not a directory on this host` },
  { name: 'cwd= does not exist', text: '* * * * * * * 1 cron cwd=missing true', message: 'cwd <dir>/missing does not exist on this host: every run would fail to start' },
  { name: 'cwd= under a plain file', text: '* * * * * * * 1 cron cwd=plain-file/sub true', message: 'cwd <dir>/plain-file/sub does not exist on this host' },
  { name: 'SHELL= that does not exist', text: 'SHELL=/nonexistent/zsh\n* * * * * * * 1 cron true', line: 2, message: 'shell /nonexistent/zsh does not exist on this host: every run would fail to start; install it, or set SHELL=' },
  { name: 'SHELL= that is not executable', text: 'SHELL=<dir>/not-executable\n* * * * * * * 1 cron true', line: 2, message: 'shell <dir>/not-executable is not executable on this host' },
  { name: 'SHELL= that is a folder', text: 'SHELL=<dir>/folder\n* * * * * * * 1 cron true', line: 2, message: 'shell <dir>/folder is not a file on this host' },
  { name: 'an unknown user=', text: '* * * * * * * 1 cron user=no_such_user_gotorch true', message: 'user "no_such_user_gotorch" is not in /etc/passwd on this host (and not a numeric uid)' },
  { name: 'one warning per value, counting the other tasks', text: '* * * * * * * 1 cron name=a cwd=missing true\n* * * * * * * 1 cron name=b cwd=missing true\n* * * * * * * 1 cron name=c cwd=missing true', message: 'cwd <dir>/missing (of this task and 2 more) does not exist' },
  // Rows that must not warn.
  { name: 'cwd= is a folder', text: '* * * * * * * 1 cron cwd=folder true' },
  { name: 'the default cwd and shell', text: '* * * * * * * 1 cron true' },
  { name: 'a user in /etc/passwd', text: '* * * * * * * 1 cron user=root true' },
  { name: 'a numeric uid', text: '* * * * * * * 1 cron user=4242 true' },
];

describe('host checks (cwd, shell, user on this host)', () => {
  it.each(rows)('$name', async ({ text, line = 1, message }) => {
    const warnings = await hostWarnings(tasksOf(text.replaceAll('<dir>', dir)));
    if (message === undefined) {
      expect(warnings).toEqual([]);
      return;
    }
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ file: 'tasks.conf', line, column: 1 });
    expect(warnings[0].message).toContain(message.replaceAll('<dir>', dir));
  });
});
