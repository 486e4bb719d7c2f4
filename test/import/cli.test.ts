import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CLI, runCli } from '../helpers/processes.js';

let dir = '';
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'gotorch-import-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function gotorch(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const run = runCli(args);
  const code = await run.closed;
  return { code, stdout: run.stdout(), stderr: run.stderr() };
}

function write(name: string, lines: readonly string[]): string {
  const file = path.join(dir, name);
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

/** `gotorch check` on `text` (as another host when given): exit 0 and its summary line. */
async function checked(text: string, host?: string): Promise<string> {
  const conf = path.join(dir, `check-${host ?? 'any'}.conf`);
  writeFileSync(conf, text);
  const result = await gotorch('check', '-c', conf, ...(host ? ['--host-id', host] : []));
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return result.stdout.split('\n')[0];
}

describe('gotorch import (SPEC §11)', () => {
  it('merges three hosts: equal lines become one task listing their hosts; the output passes check', async () => {
    const web1 = write('crontab.web1', ['MAILTO=ops@example.com', 'PATH=/usr/bin:/bin', '*/5 * * * * /usr/bin/check-disk', '30 2 * * * /opt/backup.sh', '@reboot /opt/warm']);
    const web2 = write('crontab.web2', ['PATH=/usr/bin:/bin', '*/5 * * * * /usr/bin/check-disk', '30 2 * * * /opt/backup.sh', '0 * * * * mail -s report root%all fine']);
    const web3 = write('crontab.web3', ['PATH=/usr/bin:/bin', '# the disks are slower here', '*/5 * * * * /usr/bin/check-disk', '30 3 * * * /opt/backup.sh']);
    const result = await gotorch('import', `web-1=${web1}`, `web-2=${web2}`, `web-3=${web3}`);
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('8 crontab line(s) from 3 file(s)');
    const lines = result.stdout.split('\n');
    expect(lines.filter((line) => line !== '' && !line.startsWith('#'))).toEqual([
      'PATH=/usr/bin:/bin',
      '0 */5 * * * * web-1,web-2,web-3 1 cron /usr/bin/check-disk',
      '0 30 2 * * * web-1,web-2 1 cron /opt/backup.sh',
      '@reboot web-1 1 cron /opt/warm',
      "0 0 * * * * web-2 1 cron printf 'all fine\\n' | mail -s report root",
      expect.stringMatching(/^0 30 3 \* \* \* web-3 1 cron name=backup\.sh-[0-9a-f]{6}-2 \/opt\/backup\.sh$/),
    ]);
    expect(lines).toContain(`#   web-2: ${web2}`);
    expect(lines).toContain(`# dropped ${web1}:1: MAILTO=ops@example.com (gotorch mails no job output: a hook can (on_failure=, README: Importing crontabs))`);
    expect(lines).toContain(`# from ${web1}:3, ${web2}:2, ${web3}:3: */5 * * * * /usr/bin/check-disk`);
    expect(lines).toContain('# the disks are slower here');
    expect(await checked(result.stdout)).toMatch(/ok, 5 task\(s\) in 1 file\(s\); 0 apply/);
    expect(await checked(result.stdout, 'web-1')).toMatch(/; 3 apply to web-1/);
    expect(await checked(result.stdout, 'web-2')).toMatch(/; 3 apply to web-2/);
    expect(await checked(result.stdout, 'web-3')).toMatch(/; 2 apply to web-3/);
    // Stable: the same input gives the same output.
    expect((await gotorch('import', `web-1=${web1}`, `web-2=${web2}`, `web-3=${web3}`)).stdout).toBe(result.stdout);
  });

  it('--system reads the user column; --host and -o FILE', async () => {
    const crontab = write('crontab', ['SHELL=/bin/sh', '17 * * * * root cd / && run-parts --report /etc/cron.hourly', '@daily www-data /srv/rotate %x']);
    const out = path.join(dir, 'imported.conf');
    const result = await gotorch('import', '--system', '--host', 'db-*', '-o', out, crontab);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('');
    const text = readFileSync(out, 'utf8');
    expect(text).toContain('0 17 * * * * db-* 1 cron user=root cd / && run-parts --report /etc/cron.hourly\n');
    expect(text).toContain("@daily db-* 1 cron user=www-data printf 'x\\n' | /srv/rotate\n");
    expect(await checked(text, 'db-1')).toMatch(/; 2 apply to db-1/);
  });

  it('--max and stdin (-)', async () => {
    const run = spawnSync(process.execPath, [CLI, 'import', '--max', '0', '-'], { input: '* * * * * date\n', encoding: 'utf8' });
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('\n0 * * * * * * 0 cron date\n');
    expect(await checked(run.stdout)).toMatch(/; 1 apply/);
  });

  it('reports every line it cannot import as file:line:column, exits 1 and writes nothing', async () => {
    const crontab = write('crontab', ['* * * * * fine', '* * ? * * date', 'TZ=UTC', '@every 5m date']);
    const out = path.join(dir, 'imported.conf');
    const result = await gotorch('import', '-o', out, crontab);
    expect(result.code).toBe(1);
    expect(result.stderr.split('\n').slice(0, 3).map((line) => line.split(': ')[0])).toEqual([`${crontab}:2:5`, `${crontab}:3:1`, `${crontab}:4:1`]);
    expect(result.stderr).toContain('3 line(s) cannot be imported as they are; nothing written');
    expect(existsSync(out)).toBe(false);
  });

  it('refuses a system crontab read as a user crontab, and mixed or bad arguments (usage: exit 2)', async () => {
    const system = await gotorch('import', '/etc/crontab');
    expect(system.code).toBe(1);
    expect(system.stderr).toContain('/etc/crontab is a system crontab (a user column after the schedule): add --system');
    const crontab = write('crontab', ['* * * * * date']);
    expect((await gotorch('import', `web-1=${crontab}`, crontab)).code).toBe(2);
    expect((await gotorch('import', '--host', 'web-1', `web-2=${crontab}`)).code).toBe(2);
    expect((await gotorch('import', `!web-1=${crontab}`)).code).toBe(2);
    expect((await gotorch('import', '--max', 'x', crontab)).code).toBe(2);
    expect((await gotorch('import')).code).toBe(2);
  });
});
