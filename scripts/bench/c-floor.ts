/**
 * The C floor (floor.c): the same jobs posix_spawned by a small C program woken at each second boundary,
 * the physical limit gotorch's figures are set against. Compiled with `gcc -O2` into a temp dir once a
 * bench run; without gcc (or if it fails) every floor figure is reported missing with the reason.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { round, summary } from './stats.js';

const SOURCE = path.resolve('scripts/bench/floor.c');
let compiled: { readonly binary: string } | { readonly missing: string } | undefined;

/** The floor's executable, compiled on first use; throws the reason it cannot be (the caller reports it missing). */
export function floorBinary(): string {
  if (compiled === undefined) {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'gotorch-bench-floor-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    const binary = path.join(dir, 'floor');
    const gcc = spawnSync('gcc', ['-O2', '-o', binary, SOURCE], { encoding: 'utf8' });
    if (gcc.error !== undefined) compiled = { missing: `gcc did not run (${gcc.error.message}): the C floor needs gcc (Debian package gcc)` };
    else if (gcc.status !== 0) compiled = { missing: `gcc -O2 ${path.basename(SOURCE)} failed: ${gcc.stderr.trim().split('\n')[0]}` };
    else compiled = { binary };
  }
  if ('missing' in compiled) throw new Error(compiled.missing);
  return compiled.binary;
}

/** `bursts` bursts of `jobs` `bash -c /bin/true` (the daemon's burst jobs), each timed from its second boundary to the last posix_spawn call. */
export async function floorBurst(jobs: number, bursts: number) {
  const child = spawn(floorBinary(), ['burst', String(jobs), String(bursts)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let printed = '';
  child.stdout?.on('data', (chunk: Buffer) => (printed += chunk.toString()));
  const code = await new Promise((resolve) => child.once('close', resolve));
  const times = printed.split('\n').slice(1).filter(Boolean).map(Number);
  if (code !== 0 || times.length !== bursts) throw new Error(`the C floor's burst exited with ${code} after ${times.length} of ${bursts} bursts`);
  const { p50, max } = summary(times);
  return { bursts, lastStartedP50Ms: round(p50, 1), lastStartedMaxMs: round(max, 1) };
}
