/**
 * A running daemon survives a reload of every fuzzed task file (SPEC §5): it never exits, rejects the
 * bad ones whole, and its schedule keeps firing every second throughout. GOTORCH_LONG=1 runs 20,000.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { request } from '../../src/cli/control-client.js';
import { CLI, isAlive, killAll, processesMentioning, waitFor } from '../helpers/processes.js';
import { Gen, makeCase } from './cases.js';

const CASES = process.env.GOTORCH_LONG === '1' ? 20_000 : 1500;
const SEED = process.env.FUZZ_SEED === undefined ? 0x5eed_2027 : Number(process.env.FUZZ_SEED);

const dir = mkdtempSync(path.join(os.tmpdir(), 'gotorch-reload-fuzz-'));
const conf = path.join(dir, 'tasks.conf');
const socket = path.join(dir, 'run', 'gotorch.sock');
const tick = `* * * * * * * 1 cron name=fuzz-tick echo $GOTORCH_SCHEDULED_AT >> ${dir}/tick.out`;

function gotorch(...args: string[]): { status: number | null; output: string } {
  const result = spawnSync(process.execPath, [CLI, '-c', conf, '--pidfile', path.join(dir, 'run', 'gotorch.pid'), '--log-dir', path.join(dir, 'log'), '--host-id', 'fuzz-host', ...args], { encoding: 'utf8' });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

const seconds = (): number[] => (existsSync(path.join(dir, 'tick.out')) ? readFileSync(path.join(dir, 'tick.out'), 'utf8').split('\n').filter(Boolean).map(Number) : []);

/** What the logs say of the seconds around a missing one: the tick's records, skips, and the daemon's records. */
function around(missing: readonly number[]): string {
  const logs = ['runs.log', 'gotorch.log'].flatMap((name) => readFileSync(path.join(dir, 'log', name), 'utf8').split('\n'));
  const near = (line: string): boolean => {
    const time = Number(/"time":(\d+)/.exec(line)?.[1]) / 1000;
    return missing.some((second) => Math.abs(time - second) < 2.5);
  };
  return logs.filter((line) => line !== '' && !line.includes('"task file rejected') && near(line)).map((line) => line.slice(0, 400)).join('\n');
}

afterAll(async () => {
  gotorch('stop');
  await killAll(processesMentioning(dir));
});

describe('the daemon under fuzzed reloads', () => {
  it(`survives ${CASES} reloads of malformed files and never misses a second (seed ${SEED})`, async () => {
    writeFileSync(conf, `${tick}\n`);
    const started = gotorch('start');
    expect(started.status, started.output).toBe(0);
    const pid = Number(/pid (\d+)/.exec(started.output)?.[1]);
    await waitFor(() => seconds().length > 0, 5000, 'the first tick');
    const gen = new Gen(SEED);
    let rejected = 0;
    for (let index = 0; index < CASES; index++) {
      // The fuzz material's one job that writes outside a temp dir is pointed into this test's dir.
      const source = makeCase(gen, index, CASES).replaceAll('/tmp/tick.log', path.join(dir, 'tick.log'));
      // The tick comes first: what a case sets (SHELL= joined to the next line by a "\\", say) applies to the
      // lines after it only, so every version of the file that applies schedules the tick unchanged. (After
      // the case, a valid case's broken SHELL= once failed the one tick that fell in its few milliseconds.)
      writeFileSync(conf, `${tick}\n${source}\n`);
      const answer = await request(socket, { cmd: 'reload' }).catch((error: Error) => {
        throw new Error(`reload of case ${index} (seed ${SEED}) got no answer: ${error.message}\n${source.slice(0, 500)}`);
      });
      if (answer.ok) {
        // A case that happened to be valid: back to the baseline before its tasks get far.
        writeFileSync(conf, `${tick}\n`);
        await request(socket, { cmd: 'reload' });
      } else {
        rejected++;
      }
      expect(isAlive(pid), `daemon gone after case ${index} (seed ${SEED})`).toBe(true);
    }
    writeFileSync(conf, `${tick}\n`);
    const final = await request(socket, { cmd: 'reload' });
    expect(final.ok).toBe(true);
    const last = Math.floor(Date.now() / 1000);
    await waitFor(() => seconds().includes(last + 1), 5000, 'a tick after the fuzzing');
    const seen = [...new Set(seconds())].sort((a, b) => a - b);
    const missing = Array.from({ length: seen.at(-1)! - seen[0] + 1 }, (_, offset) => seen[0] + offset).filter((second) => !seen.includes(second));
    console.log(`${CASES} fuzzed reloads: ${rejected} rejected, ${CASES - rejected} applied and reverted; ${seen.length} seconds ticked, ${missing.length} missing`);
    expect(missing, missing.length === 0 ? '' : around(missing)).toEqual([]);
    expect(seconds().length).toBe(seen.length); // and none twice
    expect(rejected).toBeGreaterThan(CASES / 2);
  }, 120_000);
});
