/**
 * A root daemon trusts nothing it did not create (SPEC §6, §12; issue 10, items 1-4 and 16): each
 * repro of the hostile review, as root, with a second, unprivileged user made by the test.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { procTable } from '../../src/supervisor/process-table.js';
import { USER_JOB_PATH } from '../../src/supervisor/user.js';
import { isAlive, killAll, processesMentioning, runCli, waitFor } from '../helpers/processes.js';

const asRoot = process.getuid?.() === 0;
if (!asRoot) console.warn('\n!!! ROOT FILE-SAFETY TESTS SKIPPED: not running as root (they need a second user and root-owned folders) !!!\n');

const user = `gts${process.pid % 100_000}`;
let uid = 0;
let dirs: string[] = [];
let extraPids: number[] = [];

/** A fresh folder; `mode` as given (mkdtemp makes 0700). */
function folder(mode = 0o700): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gotorch-safety-'));
  chmodSync(dir, mode);
  dirs.push(dir);
  return dir;
}

/** The built CLI with its runtime files in `run` and `log` under `dir` unless given. */
async function gotorch(dir: string, args: string[], files: { pidfile?: string; logDir?: string } = {}, env: NodeJS.ProcessEnv = {}) {
  const pidfile = files.pidfile ?? path.join(dir, 'run', 'gotorch.pid');
  const logDir = files.logDir ?? path.join(dir, 'log');
  const run = runCli(['-c', path.join(dir, 'tasks.conf'), '--pidfile', pidfile, '--log-dir', logDir, ...args], env);
  const code = await run.closed;
  return { code, stdout: run.stdout(), stderr: run.stderr(), output: run.output() };
}

function writeTasks(dir: string, lines: readonly string[]): void {
  writeFileSync(path.join(dir, 'tasks.conf'), lines.join('\n') + '\n', { mode: 0o644 });
}

