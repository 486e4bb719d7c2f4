/**
 * Issue 17: `kill -9` of the daemon with 20 chatty jobs, the daemon back 5 s later (the keeper's restart
 * delay): every job alive through the outage, its lines in runs.log numbered without a gap or a double,
 * its real exit code in the record (marked `recovered`). Real daemon, keeper, jobs and signals.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Sandbox } from '../control/sandbox.js';
import { isAlive, runCli, waitFor } from '../helpers/processes.js';

const JOBS = 20;
const LINES = 130; // 13 s at 10 lines a second: the jobs outlive the 5 s outage by far

const sandboxes: Sandbox[] = [];
afterEach(async () => {
  for (const sandbox of sandboxes.splice(0)) await sandbox.cleanup();
});

function vmRssKb(pid: number): number {
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
}

const parentOf = (pid: number): number => Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ')[1]);


describe('a daemon killed with kill -9 under the job keeper', () => {
  it('loses no job, no exit status and no output line of 20 chatty jobs; the restarted daemon takes them over', { timeout: 90_000 }, async () => {
    const sandbox = new Sandbox();
    sandboxes.push(sandbox);
    const names = Array.from({ length: JOBS }, (_, k) => `chatty${k + 1}`);
    sandbox.write(names.map((name, k) => `@reboot * 1 cron name=${name} for i in $(seq 1 ${LINES}); do echo "${name} $i"; sleep 0.1; done; exit ${k + 1}`));
    const first = await sandbox.startWithEnv({ GOTORCH_KEEPER: 'on', GOTORCH_RESTART_DELAY: '5' });
    const keeper = parentOf(first);
    expect(readFileSync(`/proc/${keeper}/cmdline`, 'utf8')).toContain('gotorch_keeper');
    expect((await sandbox.status()).keeper).toEqual({ pid: keeper, socket: `${sandbox.runDir}/keeper.sock` });
    expect((await sandbox.cli('status')).stdout).toContain(`under the job keeper (pid ${keeper})`);
    await waitFor(() => names.every((name) => (sandbox.numberedLines().get(name)?.length ?? 0) >= 5), 30_000, 'every job to have logged 5 lines');
    const before = (await sandbox.status()).tasks.flatMap((task) => task.running);
    const jobs = before.map((run) => run.pid);
    expect(jobs).toHaveLength(JOBS);

    process.kill(first, 'SIGKILL');
    await waitFor(() => !isAlive(first), 5000, 'the daemon to die');
    // The outage: the keeper drains every pipe; each job keeps running (and writing) as its child.
    await waitFor(() => jobs.every((pid) => parentOf(pid) === keeper), 5000, 'the jobs to be the keeper\'s children');
    const keeperRss = vmRssKb(keeper);
    expect(jobs.every(isAlive)).toBe(true);

    await waitFor(() => sandbox.pidfilePid() !== undefined && sandbox.pidfilePid() !== first, 20_000, 'the keeper to start the daemon again');
    // status: each job taken over after the crash, with its original start and the output logged since.
    const after = await waitFor(async () => {
      const running = (await sandbox.status().catch(() => undefined))?.tasks.flatMap((task) => task.running) ?? [];
      return running.length === JOBS && running.every((run) => run.bytesLogged > 0) ? running : undefined;
    }, 20_000, 'status to show the adopted jobs');
    for (const run of after) {
      expect(run.adopted).toBe('crash');
      expect(run.startedAt).toBe(before.find((old) => old.pid === run.pid)?.startedAt);
    }
    expect((await sandbox.cli('status')).stdout).toMatch(/adopted jobs:\n  chatty\d+ pid \d+: adopted after a crash, started .*, \d+ bytes logged/);
    const records = await sandbox.waitForFinished(names[0] as string, 1, 60_000).then(() => Promise.all(names.map((name) => sandbox.waitForFinished(name, 1, 30_000))));
    let lost = 0;
    let doubled = 0;
    const byJob = sandbox.numberedLines();
    for (const [k, name] of names.entries()) {
      const record = records[k]?.[0] ?? {};
      expect(record.exitCode, name).toBe(k + 1);
      expect(record.recovered, name).toBe(true);
      const seen = byJob.get(name) ?? [];
      lost += LINES - new Set(seen).size;
      doubled += seen.length - new Set(seen).size;
      expect(seen, name).toEqual(Array.from({ length: LINES }, (_, i) => i + 1));
    }
    console.log(`kill -9 under the keeper: ${JOBS} jobs, lines lost ${lost} of ${JOBS * LINES}, doubled ${doubled}; keeper VmRSS ${keeperRss} kB while draining`);
    expect(keeperRss).toBeLessThan(8 * 1024);
  });

  it('in the foreground the start becomes the keeper in place (same pid, as systemd sees it): a crash is taken over, SIGUSR2 to that pid reloads, SIGQUIT quits', { timeout: 90_000 }, async () => {
    const sandbox = new Sandbox();
    sandboxes.push(sandbox);
    sandbox.write(['@reboot * 1 cron name=talker for i in $(seq 1 400); do echo "talker $i"; sleep 0.05; done']);
    const foreground = runCli([...sandbox.globalArgs, 'start', '--foreground'], { GOTORCH_KEEPER: 'on' });
    const main = foreground.child.pid as number;
    sandbox.track(main);
    const first = await waitFor(() => sandbox.pidfilePid(), 20_000, 'the daemon to write its pidfile');
    expect(first).not.toBe(main);
    expect(parentOf(first)).toBe(main);
    expect(readFileSync(`/proc/${main}/cmdline`, 'utf8')).toContain('gotorch_keeper');
    await waitFor(() => (sandbox.numberedLines().get('talker')?.length ?? 0) >= 5, 20_000, 'the job to talk');
    process.kill(first, 'SIGKILL');
    await waitFor(() => sandbox.pidfilePid() !== first && sandbox.pidfilePid() !== undefined, 20_000, 'the keeper to start the daemon again');
    await waitFor(async () => (await sandbox.task('talker').catch(() => undefined))?.running[0]?.adopted === 'crash', 20_000, 'the job to be taken over');
    // SIGUSR2 to the keeper's pid reloads, as it does the daemon's (the keeper passes it on, and lives).
    const reloads = sandbox.daemonRecords().filter((record) => record.trigger === 'SIGUSR2').length;
    process.kill(main, 'SIGUSR2');
    await waitFor(() => sandbox.daemonRecords().filter((record) => record.trigger === 'SIGUSR2').length > reloads, 10_000, 'the daemon to reload on SIGUSR2');
    expect(foreground.child.exitCode).toBeNull();
    // SIGQUIT to it quits: the job runs to its end, then the daemon and the keeper exit 0.
    process.kill(main, 'SIGQUIT');
    expect(await foreground.exited).toBe(0);
    const [record] = await sandbox.waitForFinished('talker', 1, 10_000);
    expect(record?.exitCode).toBe(0);
    expect(record?.recovered).toBe(true);
    const seen = sandbox.numberedLines().get('talker') ?? [];
    expect(seen).toEqual(Array.from({ length: seen.length }, (_, i) => i + 1));
  });

  it('node --cpu-prof main.js start -f: the profiler\'s SIGPROF does not kill the start that becomes the keeper, and the daemon writes its profile at stop', { timeout: 60_000 }, async () => {
    const sandbox = new Sandbox();
    sandboxes.push(sandbox);
    sandbox.write(['* * * * * * * 1 cron name=tick true']);
    const profiles = path.join(sandbox.dir, 'profiles');
    // A 50 µs sampling interval: a SIGPROF is in flight at every exec (the flags re-exec, then the keeper).
    const run = spawn(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${profiles}`, '--cpu-prof-interval=50', path.resolve('dist/src/cli/main.js'), ...sandbox.globalArgs, 'start', '--foreground'], { stdio: 'ignore', env: { ...process.env, GOTORCH_KEEPER: 'on' } });
    const exited = new Promise<string>((resolve) => run.on('exit', (code, signal) => resolve(signal ?? `exit ${code}`)));
    sandbox.track(run.pid as number);
    const daemon = await Promise.race([waitFor(async () => (await sandbox.status().catch(() => undefined))?.keeper?.pid === run.pid || undefined, 20_000, 'the daemon to answer under the keeper'), exited.then((how) => Promise.reject(new Error(`the start ended: ${how}`)))]);
    expect(daemon).toBe(true);
    process.kill(run.pid as number, 'SIGTERM');
    expect(await exited).toBe('exit 0');
    expect(readdirSync(profiles).filter((name) => name.endsWith('.cpuprofile')).length).toBeGreaterThanOrEqual(1);
  });

  it('in the foreground, the keeper killed: the daemon detaches (jobs left running, pidfile removed), and the next start adopts them', { timeout: 60_000 }, async () => {
    const sandbox = new Sandbox();
    sandboxes.push(sandbox);
    sandbox.write([`@reboot * 1 cron name=quiet sleep 60; : ${sandbox.dir}`]);
    const foreground = runCli([...sandbox.globalArgs, 'start', '--foreground'], { GOTORCH_KEEPER: 'on' });
    const keeper = foreground.child.pid as number;
    sandbox.track(keeper);
    const job = await waitFor(async () => (await sandbox.task('quiet').catch(() => undefined))?.running[0]?.pid ?? undefined, 20_000, 'the job to run');
    const daemon = sandbox.pidfilePid() as number;
    expect(parentOf(daemon)).toBe(keeper);
    process.kill(keeper, 'SIGKILL');
    await sandbox.waitForLog('the job keeper, the foreground process, is gone: detaching, the jobs are left running for the next start to adopt', { keeper }, 10_000);
    await waitFor(() => !isAlive(daemon) || undefined, 10_000, 'the daemon to detach and exit');
    expect(sandbox.pidfilePid()).toBeUndefined();
    expect(isAlive(job)).toBe(true);
    await sandbox.startWithEnv({ GOTORCH_KEEPER: 'on' });
    const adopted = await sandbox.task('quiet');
    expect(adopted?.running.map((run) => [run.pid, run.adopted])).toEqual([[job, 'state file']]);
  });
});
