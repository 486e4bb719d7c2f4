/**
 * `gotorch systemd-unit` (SPEC §11): the unit's lines for several option sets, systemd's quoting, and
 * `systemd-analyze verify` accepting what the built CLI prints.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { systemdUnit, systemdWord, unitCommand } from '../../src/cli/systemd-unit.js';
import { DAEMON_NODE_FLAGS } from '../../src/daemon/node-flags.js';
import { CLI, runCli } from '../helpers/processes.js';

const ANALYZE = '/usr/bin/systemd-analyze';
// Under CI=true a missing systemd-analyze fails the verify rows instead of skipping them (.ci/run installs it).
const hasAnalyze = existsSync(ANALYZE) || process.env.CI !== undefined;
if (!existsSync(ANALYZE)) console.warn(`SKIPPED: ${ANALYZE} is missing, so systemd-analyze verify does not check the generated units`);

const dir = mkdtempSync(path.join(os.tmpdir(), 'gotorch-unit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** `systemd-analyze verify` on `unit` saved as gotorch.service in a folder of its own. */
function verify(unit: string): { code: number | null; output: string } {
  const folder = mkdtempSync(path.join(dir, 'verify-'));
  const file = path.join(folder, 'gotorch.service');
  writeFileSync(file, unit);
  const result = spawnSync(ANALYZE, ['verify', '--man=no', file], { encoding: 'utf8' });
  return { code: result.status, output: `${result.stdout}${result.stderr}` };
}

const line = (unit: string, key: string): string | undefined => unit.split('\n').find((text) => text.startsWith(`${key}=`))?.slice(key.length + 1);

describe('systemd quoting of one word (systemd.service(5), "Command lines")', () => {
  it.each([
    { word: '/usr/bin/node', expect: '/usr/bin/node' },
    { word: '--max-semi-space-size=1', expect: '--max-semi-space-size=1' },
    { word: '/etc/my tasks.conf', expect: '"/etc/my tasks.conf"' },
    { word: '/srv/100%/t.conf', expect: '/srv/100%%/t.conf' },
    { word: '/srv/$HOME/t.conf', expect: '/srv/$$HOME/t.conf' },
    { word: 'say "hi"', expect: '"say \\"hi\\""' },
    { word: 'a\\b', expect: '"a\\\\b"' },
    { word: "it's", expect: '"it\'s"' },
    { word: 'two\nlines', expect: '"two\\nlines"' },
    { word: 'tab\there', expect: '"tab\\there"' },
    { word: '', expect: '""' },
    { word: ';', expect: '";"' },
    { word: '50% of $x here', expect: '"50%% of $$x here"' },
  ])('$word', ({ word, expect: written }) => {
    expect(systemdWord(word)).toBe(written);
  });

  it('does not double $ in the executable, which systemd does not expand, but doubles %', () => {
    expect(systemdWord('/opt/$x/100%/node', true)).toBe('/opt/$x/100%%/node');
    expect(systemdWord('/opt/a b/node', true)).toBe('"/opt/a b/node"');
  });
});

const installed = { node: '/usr/bin/node', cli: '/opt/gotorch/dist/src/cli/main.js' };
const cwd = process.cwd();

