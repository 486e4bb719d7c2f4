import { chmodSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { formatError } from '../../src/tasks/errors.js';
import { loadTasks, MAX_FILE_BYTES } from '../../src/tasks/load.js';

let dir = '';
const load = (file = 'tasks.conf', asRoot = false) => loadTasks(path.join(dir, file), { asRoot, zone: 'UTC' });
const write = (file: string, text: string) => {
  mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
  writeFileSync(path.join(dir, file), text);
};

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'gotorch-load-'));
});

describe('includes (SPEC §1.6)', () => {
  it('reads included files relative to the including file, in sorted order', async () => {
    write('tasks.conf', '* * * * * * * 1 cron name=top true\ninclude conf.d/*.conf\n* * * * * * * 1 cron name=bottom true');
    write('conf.d/b.conf', '* * * * * * * 1 cron name=b true');
    write('conf.d/a.conf', '* * * * * * * 1 cron name=a true\ninclude ../more/x.conf');
    write('more/x.conf', '* * * * * * * 1 cron name=x true');
    write('conf.d/.hidden.conf', '* * * * * * * 1 cron name=hidden true');
    const result = await load();
    expect(result.errors).toEqual([]);
    expect(result.tasks.map((task) => task.id)).toEqual(['top', 'a', 'x', 'b', 'bottom']);
    expect(result.files.map((file) => path.relative(dir, file))).toEqual(['tasks.conf', 'conf.d/a.conf', 'more/x.conf', 'conf.d/b.conf']);
    expect(result.tasks.find((task) => task.id === 'x')?.location).toEqual({ file: path.join(dir, 'conf.d/../more/x.conf'), line: 1, column: 1 });
  });

  it('gives an included file the environment in force at the include line; nothing leaks back', async () => {
    write('tasks.conf', 'A=1\ninclude inc.conf\n* * * * * * * 1 cron name=after env');
    write('inc.conf', 'B=2\nTZ=Europe/Berlin\n* * * * * * * 1 cron name=inside env');
    const { tasks, errors } = await load();
    expect(errors).toEqual([]);
    expect(tasks.find((task) => task.id === 'inside')).toMatchObject({ env: { A: '1', B: '2', TZ: 'Europe/Berlin' }, zone: 'Europe/Berlin' });
    expect(tasks.find((task) => task.id === 'after')).toMatchObject({ env: { A: '1' }, zone: 'UTC' });
  });

  it('gives an included file the ON_FAILURE=/PING= defaults in force (SPEC §8); a clearing inside does not leak back', async () => {
    write('tasks.conf', 'ON_FAILURE=/bin/page\nPING=https://hc.example/ping/KEY\ninclude inc.conf\n* * * * * * * 1 cron name=after true');
    write('inc.conf', '* * * * * * * 1 cron name=inside true\nON_FAILURE=\n* * * * * * * 1 cron name=cleared true');
    const { tasks, errors } = await load();
    expect(errors).toEqual([]);
    const options = Object.fromEntries(tasks.map((task) => [task.id, [task.options.onFailure, task.options.ping]]));
    const page = { kind: 'command', command: '/bin/page' };
    expect(options).toEqual({
      inside: [page, 'https://hc.example/ping/KEY/inside'],
      cleared: [undefined, 'https://hc.example/ping/KEY/cleared'],
      after: [page, 'https://hc.example/ping/KEY/after'],
    });
  });

  it('accepts a glob that matches nothing but not a missing literal include', async () => {
    write('tasks.conf', 'include none/*.conf\ninclude missing.conf');
    const { errors } = await load();
    expect(errors.map(formatError)).toEqual([`${path.join(dir, 'tasks.conf')}:2:9: no such file: check the path (-c/--tasks) (${path.join(dir, 'missing.conf')})`]);
  });

  it('a glob through folders skips a plain file and a folder without the file (no ENOTDIR)', async () => {
    write('tasks.conf', 'include conf.d/*/tasks.conf');
    write('conf.d/README', 'about these folders');
    write('conf.d/web/tasks.conf', '* * * * * * * 1 cron name=web true');
    mkdirSync(path.join(dir, 'conf.d/empty'));
    const result = await load();
    expect(result.errors).toEqual([]);
    expect(result.tasks.map((task) => task.id)).toEqual(['web']);
  });

  it('reports an include cycle at the include line', async () => {
    write('tasks.conf', 'include a.conf');
    write('a.conf', '\ninclude tasks.conf');
    const { errors } = await load();
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ file: path.join(dir, 'a.conf'), line: 2, column: 9 });
    expect(errors[0].message).toContain('include cycle');
  });

  it('follows a symlinked include but still sees the cycle through it', async () => {
    write('real/inc.conf', '* * * * * * * 1 cron name=linked true');
    symlinkSync(path.join(dir, 'real/inc.conf'), path.join(dir, 'link.conf'));
    write('tasks.conf', 'include link.conf');
    expect((await load()).tasks.map((task) => task.id)).toEqual(['linked']);
  });

  it('collects errors from every file at once, each with its own file name', async () => {
    write('tasks.conf', '61 * * * * * * 1 cron true\ninclude inc.conf');
    write('inc.conf', '* * * * * * * 1 crn true');
    const { errors, tasks } = await load();
    expect(errors.map((error) => `${path.basename(error.file)}:${error.line}:${error.column}`)).toEqual(['tasks.conf:1:1', 'inc.conf:1:17']);
    expect(tasks).toEqual([]);
  });
});

