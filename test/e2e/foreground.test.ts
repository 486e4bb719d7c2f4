import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { endOf, killAll, processesMentioning, runCli, waitFor, type Started } from '../helpers/processes.js';

const started: Started[] = [];
let dir = '';

afterEach(async () => {
  await killAll(started.splice(0).flatMap((run) => (run.child.pid ? [run.child.pid] : [])));
  if (dir) await killAll(processesMentioning(dir));
});

function records(file: string): Record<string, unknown>[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('foreground daemon end to end (SPEC §2, §3, §4)', () => {
  it('runs an every-second task exactly once per second for 10 s, and SIGTERM leaves nothing behind', async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'gotorch-e2e-'));
    const out = path.join(dir, 'seconds.txt');
    // Jobs that would outlive a sloppy stop; a unique sleep length finds them in /proc.
    const mark = String(100_000 + Math.floor(Math.random() * 800_000));
    const conf = path.join(dir, 'tasks.conf');
    writeFileSync(
      conf,
      [
        `* * * * * * * 1 cron name=each echo $GOTORCH_SCHEDULED_AT >> ${out}`,
        `* * * * * * * 1 daemon name=sleeper sleep ${mark}`,
        `*/2 * * * * * * 1 cron name=child sh -c 'sleep ${mark} & wait'`,
      ].join('\n'),
    );
    const daemon = runCli(['start', '--foreground', '-c', conf, '--pidfile', path.join(dir, 'gotorch.pid'), '--log-dir', path.join(dir, 'log')]);
    started.push(daemon);
    await waitFor(() => daemon.output().includes('gotorch ready'), 10_000, 'the daemon to be ready');
    const seconds = () => (existsSync(out) ? readFileSync(out, 'utf8').split('\n').filter(Boolean).map(Number) : []);
    await waitFor(() => seconds().length >= 12, 20_000, '12 runs');
    expect(processesMentioning(mark).length).toBeGreaterThanOrEqual(2);
    expect(existsSync(path.join(dir, 'gotorch.pid'))).toBe(true);

    daemon.child.kill('SIGTERM');
    expect(await endOf(daemon)).toBe(0);
    const written = seconds();
    const first = written[0];
    expect(written).toEqual(written.map((_, index) => first + index));
    expect(processesMentioning(dir)).toEqual([]);
    expect(processesMentioning(mark)).toEqual([]);
    expect(existsSync(path.join(dir, 'gotorch.pid'))).toBe(false);

    const runs = records(path.join(dir, 'log', 'runs.log')).filter((record) => record.task === 'each' && 'durationMs' in record);
    expect(runs.length).toBeGreaterThanOrEqual(written.length);
    for (const run of runs) expect(run.exitCode).toBe(0);
  }, 60_000);

  it('refuses to start on a bad task file, listing every error, exit 1', async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'gotorch-e2e-'));
    const conf = path.join(dir, 'tasks.conf');
    writeFileSync(conf, '61 * * * * * * 1 cron true\n* * * * * * * 1 crn true\n');
    const daemon = runCli(['start', '--foreground', '-c', conf, '--pidfile', path.join(dir, 'gotorch.pid'), '--log-dir', path.join(dir, 'log')]);
    started.push(daemon);
    expect(await daemon.exited).toBe(1);
    expect(daemon.output()).toContain(`${conf}:1:1:`);
    expect(daemon.output()).toContain(`${conf}:2:17:`);
    expect(existsSync(path.join(dir, 'gotorch.pid'))).toBe(false);
  });

  it('every file the daemon creates is 0600, every folder 0700 (SPEC §6)', async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'gotorch-e2e-'));
    const conf = path.join(dir, 'tasks.conf');
    writeFileSync(conf, '@reboot * 1 cron true\n* * * * * * * 1 cron name=tick echo tick\n');
    const run = path.join(dir, 'run');
    const daemon = runCli(['start', '--foreground', '-c', conf, '--pidfile', path.join(run, 'gotorch.pid'), '--log-dir', path.join(dir, 'log')]);
    started.push(daemon);
    await waitFor(() => existsSync(path.join(run, 'gotorch.state.json')) && existsSync(path.join(dir, 'log', 'runs.log')), 10_000, 'the daemon files');
    const modes: Record<string, string> = {};
    for (const folder of [run, path.join(dir, 'log')]) {
      modes[path.basename(folder)] = (statSync(folder).mode & 0o777).toString(8);
      for (const name of readdirSync(folder)) modes[name] = (statSync(path.join(folder, name)).mode & 0o777).toString(8);
    }
    expect(modes).toMatchObject({ run: '700', log: '700', 'gotorch.pid': '600', 'gotorch.sock': '600', 'gotorch.state.json': '600', 'gotorch.log': '600', 'runs.log': '600' });
    for (const [name, mode] of Object.entries(modes)) expect(['600', '700'], name).toContain(mode);
    daemon.child.kill('SIGTERM');
    expect(await endOf(daemon)).toBe(0);
  }, 45_000);

  it('a SIGTERM while it starts is held and done once it runs: exit 0, nothing left behind', async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'gotorch-e2e-'));
    const conf = path.join(dir, 'tasks.conf');
    const mark = String(100_000 + Math.floor(Math.random() * 800_000));
    writeFileSync(conf, `* * * * * * * 1 daemon name=sleeper sleep ${mark}\n`);
    const pidfile = path.join(dir, 'run', 'gotorch.pid');
    const daemon = runCli(['start', '--foreground', '-c', conf, '--pidfile', pidfile, '--log-dir', path.join(dir, 'log')]);
    started.push(daemon);
    // The pidfile is claimed inside the start, before the daemon is ready (and before it was
    // listening for signals: the SIGTERM killed it half-started, pidfile and socket left behind).
    await waitFor(() => existsSync(pidfile), 10_000, 'the pidfile');
    daemon.child.kill('SIGTERM');
    expect(await endOf(daemon)).toBe(0);
    expect(daemon.output()).toContain('gotorch ready');
    expect(existsSync(pidfile)).toBe(false);
    expect(existsSync(path.join(dir, 'run', 'gotorch.sock'))).toBe(false);
    expect(processesMentioning(mark)).toEqual([]);
  }, 45_000);

  // A stopped daemon exited naturally, which closes its signal handles first: a SIGUSR2 (a deploy's reload) or a
  // SIGHUP (logrotate) in its last milliseconds killed it, and its job keeper, seeing a daemon killed, started it again.
  for (const keeper of ['on', 'off'] as const) {
    it(`signals that come while it stops are ignored, to its last moment: exit 0${keeper === 'on' ? ', and the job keeper ends with it' : ' (GOTORCH_KEEPER=off)'}`, async () => {
      dir = mkdtempSync(path.join(os.tmpdir(), 'gotorch-e2e-'));
      const conf = path.join(dir, 'tasks.conf');
      // An instance that takes half a second to end on TERM: the signals come during the stop and after it.
      writeFileSync(conf, `* * * * * * * 1 daemon name=slow sh -c 'trap "sleep 0.5; exit 0" TERM; while :; do sleep 0.1; done'\n* * * * * * * 1 cron name=tick true\n`);
      const pidfile = path.join(dir, 'run', 'gotorch.pid');
      const daemon = runCli(['start', '--foreground', '-c', conf, '--pidfile', pidfile, '--log-dir', path.join(dir, 'log')], { GOTORCH_KEEPER: keeper });
      started.push(daemon);
      await waitFor(() => /"task":"tick".*"msg":"run finished"/.test(daemon.output()) && existsSync(pidfile), 10_000, 'a run of the every-second task');
      const pid = Number(readFileSync(pidfile, 'utf8'));
      expect(daemon.output()).toContain(keeper === 'on' ? '"keeper":' : '"keeper":null');
      process.kill(pid, 'SIGTERM');
      // As many reloads and reopens as a shell can send, until the daemon is gone.
      const senders = ['USR2', 'HUP'].map((signal) => spawn('sh', ['-c', `while kill -${signal} ${pid} 2>/dev/null; do :; done`], { stdio: 'ignore' }));
      try {
        expect(await endOf(daemon)).toBe(0);
      } finally {
        for (const sender of senders) sender.kill('SIGKILL');
      }
      expect(daemon.output()).toContain('"msg":"stopped"');
      expect(daemon.output()).not.toMatch(/restarting in|killed by signal/);
      expect(daemon.output().match(/"msg":"gotorch ready"/g)).toHaveLength(1);
      expect(existsSync(pidfile)).toBe(false);
    }, 45_000);
  }
});
