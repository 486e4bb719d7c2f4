/**
 * Running as root (SPEC §1.5 user=, §6 file safety): unsafe task files are refused, `user=` runs the job
 * as that user with its groups and HOME, and environment values never reach a log.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CLI, killAll, processesMentioning, waitFor } from '../helpers/processes.js';

const asRoot = process.getuid?.() === 0;
if (!asRoot) console.warn('\n!!! ROOT TESTS SKIPPED: not running as root (file ownership checks and user= need it) !!!\n');

const user = `gtu${process.pid % 100_000}`;
const group = `gtg${process.pid % 100_000}`;
let dir = '';

function gotorch(...args: string[]): { status: number | null; output: string } {
  const result = spawnSync(process.execPath, [CLI, '-c', path.join(dir, 'tasks.conf'), '--pidfile', path.join(dir, 'run', 'gotorch.pid'), '--log-dir', path.join(dir, 'log'), ...args], { encoding: 'utf8' });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

function writeTasks(text: string, mode = 0o644): void {
  writeFileSync(path.join(dir, 'tasks.conf'), text, { mode });
  chmodSync(path.join(dir, 'tasks.conf'), mode);
}

describe.skipIf(!asRoot)('as root', () => {
  beforeAll(() => {
    spawnSync('groupadd', [group]);
    const added = spawnSync('useradd', ['--create-home', '--groups', group, user], { encoding: 'utf8' });
    expect(added.status, added.stderr).toBe(0);
  });

  afterAll(() => {
    spawnSync('userdel', ['--remove', user]);
    spawnSync('groupdel', [group]);
  });

  afterEach(async () => {
    gotorch('stop');
    if (dir) await killAll(processesMentioning(dir));
  });

  it('refuses a world-writable task file, naming the file and its mode', () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'gotorch-root-'));
    writeTasks('* * * * * * * 1 cron true\n', 0o666);
    const started = gotorch('start');
    expect(started.status).toBe(1);
    expect(started.output).toContain(`${path.join(dir, 'tasks.conf')}: refused: mode 666 lets group or others write it; run: chmod go-w`);
    expect(existsSync(path.join(dir, 'run', 'gotorch.pid'))).toBe(false);
  });

  it('refuses an include not owned by root', () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'gotorch-root-'));
    writeTasks('include extra.conf\n');
    writeFileSync(path.join(dir, 'extra.conf'), '* * * * * * * 1 cron true\n', { mode: 0o644 });
    const uid = Number(spawnSync('id', ['-u', user], { encoding: 'utf8' }).stdout);
    chownSync(path.join(dir, 'extra.conf'), uid, uid);
    const checked = gotorch('check');
    expect(checked.status).toBe(1);
    expect(checked.output).toContain(`refused: owned by uid ${uid}, not root; run: chown root ${path.join(dir, 'extra.conf')}`);
  });

  it('user= runs the job with that uid, gid, supplementary groups, HOME, USER and LOGNAME; no env value reaches a log', async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'gotorch-root-'));
    chmodSync(dir, 0o755);
    const out = path.join(dir, 'out');
    mkdirSync(out, { mode: 0o777 });
    chmodSync(out, 0o777);
    const secret = `s3cret-${process.pid}-value`;
    writeTasks(
      [
        `API_TOKEN=${secret}`,
        `* * * * * * * 1 cron name=who user=${user} echo "$(id -u)|$(id -g)|$(id -Gn)|$HOME|$USER|$LOGNAME" > ${out}/who; test "$API_TOKEN" = "${secret}" && echo token-ok >> ${out}/who`,
        `* * * * * * * 1 cron name=broken cwd=${dir}/missing true`,
      ].join('\n') + '\n',
    );
    expect(gotorch('start').status).toBe(0);
    const who = await waitFor(() => (existsSync(path.join(out, 'who')) && readFileSync(path.join(out, 'who'), 'utf8').includes('token-ok') ? readFileSync(path.join(out, 'who'), 'utf8') : undefined), 10_000, 'the user= job');
    const [ids] = who.split('\n');
    const [uid, gid, groups, home, userName, logName] = ids.split('|');
    expect(uid).toBe(spawnSync('id', ['-u', user], { encoding: 'utf8' }).stdout.trim());
    expect(gid).toBe(spawnSync('id', ['-g', user], { encoding: 'utf8' }).stdout.trim());
    expect(groups.split(' ').sort()).toEqual([group, user].sort());
    expect([home, userName, logName]).toEqual([`/home/${user}`, user, user]);
    await waitFor(() => readFileSync(path.join(dir, 'log', 'runs.log'), 'utf8').includes('"task":"broken"'), 10_000, 'the failing run record');
    gotorch('stop');
    for (const file of readdirSync(path.join(dir, 'log'))) {
      expect(readFileSync(path.join(dir, 'log', file), 'utf8'), file).not.toContain(secret);
    }
  }, 30_000);
});