describe('identities (SPEC §1.7)', () => {
  it('rejects two tasks with one identity, naming both lines, across files', async () => {
    write('tasks.conf', '* * * * * * * 1 cron name=job true\ninclude inc.conf');
    write('inc.conf', '\n0 * * * * * * 1 cron name=job false');
    const { errors } = await load();
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ file: path.join(dir, 'inc.conf'), line: 2, column: 1 });
    expect(errors[0].message).toContain(`duplicate task identity "job" (also at ${path.join(dir, 'tasks.conf')}:1)`);
  });

  it('rejects two tasks with the same command and no name', async () => {
    write('tasks.conf', '* * * * * * * 1 cron /usr/bin/backup\n0 0 * * * * * 1 cron /usr/bin/backup');
    const { errors } = await load();
    expect(errors).toHaveLength(1);
    expect(errors[0].message).toMatch(/duplicate task identity "backup-[0-9a-f]{6}"/);
  });
});

describe('warnings', () => {
  it('carries the parser\'s and the host\'s warnings; they do not reject the file', async () => {
    write('tasks.conf', '* * * * * * * 1 cron name=late echo hi timeout=5s\ninclude inc.conf');
    write('inc.conf', '* * * * * * * 1 cron name=inside cwd=nowhere true');
    const { tasks, errors, warnings } = await load();
    expect(errors).toEqual([]);
    expect(tasks.map((task) => task.id)).toEqual(['late', 'inside']);
    expect(warnings.map(formatError)).toEqual([
      expect.stringMatching(/tasks\.conf:1:40: "timeout=5s" after the command is part of the command, not an option/),
      `${path.join(dir, 'inc.conf')}:1:1: cwd ${path.join(dir, 'nowhere')} does not exist on this host: every run would fail to start; create it or fix cwd=`,
    ]);
  });

  it('checks cwd, shell and user only for the tasks appliesHere accepts', async () => {
    write('tasks.conf', '* * * * * * * 1 cron name=here cwd=gone-here true\n* * * * * * * 1 cron name=elsewhere cwd=gone-elsewhere true');
    const result = await loadTasks(path.join(dir, 'tasks.conf'), { asRoot: false, zone: 'UTC', appliesHere: (task) => task.id === 'here' });
    expect(result.warnings.map((warning) => warning.message)).toEqual([expect.stringContaining('gone-here does not exist')]);
  });
});

describe('whole-file problems', () => {
  it('a missing file, a directory, an oversized file', async () => {
    expect((await load('nope.conf')).errors.map(formatError)).toEqual([`${path.join(dir, 'nope.conf')}: no such file: check the path (-c/--tasks)`]);
    mkdirSync(path.join(dir, 'adir'));
    expect((await load('adir')).errors[0].message).toContain('not a regular file');
    write('big.conf', '#'.repeat(MAX_FILE_BYTES + 1));
    expect((await load('big.conf')).errors[0].message).toContain('too large');
  });

  it('as root, refuses a file writable by group or others (SPEC §6)', async () => {
    write('tasks.conf', '* * * * * * * 1 cron true');
    chmodSync(path.join(dir, 'tasks.conf'), 0o666);
    const asRoot = await load('tasks.conf', true);
    if (process.getuid?.() === 0) {
      expect(asRoot.errors[0].message).toContain('mode 666 lets group or others write it; run: chmod go-w');
    } else {
      expect(asRoot.errors[0].message).toContain('not root; run: chown root');
    }
    chmodSync(path.join(dir, 'tasks.conf'), 0o644);
    expect((await load('tasks.conf', true)).errors).toEqual(process.getuid?.() === 0 ? [] : [expect.objectContaining({ line: 0 })]);
  });
});

describe('digest (SPEC §10 drift)', () => {
  it('one file set under two folders has one digest; another content, or an include renamed, another', async () => {
    const files = { 'tasks.conf': '* * * * * * * 1 cron name=top true\ninclude conf.d/*.conf', 'conf.d/a.conf': '* * * * * * * 1 cron name=a true' };
    const digestIn = async (set: Record<string, string>): Promise<string> => {
      dir = mkdtempSync(path.join(os.tmpdir(), 'gotorch-load-'));
      for (const [file, text] of Object.entries(set)) write(file, text);
      return (await load()).digest;
    };
    const first = await digestIn(files);
    expect(await digestIn(files)).toBe(first);
    expect(await digestIn({ ...files, 'conf.d/a.conf': '* * * * * * * 2 cron name=a true' })).not.toBe(first);
    expect(await digestIn({ 'tasks.conf': files['tasks.conf'], 'conf.d/b.conf': files['conf.d/a.conf'] })).not.toBe(first);
  });
});
