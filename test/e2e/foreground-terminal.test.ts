import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI, isAlive, killAll, processesMentioning, waitFor } from '../helpers/processes.js';
import { readJsonLines } from '../control/sandbox.js';

// util-linux `script` gives the daemon a real terminal as stdout.
const hasScript = spawnSync('script', ['--version']).status === 0;
let dir = '';

afterEach(async () => {
  if (dir) await killAll(processesMentioning(dir));
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = '';
});

const quote = (word: string): string => `'${word.replaceAll("'", "'\\''")}'`;

describe('start --foreground on a terminal (SPEC §4: pretty on TTY)', () => {
  it.skipIf(!hasScript)('prints one line per record, message first; runs.log keeps every field, the job pid as jobPid', async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'gotorch-tty-'));
    const conf = path.join(dir, 'tasks.conf');
    const pidfile = path.join(dir, 'gotorch.pid');
    writeFileSync(conf, `* * * * * * * 1 cron name=report echo hello; echo oops >&2; : ${dir}\n`);
    const command = [process.execPath, CLI, 'start', '--foreground', '-c', conf, '--pidfile', pidfile, '--log-dir', path.join(dir, 'log')].map(quote).join(' ');
    const terminal = spawn('script', ['-qfec', command, '/dev/null'], { env: { ...process.env, NO_COLOR: '1' }, stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    terminal.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise((resolve) => terminal.on('exit', resolve));
    const finished = () => readJsonLines(path.join(dir, 'log', 'runs.log')).filter((record) => record.msg === 'run finished');
    await waitFor(() => finished().length >= 2 && /run finished .*\n.*run finished .*\n/s.test(output), 15_000, 'two finished runs on the terminal');
    const daemon = Number.parseInt(readFileSync(pidfile, 'utf8'), 10);
    process.kill(daemon, 'SIGTERM');
    await waitFor(() => !isAlive(daemon), 12_000, 'the daemon to stop');
    await exited;

    const lines = output.replaceAll('\r', '').split('\n').filter(Boolean);
    for (const printed of lines) expect(printed).toMatch(/^\d\d:\d\d:\d\d (INFO|WARN|OUT|ERR) +\S/);
    expect(lines[0]).toMatch(new RegExp(`^\\d\\d:\\d\\d:\\d\\d INFO  gotorch ready pid=${daemon} file=${conf} `));
    expect(lines.some((printed) => printed.endsWith(' OUT   report: hello'))).toBe(true);
    expect(lines.some((printed) => printed.endsWith(' ERR   report: oops'))).toBe(true);
    const runs = lines.filter((printed) => printed.includes(' run finished '));
    expect(runs[0]).toMatch(/^\d\d:\d\d:\d\d INFO  run finished task=report run=\S+ exit=0 \d+ms$/);
    expect(lines.at(-1)).toMatch(/INFO {2}stopped$/);

    const record = finished()[0];
    expect(record).toMatchObject({ task: 'report', exitCode: 0, jobPid: expect.any(Number) });
    expect(record.jobPid).not.toBe(daemon);
    expect(record).not.toHaveProperty('pid');
  }, 40_000);
});
