import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isAlive, killAll, waitFor } from '../helpers/processes.js';
// @ts-expect-error: a plain ESM helper shared with the fake daemon (test/ is not typechecked by tsc)
import { connectKeeper } from './keeper-client.mjs';

const KEEPER = path.resolve('build/Release/gotorch_keeper');
const FAKE_DAEMON = path.resolve('test/keeper/fake-daemon.mjs');

interface Keeper {
  readonly child: ChildProcess;
  readonly dir: string;
  readonly socket: string;
  readonly log: () => string;
  readonly exited: Promise<number | null>;
}

const started: Keeper[] = [];

function startKeeper(scenario: string, spoolLimit = 1 << 20): Keeper {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gotorch-keeper-'));
  const socket = path.join(dir, 'keeper.sock');
  const args = ['--socket', socket, '--spool-limit', String(spoolLimit), '--verbose', '--', process.execPath, FAKE_DAEMON, scenario, dir];
  const child = spawn(KEEPER, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr?.on('data', (chunk: Buffer) => (log += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const keeper = { child, dir, socket, log: () => log, exited };
  started.push(keeper);
  return keeper;
}

const read = (keeper: Keeper, name: string): string => readFileSync(path.join(keeper.dir, name), 'utf8');
const readIfThere = (keeper: Keeper, name: string): string => (existsSync(path.join(keeper.dir, name)) ? read(keeper, name) : '');
const daemonStarts = (keeper: Keeper): number[] => readIfThere(keeper, 'starts').split('\n').filter(Boolean).map(Number);
const held = async (keeper: Keeper): Promise<{ daemon: number; jobs: Record<string, number> }> =>
  JSON.parse(await waitFor(() => readIfThere(keeper, 'held.json'), 15_000, 'the fake daemon to hold its jobs'));

function vmRssKb(pid: number): number {
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
}

/** The numbers of `prefix N` lines in arrival order. */
function numbers(text: string, prefix: string): number[] {
  return text.split('\n').filter(Boolean).map((line) => {
    expect(line.startsWith(`${prefix} `), `line "${line}"`).toBe(true);
    return Number(line.slice(prefix.length + 1));
  });
}

afterEach(async () => {
  const pids: number[] = [];
  for (const keeper of started.splice(0)) {
    pids.push(keeper.child.pid ?? 0, ...daemonStarts(keeper));
    const jobs = readIfThere(keeper, 'held.json');
    if (jobs) pids.push(...Object.values(JSON.parse(jobs).jobs as Record<string, number>));
    await killAll(pids.filter((pid) => pid > 0));
    rmSync(keeper.dir, { recursive: true, force: true });
  }
});

describe('job keeper', () => {
  it('keeps 5 chatty jobs and all their lines across a kill -9 of the daemon and hands them to its restart', async () => {
    const keeper = startKeeper('chatty');
    const { daemon, jobs } = await held(keeper);
    await waitFor(() => Object.keys(jobs).every((id) => numbers(readIfThere(keeper, `first-${id}.out`), `${id} out`).length >= 3), 15_000, 'the first daemon to read a few lines of each job');
    process.kill(daemon, 'SIGKILL');
    await waitFor(() => keeper.log().includes(`daemon ${daemon} killed by signal 9; restarting in 1 s`), 10_000, 'the keeper to log the kill');
    await waitFor(() => keeper.log().includes('draining the pipes of 5 held jobs'), 10_000, 'the keeper to drain');
    const rssKb = vmRssKb(keeper.child.pid!);

    const result = JSON.parse(await waitFor(() => readIfThere(keeper, 'result.json'), 30_000, 'the restarted daemon to adopt every job'));
    expect(await keeper.exited).toBe(0); // the restarted daemon dropped everything, said BYE and exited 0
    expect(existsSync(keeper.socket)).toBe(false);
    expect(daemonStarts(keeper)).toHaveLength(2);

    let lost = 0;
    for (const [k, id] of Object.keys(jobs).entries()) {
      const run = result.find((entry: { id: string }) => entry.id === id);
      expect(run.status).toBe(`exit:${11 + k}`); // ran to its end: no SIGPIPE while no daemon ran
      expect(run.listed.pid).toBe(jobs[id]);
      for (const [stream, word] of [['out', 'out'], ['err', 'err']]) {
        const seen = [...numbers(readIfThere(keeper, `first-${id}.${stream}`), `${id} ${word}`), ...numbers(run[`std${stream}`], `${id} ${word}`)];
        lost += 60 - new Set(seen).size;
        expect(seen, `${id} std${stream}`).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
      }
    }
    console.log(`keeper kill -9: lines lost ${lost} of ${5 * 2 * 60}; keeper VmRSS ${rssKb} kB while draining 5 jobs`);
  });

  it('spools at most --spool-limit bytes of a pipe while no client is connected and counts the rest as dropped', async () => {
    const limit = 65_536;
    const keeper = startKeeper('spool', limit);
    const { daemon, jobs } = await held(keeper);
    process.kill(daemon, 'SIGKILL');
    await waitFor(() => keeper.log().includes('draining the pipes of 1 held jobs'), 10_000, 'the keeper to drain');
    writeFileSync(path.join(keeper.dir, 'go'), ''); // the job writes 300000 bytes now
    await waitFor(() => !isAlive(jobs.big), 15_000, 'the job to finish its writes (never blocked)');
    await waitFor(() => daemonStarts(keeper).length === 2, 10_000, 'the keeper to restart the daemon');

    const client = await connectKeeper(keeper.socket);
    const run = await waitFor(async () => (await client.list()).find((entry: { status: string }) => entry.status !== 'running'), 10_000, 'the exit status');
    expect(run).toMatchObject({ id: 'big', pid: jobs.big, fds: [-1, -1], status: 'exit:3', spooled: [limit, 0], dropped: 300_000 - limit });
    const bytes: Buffer = await client.spool('big', 'stdout');
    expect(bytes.toString()).toBe('x'.repeat(limit));
    expect((await client.list())[0].spooled).toEqual([0, 0]); // SPOOL empties it
    expect(await client.request('DROP big')).toBe('OK');
    expect(await client.list()).toEqual([]);
    client.close();
  });

  it('exits 0 and removes its socket after BYE from a daemon that holds nothing; DROP of an unknown id is ERR', async () => {
    const keeper = startKeeper('bye');
    expect(await keeper.exited).toBe(0);
    expect(JSON.parse(read(keeper, 'result.json')).drop).toMatch(/^ERR no entry nothing-held$/);
    expect(existsSync(keeper.socket)).toBe(false);
    expect(keeper.log()).toMatch(/daemon \d+ stopped cleanly; nothing held; exiting/);
  });

  it('holds more jobs than its first table of 512: each HOLD is kept and listed, each DROP frees it', async () => {
    const keeper = startKeeper('many');
    expect(await keeper.exited).toBe(0);
    expect(JSON.parse(read(keeper, 'result.json'))).toEqual({ answers: ['OK'], held: 600, ids: 600, lastTag: 'tag-599', after: 0 });
    expect(keeper.log()).not.toMatch(/cannot hold/);
  });

  it('QUIET: HOLD and DROP are not answered (a refusal is logged); a daemon killed after its BYE is not restarted', async () => {
    const keeper = startKeeper('quiet-bye');
    expect(await keeper.exited).toBe(0);
    expect(JSON.parse(read(keeper, 'result.json'))).toEqual({ quiet: 'OK', ready: 'OK' });
    expect(keeper.log()).toMatch(/refused a request of process \d+: no entry nothing-held/);
    expect(keeper.log()).toMatch(/refused a request of process \d+: usage: HOLD/);
    expect(keeper.log()).toMatch(/daemon \d+ killed by signal 12 after it had stopped cleanly; nothing held; exiting/);
    expect(daemonStarts(keeper)).toHaveLength(1);
    expect(existsSync(keeper.socket)).toBe(false);
  });

  it('restarts a daemon that keeps failing after 1, 2, 4 s; SIGTERM goes to the daemon and ends the keeper without a restart', async () => {
    const crashing = startKeeper('crash');
    await waitFor(() => daemonStarts(crashing).length === 4, 20_000, 'three restarts');
    expect(crashing.log().match(/exited with 1; restarting in \d+ s/g)?.slice(0, 3)).toEqual(['1 s', '2 s', '4 s'].map((delay) => `exited with 1; restarting in ${delay}`));

    const idle = startKeeper('idle');
    await waitFor(() => daemonStarts(idle).length === 1 && existsSync(idle.socket), 10_000, 'the daemon to start');
    idle.child.kill('SIGTERM');
    expect(await idle.exited).toBe(0);
    expect(isAlive(daemonStarts(idle)[0])).toBe(false);
    expect(idle.log()).toMatch(/daemon \d+ killed by signal 15 after a stop signal; exiting/);
    expect(existsSync(idle.socket)).toBe(false);
    expect(daemonStarts(idle)).toHaveLength(1);
  });

  it('hands over to a daemon started by START with a new argv: the old one exits after BYE, the job\'s exit reaches the successor through WATCH', async () => {
    const keeper = startKeeper('handover');
    await waitFor(() => readIfThere(keeper, 'exit-line') !== '', 15_000, 'the successor to see the job end');
    expect(read(keeper, 'start-answer')).toMatch(/^OK \d+$/);
    expect(read(keeper, 'exit-line')).toBe('EXIT short exit:7');
    expect(await keeper.exited).toBe(0);
    expect(daemonStarts(keeper)).toHaveLength(2);
    expect(keeper.log()).toMatch(/daemon \d+ exited with 0; daemon \d+ runs on/);
    expect(keeper.log()).toMatch(/daemon \d+ stopped cleanly; nothing held; exiting/);
  });

  it('restarts nothing when a successor fails while the old daemon runs; a first daemon that never was ready ends the keeper with its status', async () => {
    const keeper = startKeeper('handover-fails');
    await waitFor(() => /daemon \d+ exited with 3; daemon \d+ runs on/.test(keeper.log()), 15_000, 'the successor to fail');
    const [first, second] = daemonStarts(keeper);
    expect(isAlive(first)).toBe(true);
    expect(isAlive(second)).toBe(false);
    expect(keeper.log()).not.toMatch(/restarting/);
    expect(daemonStarts(keeper)).toHaveLength(2);

    const broken = startKeeper('never-ready');
    expect(await broken.exited).toBe(3);
    expect(broken.log()).toMatch(/daemon \d+ exited with 3 before it was ready; exiting/);
  });

  it('refuses a socket another keeper answers on', async () => {
    const first = startKeeper('idle');
    await waitFor(() => existsSync(first.socket) && daemonStarts(first).length === 1, 10_000, 'the first keeper to listen');
    const second = spawn(KEEPER, ['--socket', first.socket, '--', 'true'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    second.stderr?.on('data', (chunk: Buffer) => (log += chunk.toString()));
    expect(await new Promise((resolve) => second.on('close', resolve))).toBe(1);
    expect(log).toContain(`a keeper already answers on ${first.socket}`);
    expect(existsSync(first.socket)).toBe(true);
  });
});
