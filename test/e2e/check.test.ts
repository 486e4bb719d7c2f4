import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/processes.js';

let dir = '';
let conf = '';

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'gotorch-check-'));
  conf = path.join(dir, 'tasks.conf');
});

async function check(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; output: string }> {
  const run = runCli(['check', '-c', conf, ...args], env);
  const code = await run.exited;
  return { code, output: run.output() };
}

const FILE = [
  '0 30 2 * * * * 1 cron name=report tz=Europe/Berlin /opt/report',
  '@every 90s web-*,!web-3 1 cron name=sync /opt/sync',
  '* * * * * * 10.0.1.0/24 2 daemon name=worker /opt/worker',
  '0 0 0 31 2 * * 1 cron name=never true',
].join('\n');

describe('gotorch check (SPEC §4)', () => {
  it('lists the tasks for this host with their next fire times, exit 0', async () => {
    writeFileSync(conf, FILE);
    const { code, output } = await check(['--host-id', 'web-1,10.0.1.5', '--next', '2']);
    expect(code).toBe(0);
    expect(output).toContain(`${conf}: ok, 4 task(s) in 1 file(s); 4 apply to web-1,10.0.1.5`);
    expect(output).toMatch(/report\s+cron\s+1\s+0 30 2 \* \* \*\s+Europe\/Berlin\s+\d{4}-\d\d-\d\d 02:30:00 \+0[12]:00\n\s+\d{4}-\d\d-\d\d 02:30:00/);
    expect(output).toMatch(/never\s+cron\s+1\s+0 0 0 31 2 \*\s+UTC\s+never/);
  });

  it('--host-id (or GOTORCH_HOST) shows what another host would run', async () => {
    writeFileSync(conf, FILE);
    const web3 = await check(['--host-id', 'web-3']);
    expect(web3.output).toContain('2 apply to web-3 (2 for other hosts)');
    expect(web3.output).not.toMatch(/^sync /m);
    const fromEnv = await check([], { GOTORCH_HOST: 'web-2.example.com' });
    expect(fromEnv.output).toMatch(/^sync\s/m);
  });

  it('--json gives the same facts for scripts, with ISO times', async () => {
    writeFileSync(conf, FILE);
    const { code, output } = await check(['--host-id', 'db-1', '--json', '--next', '3']);
    expect(code).toBe(0);
    const result = JSON.parse(output) as { ok: boolean; tasks: { name: string; next: string[]; zone: string }[]; otherHosts: string[] };
    expect(result.ok).toBe(true);
    expect(result.tasks.map((task) => task.name)).toEqual(['report', 'never']);
    expect(result.otherHosts).toEqual(['sync', 'worker']);
    const report = result.tasks[0];
    expect(report.zone).toBe('Europe/Berlin');
    expect(report.next).toHaveLength(3);
    for (const iso of report.next) expect(['00:30:00', '01:30:00']).toContain(new Date(iso).toISOString().slice(11, 19));
  });

  it('an invalid file: every error as file:line:column on stderr, exit 1', async () => {
    writeFileSync(conf, '61 * * * * * * 1 cron true\n* * * * * * * 1 cron tiemout=1s true\n@every 90s * 1 crn true\n');
    const { code, output } = await check([]);
    expect(code).toBe(1);
    expect(output).toContain(`${conf}:1:1: second 61`);
    expect(output).toContain(`${conf}:2:22: unknown option "tiemout="`);
    expect(output).toContain(`${conf}:3:16: unknown type "crn"`);
    expect(output).toContain('3 error(s); nothing was applied');
    const json = await check(['--json']);
    expect(json.code).toBe(1);
    expect((JSON.parse(json.output) as { errors: unknown[] }).errors).toHaveLength(3);
  });

  it('warns about likely mistakes without failing: stderr lines prefixed warning:, a warnings array in --json', async () => {
    writeFileSync(conf, '* * * * * * * 1 cron name=a echo one \\\n* * * * * * * 1 cron name=b date\n* * * * * * * 1 cron name=c echo hi timeout=5s\n');
    const { code, output } = await check([]);
    expect(code).toBe(0);
    expect(output).toContain('ok, 2 task(s) in 1 file(s)');
    expect(output).toContain('; 3 warning(s)');
    expect(output).toContain(`warning: ${conf}:1:38: this "\\" joins line 2 to this line`);
    expect(output).toContain(`warning: ${conf}:3:37: "timeout=5s" after the command is part of the command`);
    const json = await check(['--json']);
    expect(json.code).toBe(0);
    const result = JSON.parse(json.output) as { ok: boolean; warnings: { line: number; column: number; message: string }[] };
    expect(result.ok).toBe(true);
    expect(result.warnings.map((warning) => `${warning.line}:${warning.column}`)).toEqual(['1:38', '2:22', '3:37']);
  });

  it('what cannot run on this host: a 200 KB command is an error; a file as cwd=, a missing SHELL=, an unknown user= are warnings', async () => {
    writeFileSync(conf, `* * * * * * * 1 cron name=huge echo ${'x'.repeat(200_000)}\n`);
    const huge = await check([]);
    expect(huge.code).toBe(1);
    expect(huge.output).toContain(`${conf}:1:32: the command is 200005 bytes; Linux passes at most 131071 bytes in one argument`);
    writeFileSync(path.join(dir, 'a-file'), '');
    // The daemon checking the file runs as root here (user= needs it); as another user only the first two rows apply.
    const asRoot = process.getuid?.() === 0;
    writeFileSync(
      conf,
      [
        '* * * * * * * 1 cron name=in-file cwd=a-file true',
        'SHELL=/no/such/shell',
        '* * * * * * * 1 cron name=no-shell true',
        'SHELL=/bin/sh',
        asRoot ? '* * * * * * * 1 cron name=nobody-here user=no_such_user_gotorch true' : '',
        '* * * * * * 192.0.2.1 1 cron name=elsewhere cwd=not-here-either true',
      ].join('\n'),
    );
    const { code, output } = await check(['--host-id', 'web-1']);
    expect(code).toBe(0);
    expect(output).toContain(`warning: ${conf}:1:1: cwd ${path.join(dir, 'a-file')} is not a directory on this host`);
    expect(output).toContain(`warning: ${conf}:3:1: shell /no/such/shell does not exist on this host`);
    if (asRoot) expect(output).toContain(`warning: ${conf}:5:1: user "no_such_user_gotorch" is not in /etc/passwd on this host`);
    // A task for other hosts is not checked against this one.
    expect(output).not.toContain('not-here-either');
  });

  it('shows each zone as written (Asia/Kolkata, not ICU\'s Asia/Calcutta)', async () => {
    writeFileSync(conf, '* * * * * * * 1 cron name=india tz=Asia/Kolkata true\nTZ=Asia/Kolkata\n* * * * * * * 1 cron name=india-env true\n');
    const { code, output } = await check(['--next', '1']);
    expect(code).toBe(0);
    expect(output).toMatch(/india\s+cron\s+1\s+\* \* \* \* \* \*\s+Asia\/Kolkata\s+\S+ \S+ \+05:30/);
    expect(output).toMatch(/india-env\s+cron\s+1\s+\* \* \* \* \* \*\s+Asia\/Kolkata\s/);
    expect(output).not.toContain('Calcutta');
    const json = JSON.parse((await check(['--json'])).output) as { tasks: { zone: string }[] };
    expect(json.tasks.map((task) => task.zone)).toEqual(['Asia/Kolkata', 'Asia/Kolkata']);
  });

  it('a usage error exits 2', async () => {
    writeFileSync(conf, FILE);
    expect((await check(['--next', 'many'])).code).toBe(2);
    for (const next of ['0x10', '1e2', '-1', '1001', '1.5', '']) {
      const usage = await check(['--next', next]);
      expect(usage.code, `--next ${next}`).toBe(2);
      expect(usage.output).toContain(`gotorch: --next "${next}" must be a whole number from 0 to 1000, in decimal digits`);
    }
    expect((await check(['--next', '1000'])).code).toBe(0);
    expect((await check(['--next', '0'])).code).toBe(0);
    expect((await runCli(['frobnicate']).exited)).toBe(2);
  });

  it('--hosts prints a task x host matrix and warns about tasks no listed host runs', async () => {
    writeFileSync(conf, FILE + '\n* * * * * * 192.0.2.0/24 1 cron name=orphan true\n');
    const { code, output } = await check(['--hosts', 'web-1=10.0.1.5,web-3=10.0.1.7,fd00::7,db-1']);
    expect(code).toBe(0);
    expect(output).toMatch(/TASK\s+TYPE\s+web-1\s+web-3\s+db-1/);
    expect(output).toMatch(/sync\s+cron\s+x\s+\.\s+\./);
    expect(output).toMatch(/worker\s+daemon\s+x\s+x\s+\./);
    expect(output).toMatch(/report\s+cron\s+x\s+x\s+x/);
    expect(output).toContain('warning: task "orphan" runs on none of the listed hosts');
  });

  it('--hosts shows a jittered task\'s offset and next fire per host, from each host\'s name (SPEC §8)', async () => {
    writeFileSync(conf, '0 0 * * * * * 1 cron name=spread jitter=1h true\n0 0 * * * * web-* 1 cron name=plain true\n');
    const { code, output } = await check(['--hosts', '10.0.1.9,web-1=10.0.1.5,web-3=10.0.1.7,db-1']);
    expect(code).toBe(0);
    // jitterOffset('spread', name, 3600): web-1 1815, web-3 2012, db-1 1019; an address-only host hashes its address (1707).
    expect(output).toMatch(/spread\s+cron\s+\+1707s\s+\+1815s\s+\+2012s\s+\+1019s/);
    expect(output).toMatch(/plain\s+cron\s+\.\s+x\s+x\s+\./);
    expect(output).toMatch(/spread\s+web-1\s+\+1815s\s+\d{4}-\d\d-\d\d \d\d:30:15 /);
    expect(output).toMatch(/spread\s+db-1\s+\+1019s\s+\d{4}-\d\d-\d\d \d\d:16:59 /);
    const json = JSON.parse((await check(['--hosts', 'web-1=10.0.1.5,db-1', '--json'])).output) as { tasks: { name: string; jitter?: { host: string; jitterOffsetS: number; next: string }[] }[] };
    const spread = json.tasks.find((task) => task.name === 'spread');
    expect(spread?.jitter?.map((entry) => [entry.host, entry.jitterOffsetS])).toEqual([['web-1', 1815], ['db-1', 1019]]);
    for (const entry of spread?.jitter ?? []) expect((Date.parse(entry.next) / 1000 - entry.jitterOffsetS) % 3600).toBe(0);
    expect(json.tasks.find((task) => task.name === 'plain')).not.toHaveProperty('jitter');
  });

  it('--hosts-file reads one host per line; --json gives the matrix', async () => {
    writeFileSync(conf, FILE);
    const hostsFile = path.join(dir, 'hosts');
    writeFileSync(hostsFile, '# fleet\nweb-1 10.0.1.5\nweb-3   10.0.1.7 fd00::7\n\ndb-1\n');
    const { code, output } = await check(['--hosts-file', hostsFile, '--json']);
    expect(code).toBe(0);
    const matrix = JSON.parse(output) as { hosts: string[]; tasks: { name: string; hosts: string[] }[]; unmatched: string[] };
    expect(matrix.hosts).toEqual(['web-1', 'web-3', 'db-1']);
    expect(matrix.tasks.find((task) => task.name === 'sync')?.hosts).toEqual(['web-1']);
    expect(matrix.tasks.find((task) => task.name === 'worker')?.hosts).toEqual(['web-1', 'web-3']);
    expect(matrix.unmatched).toEqual([]);
  });
});