describe('the unit for an option set', () => {
  it.each([
    {
      why: 'defaults: the task file made absolute, no pidfile or log folder (root defaults for all)',
      common: { tasks: 'tasks.conf' },
      options: {},
      start: ['-c', path.join(cwd, 'tasks.conf')],
      reload: ['-c', path.join(cwd, 'tasks.conf')],
    },
    {
      why: 'every common option, relative paths made absolute',
      common: { tasks: '/etc/gotorch/tasks.conf', pidfile: 'run/g.pid', logDir: '/var/log/gotorch', hostId: 'web-3,10.0.0.3' },
      options: {},
      start: ['-c', '/etc/gotorch/tasks.conf', '--pidfile', path.join(cwd, 'run/g.pid'), '--log-dir', '/var/log/gotorch', '--host-id', 'web-3,10.0.0.3'],
      reload: ['-c', '/etc/gotorch/tasks.conf', '--pidfile', path.join(cwd, 'run/g.pid')],
    },
    {
      why: 'metrics, on the loopback unless a host is given',
      common: { tasks: '/etc/gotorch/tasks.conf' },
      options: { metrics: { host: '127.0.0.1', port: 9100 } },
      start: ['-c', '/etc/gotorch/tasks.conf', '--metrics', '127.0.0.1:9100'],
      reload: ['-c', '/etc/gotorch/tasks.conf'],
    },
    {
      why: 'a fleet with TLS files (made absolute) and its TTL',
      common: { tasks: '/etc/gotorch/tasks.conf' },
      options: { etcd: ['https://etcd-1:2379', 'https://etcd-2:2379'], fleet: 'prod', fleetTtl: 5000, etcdCa: 'ca.pem', etcdCert: '/etc/gotorch/c.pem', etcdKey: '/etc/gotorch/k.pem' },
      start: ['-c', '/etc/gotorch/tasks.conf', '--etcd', 'https://etcd-1:2379,https://etcd-2:2379', '--fleet', 'prod', '--fleet-ttl', '5s', '--etcd-ca', path.join(cwd, 'ca.pem'), '--etcd-cert', '/etc/gotorch/c.pem', '--etcd-key', '/etc/gotorch/k.pem'],
      reload: ['-c', '/etc/gotorch/tasks.conf'],
    },
  ])('$why', ({ common, options, start, reload }) => {
    const command = unitCommand(common, options, installed);
    expect(command).toEqual({ ...installed, startArgs: start, reloadArgs: reload });
    if ('usage' in command) return;
    const unit = systemdUnit(command);
    expect(line(unit, 'ExecStart')).toBe(['/usr/bin/node', ...DAEMON_NODE_FLAGS, installed.cli, 'start', '--foreground', ...start].join(' '));
    expect(line(unit, 'ExecReload')).toBe(['/usr/bin/node', installed.cli, 'reload', ...reload].join(' '));
    expect([line(unit, 'Type'), line(unit, 'KillMode'), line(unit, 'Restart'), line(unit, 'WantedBy')]).toEqual(['exec', 'process', 'on-failure', 'multi-user.target']);
  });

  it('quotes a task file with blanks, % and $ in both commands', () => {
    const command = unitCommand({ tasks: '/etc/my tasks/100% $HOME.conf' }, {}, installed);
    if ('usage' in command) throw new Error(command.usage);
    const unit = systemdUnit(command);
    expect(line(unit, 'ExecStart')).toMatch(/ -c "\/etc\/my tasks\/100%% \$\$HOME\.conf"$/);
    expect(line(unit, 'ExecReload')).toMatch(/ reload -c "\/etc\/my tasks\/100%% \$\$HOME\.conf"$/);
  });

  it('refuses what start refuses: TLS files without --etcd is a usage error', () => {
    expect(unitCommand({ tasks: 't.conf' }, { etcdCa: 'ca.pem' }, installed)).toEqual({ usage: '--etcd-ca needs --etcd <urls> (or GOTORCH_ETCD)' });
  });
});

describe('gotorch systemd-unit (the built CLI)', () => {
  it('prints the unit of this installation: its node, its CLI, the daemon flags', async () => {
    const run = runCli(['systemd-unit', '-c', '/etc/gotorch/tasks.conf', '--metrics', '9100']);
    expect(await run.closed).toBe(0);
    expect(line(run.stdout(), 'ExecStart')).toBe([process.execPath, ...DAEMON_NODE_FLAGS, CLI, 'start', '--foreground', '-c', '/etc/gotorch/tasks.conf', '--metrics', '127.0.0.1:9100'].join(' '));
    expect(run.stderr()).toBe('gotorch: warning: /etc/gotorch/tasks.conf does not exist (yet): the daemon will not start until it does\n');
  });

  it('says nothing on stderr for a task file that exists', async () => {
    const conf = path.join(dir, 'tasks.conf');
    writeFileSync(conf, '');
    const run = runCli(['systemd-unit', '-c', conf]);
    expect(await run.closed).toBe(0);
    expect(run.stderr()).toBe('');
  });

  it('answers a bad option set with a usage error (exit 2) and no unit', async () => {
    const run = runCli(['systemd-unit', '--fleet-ttl', '5s']);
    expect(await run.closed).toBe(2);
    expect(run.stdout()).toBe('');
    expect(run.stderr()).toMatch(/--fleet-ttl needs --etcd/);
  });

  it.skipIf(!hasAnalyze).each([
    ['-c', '/etc/gotorch/tasks.conf'],
    ['-c', 'my tasks.conf', '--pidfile', 'run dir/100%/g.pid', '--log-dir', '/var/log/$gotorch', '--host-id', 'web-3'],
    ['-c', '/etc/gotorch/tasks.conf', '--metrics', '[::1]:9100', '--etcd', 'http://127.0.0.1:2379', '--fleet', 'prod', '--fleet-ttl', '6s', '--etcd-ca', 'ca.pem'],
  ])('systemd-analyze verify accepts it: %s …', async (...args: string[]) => {
    const run = runCli(['systemd-unit', ...args]);
    expect(await run.closed).toBe(0);
    expect(verify(run.stdout())).toEqual({ code: 0, output: '' });
  });

  it.skipIf(!hasAnalyze)('systemd finds an executable whose path has blanks, % and $ (its quoting), and not without the quotes', () => {
    const folder = path.join(dir, 'node dir 100% $x');
    mkdirSync(folder);
    const node = path.join(folder, 'node');
    symlinkSync(process.execPath, node);
    const command = unitCommand({ tasks: '/etc/gotorch/tasks.conf' }, {}, { node, cli: CLI });
    if ('usage' in command) throw new Error(command.usage);
    const unit = systemdUnit(command);
    expect(verify(unit)).toEqual({ code: 0, output: '' });
    const unquoted = unit.replaceAll(systemdWord(node, true), node.replaceAll('%', '%%'));
    expect(unquoted).not.toBe(unit);
    expect(verify(unquoted).code).not.toBe(0);
  });
});