/** Runs `script` as the unprivileged user. */
function asUser(script: string): void {
  const result = spawnSync('setpriv', [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', '--', 'sh', '-c', script], { encoding: 'utf8' });
  expect(result.status, result.stderr).toBe(0);
}

/** A root process that must survive whatever the daemon is told about it. */
function rootVictim(): number {
  const child = spawn('sleep', ['300'], { detached: true, stdio: 'ignore' });
  child.unref();
  extraPids.push(child.pid as number);
  return child.pid as number;
}

function plantedState(victim: number): string {
  const job = { task: 'once', type: 'cron', graceMs: 1000, run: `${Math.floor(Date.now() / 1000)}-1-abcd1234`, pid: victim, processStart: procTable.stat(victim)?.startTime, role: 'job', scheduledAt: 1, startedAt: Date.now() };
  return JSON.stringify({ pid: 999_999, lastSecond: Math.floor(Date.now() / 1000), clean: false, instance: 'abcd1234', jobs: [job] });
}

describe.skipIf(!asRoot)('as root: runtime folders and files', () => {
  beforeAll(() => {
    const added = spawnSync('useradd', ['--no-create-home', user], { encoding: 'utf8' });
    expect(added.status, added.stderr).toBe(0);
    uid = Number(spawnSync('id', ['-u', user], { encoding: 'utf8' }).stdout);
  });

  afterAll(() => {
    spawnSync('userdel', [user]);
  });

  afterEach(async () => {
    for (const dir of dirs) {
      await gotorch(dir, ['stop']);
      await killAll(processesMentioning(dir));
    }
    await killAll(extraPids);
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    dirs = [];
    extraPids = [];
  });

  it('item 1: refuses a pidfile folder others can write (a 1777 folder with a planted state file); the named process lives on', async () => {
    const dir = folder(0o755);
    const shared = path.join(dir, 'shared');
    mkdirSync(shared);
    chmodSync(shared, 0o1777);
    const victim = rootVictim();
    asUser(`cat > ${shared}/gotorch.state.json <<'EOF'\n${plantedState(victim)}\nEOF`);
    writeTasks(dir, ['* * * * * * * 1 cron name=once sleep 30']);
    const started = await gotorch(dir, ['start'], { pidfile: path.join(shared, 'gotorch.pid') });
    expect(started.code).toBe(1);
    expect(started.stderr).toContain(`refused the pidfile folder ${shared}: ${shared} has mode 1777: group or others can write it; run: chmod go-w ${shared}`);
    expect(existsSync(path.join(shared, 'gotorch.pid'))).toBe(false);
    expect(isAlive(victim)).toBe(true);
  });

  it('item 1: refuses a log folder owned by another user, and a folder whose parent another user owns', async () => {
    const dir = folder(0o755);
    writeTasks(dir, ['* * * * * * * 1 cron name=once true']);
    const theirs = path.join(dir, 'theirs');
    mkdirSync(theirs, { mode: 0o700 });
    spawnSync('chown', [String(uid), theirs]);
    const refused = await gotorch(dir, ['start'], { logDir: theirs });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`refused the log folder ${theirs}: ${theirs} is owned by uid ${uid}, not root`);
    const inside = path.join(theirs, 'log');
    mkdirSync(inside, { mode: 0o700 });
    const below = await gotorch(dir, ['start'], { logDir: inside });
    expect(below.code).toBe(1);
    expect(below.stderr).toContain(`${theirs}, above ${inside}, is owned by uid ${uid}: they can replace ${inside}`);
  });

  it('item 1: never adopts (nor later kills) a process whose environment lacks the run id the state file names', async () => {
    const dir = folder();
    const victim = rootVictim();
    mkdirSync(path.join(dir, 'run'), { mode: 0o700 });
    writeFileSync(path.join(dir, 'run', 'gotorch.state.json'), plantedState(victim), { mode: 0o600 });
    writeTasks(dir, [`* * * * * * * 1 cron name=once echo ran >> ${dir}/ran; sleep 30`]);
    expect((await gotorch(dir, ['start'])).code).toBe(0);
    // max=1 is not held by the named process: the task runs, and status lists its own job only.
    await waitFor(() => existsSync(path.join(dir, 'ran')), 5000, 'the max=1 task to run');
    const status = JSON.parse((await gotorch(dir, ['status', '--json'])).stdout) as { tasks: { name: string; running: { pid: number }[] }[] };
    expect(status.tasks.flatMap((task) => task.running.map((run) => run.pid))).not.toContain(victim);
    expect((await gotorch(dir, ['stop'])).code).toBe(0);
    expect(isAlive(victim)).toBe(true);
  });

  it('item 2: symlinks planted at the old predictable names never redirect a write; a symlinked pidfile or boot-id is replaced', async () => {
    const dir = folder();
    const victim = path.join(dir, 'victim');
    writeFileSync(victim, 'precious\n', { mode: 0o644 });
    const run = path.join(dir, 'run');
    mkdirSync(run, { mode: 0o700 });
    for (const name of ['gotorch.state.json.tmp', 'gotorch.boot-id', 'gotorch.pid', 'gotorch.state.json']) symlinkSync(victim, path.join(run, name));
    for (let pid = 1; pid < 400; pid++) symlinkSync(victim, path.join(run, `gotorch.pid.${process.pid + pid}.tmp`));
    writeTasks(dir, ['@reboot * 0 cron name=boot true', '* * * * * * * 1 cron name=tick true']);
    const started = await gotorch(dir, ['start']);
    expect(started.code, started.output).toBe(0);
    await waitFor(() => existsSync(path.join(run, 'gotorch.state.json')) && !lstatSync(path.join(run, 'gotorch.state.json')).isSymbolicLink(), 5000, 'the state file saved');
    expect((await gotorch(dir, ['stop'])).code).toBe(0);
    expect(readFileSync(victim, 'utf8')).toBe('precious\n');
    for (const name of ['gotorch.boot-id', 'gotorch.state.json']) {
      const stats = lstatSync(path.join(run, name));
      expect(stats.isFile(), name).toBe(true);
      expect(stats.mode & 0o777, name).toBe(0o600);
    }
  });

  it('items 3 and 16: refuses a symlinked or FIFO log file at start, and tightens a log file others can read', async () => {
    const dir = folder();
    writeTasks(dir, ['* * * * * * * 1 cron name=tick true']);
    const logDir = path.join(dir, 'log');
    mkdirSync(logDir, { mode: 0o700 });
    const victim = path.join(dir, 'victim');
    writeFileSync(victim, 'precious\n');
    symlinkSync(victim, path.join(logDir, 'runs.log'));
    const linked = await gotorch(dir, ['start']);
    expect(linked.code).toBe(1);
    expect(linked.stderr).toContain(`${path.join(logDir, 'runs.log')} is a symlink; the daemon opens no file through one: remove it`);
    rmSync(path.join(logDir, 'runs.log'));
    spawnSync('mkfifo', [path.join(logDir, 'runs.log')]);
    const fifo = await gotorch(dir, ['start']);
    expect(fifo.code).toBe(1);
    expect(fifo.stderr).toContain(`${path.join(logDir, 'runs.log')} is not a regular file; remove it`);
    rmSync(path.join(logDir, 'runs.log'));
    // The starting command (as root) opens gotorch.stderr there for the daemon: never through a symlink either.
    rmSync(path.join(logDir, 'gotorch.stderr'), { force: true });
    symlinkSync(victim, path.join(logDir, 'gotorch.stderr'));
    const stderrLinked = await gotorch(dir, ['start']);
    expect(stderrLinked.code).toBe(1);
    expect(stderrLinked.stderr).toContain(`refused: ${path.join(logDir, 'gotorch.stderr')} is a symlink; the daemon opens no file through one`);
    rmSync(path.join(logDir, 'gotorch.stderr'));
    writeFileSync(path.join(logDir, 'gotorch.log'), '', { mode: 0o666 });
    chmodSync(path.join(logDir, 'gotorch.log'), 0o666);
    expect((await gotorch(dir, ['start'])).code).toBe(0);
    expect(statSync(path.join(logDir, 'gotorch.log')).mode & 0o777).toBe(0o600);
    expect(readFileSync(victim, 'utf8')).toBe('precious\n');
  });

  it('item 16: a FIFO put in place of runs.log before a SIGHUP reopen never blocks stop', async () => {
    const dir = folder();
    writeTasks(dir, ['* * * * * * * 0 cron name=tick echo tick']);
    expect((await gotorch(dir, ['start'])).code).toBe(0);
    const runsLog = path.join(dir, 'log', 'runs.log');
    await waitFor(() => existsSync(runsLog) && readFileSync(runsLog, 'utf8').includes('"tick"'), 5000, 'a tick in runs.log');
    renameSync(runsLog, `${runsLog}.old`);
    spawnSync('mkfifo', [runsLog]);
    const pid = Number(readFileSync(path.join(dir, 'run', 'gotorch.pid'), 'utf8'));
    process.kill(pid, 'SIGHUP');
    await new Promise((resolve) => setTimeout(resolve, 1500)); // a few ticks write to (or drop) the run log
    const began = Date.now();
    expect((await gotorch(dir, ['stop'])).code).toBe(0);
    expect(Date.now() - began).toBeLessThan(5000);
    expect(readFileSync(path.join(dir, 'log', 'gotorch.stderr'), 'utf8')).toContain(`cannot open log file ${runsLog} (${runsLog} is not a regular file; remove it`);
  });

  it("item 4: a user= job starts from a clean environment: none of root's variables, a default PATH", async () => {
    const dir = folder(0o755);
    const out = path.join(dir, 'out');
    mkdirSync(out, { mode: 0o777 });
    chmodSync(out, 0o777);
    writeTasks(dir, ['TEAM=ops', `* * * * * * * 1 cron name=env user=${user} env > ${out}/env`]);
    const rootEnv = { AWS_SECRET_ACCESS_KEY: 'aws-secret', SSH_AUTH_SOCK: '/tmp/agent.sock', PATH: `/root/bin:${process.env.PATH}`, LANG: 'C.UTF-8' };
    expect((await gotorch(dir, ['start'], {}, rootEnv)).code).toBe(0);
    const text = await waitFor(() => (existsSync(path.join(out, 'env')) ? readFileSync(path.join(out, 'env'), 'utf8') : undefined), 5000, 'the env dump');
    const env = Object.fromEntries(text.split('\n').filter(Boolean).map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]));
    expect(env).toMatchObject({ HOME: `/home/${user}`, USER: user, LOGNAME: user, SHELL: '/bin/sh', PATH: USER_JOB_PATH, LANG: 'C.UTF-8', TEAM: 'ops', GOTORCH_TASK: 'env' });
    // What the shell itself adds (PWD, and OLDPWD/SHLVL/_ for some shells) is all there is besides.
    const expected = new Set(['HOME', 'USER', 'LOGNAME', 'SHELL', 'PATH', 'LANG', 'TEAM', 'GOTORCH_TASK', 'GOTORCH_RUN_ID', 'GOTORCH_SCHEDULED_AT', 'GOTORCH_ATTEMPT', 'PWD', 'OLDPWD', 'SHLVL', '_']);
    expect(Object.keys(env).filter((name) => !expected.has(name))).toEqual([]);
  });
});
