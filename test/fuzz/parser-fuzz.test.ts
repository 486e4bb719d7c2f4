/**
 * Fuzzing the task-file parser (SPEC §1, §1.7): thousands of malformed files made by mutating valid
 * lines. For every case: parseTaskFile never throws, stays fast, and every error is a well-formed
 * `file:line:column: message`. Includes: cycles and deep chains through real files resolve quickly.
 *
 * FUZZ_SEED=<n> replays a run (the seed is printed on failure); GOTORCH_LONG=1 runs 200,000 cases.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { afterAll, describe, expect, it } from 'vitest';
import type { TaskFileError } from '../../src/tasks/errors.js';
import { loadTasks } from '../../src/tasks/load.js';
import { parseTaskFile } from '../../src/tasks/task-file.js';
import type { LineContext } from '../../src/tasks/task-line.js';
import { Gen, makeCase, MB } from './cases.js';
import { cpuTimer } from '../helpers/cpu-time.js';

const FILE = 'fuzz.conf';
const context: LineContext = { env: {}, shell: '/bin/sh', zone: 'UTC', asRoot: false, baseDir: '/tmp' };
const LONG = process.env.GOTORCH_LONG === '1';
const CASES = LONG ? 200_000 : 10_000;
const SEED = process.env.FUZZ_SEED === undefined ? 0x5eed_2026 : Number(process.env.FUZZ_SEED);
/**
 * The most CPU time one parse may take. The bugs fuzzing found took 0.25-3.8 s of wall time (the 0.1 s cwd one can no longer
 * recur: cwd= is capped at 4,096 bytes); the slowest honest row, 1 MB of unknown options, takes 45-50 ms here alone
 * and reached 100 ms on a loaded CI box (CPU time, but a shared core's caches still count). 200 ms keeps 4x room
 * and still fails every one of those bugs.
 */
const MAX_MS = 200;


// ---------------------------------------------------------------------------------------------------
// An independent reading of SPEC §1's line rules: logical lines, env lines. Used to check the parser.

interface OracleLine {
  readonly text: string;
  readonly line: number;
}

function oracleLogicalLines(source: string): OracleLine[] {
  const text = source.startsWith('\ufeff') ? source.slice(1) : source;
  const result: OracleLine[] = [];
  let pending: OracleLine | undefined;
  text.split('\n').forEach((raw, index) => {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (!pending && /^[ \t]*(#|$)/.test(line)) return;
    // README choices: only an odd number of trailing backslashes continues a line, as in the shell.
    let backslashes = 0;
    while (line[line.length - 1 - backslashes] === '\\') backslashes++;
    const continues = backslashes % 2 === 1;
    const body = continues ? line.slice(0, -1) : line;
    pending = pending ? { text: `${pending.text} ${body}`, line: pending.line } : { text: body, line: index + 1 };
    if (!continues) {
      result.push(pending);
      pending = undefined;
    }
  });
  if (pending) result.push(pending);
  return result;
}

const ENV_LINE = /^[ \t]*[A-Za-z_][A-Za-z0-9_]*[ \t]*=/;

// ---------------------------------------------------------------------------------------------------
// Known parser bugs not yet fixed: the fuzz loop recognises them by an independent predicate (so they
// do not hide other failures), and their regression rows are marked `fails` until they are fixed.

interface KnownBug {
  readonly id: string;
  /** True when `source` triggers this bug, judged without the parser. */
  readonly triggers: (source: string) => boolean;
  /** True when the observed failure is this bug's symptom. */
  readonly symptom: (failure: string) => boolean;
}

/**
 * Empty since 6c4d8ed fixed what this fuzzer found (a TypeError on a line without schedule fields or
 * a blank continued line; a slow 1 MB quoted value). Add an entry only for a bug not yet fixed.
 */
const KNOWN_BUGS: readonly KnownBug[] = [];

// ---------------------------------------------------------------------------------------------------
// The checks applied to every case.

function lineCount(source: string): number {
  return source.split('\n').length;
}

/** Problems with one parse, as text (empty when the case is fine). */
function check(source: string): { problems: string[]; ms: number } {
  const elapsed = cpuTimer();
  let parsed: ReturnType<typeof parseTaskFile>;
  try {
    parsed = parseTaskFile(source, FILE, context);
  } catch (error) {
    return { problems: [`threw ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`], ms: elapsed() };
  }
  const ms = elapsed();
  const problems: string[] = [];
  const lines = lineCount(source);
  const physical = source.split('\n');
  for (const error of parsed.errors) problems.push(...errorProblems(error, lines, physical));
  for (const warning of parsed.warnings) problems.push(...errorProblems(warning, lines, physical).map((problem) => `warning ${problem}`));
  if (parsed.errors.length === 0) {
    // Sanity: a file without errors yields one entry (task or include) per logical line that is not an env line.
    // A logical line of only whitespace (blanks joined by continuations) is a blank line, not a task.
    const expected = oracleLogicalLines(source).filter((line) => line.text.trim() !== '' && !ENV_LINE.test(line.text)).length;
    if (parsed.entries.length !== expected) problems.push(`no errors but ${parsed.entries.length} entries for ${expected} task/include lines`);
  }
  return { problems, ms };
}

function errorProblems(error: TaskFileError, lines: number, physical: readonly string[]): string[] {
  const problems: string[] = [];
  const where = `${error.file}:${error.line}:${error.column}`;
  if (error.file !== FILE) problems.push(`error file is "${error.file}", not "${FILE}"`);
  if (!Number.isInteger(error.line) || error.line < 1) problems.push(`${where}: line must be an integer >= 1`);
  if (error.line > lines + 1) problems.push(`${where}: line beyond the ${lines} lines of the source`);
  if (!Number.isInteger(error.column) || error.column < 1) problems.push(`${where}: column must be an integer >= 1`);
  const text = physical[error.line - 1];
  if (text !== undefined && error.column > text.length + 1) problems.push(`${where}: column beyond the line's ${text.length} characters`);
  if (typeof error.message !== 'string' || error.message.trim() === '') problems.push(`${where}: empty message`);
  return problems;
}

function show(source: string): string {
  return source.length > 300 ? `${JSON.stringify(source.slice(0, 300))}... (${source.length} chars)` : JSON.stringify(source);
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))];
}


// Regression rows: inputs that broke the parser (or a limit) during fuzzing. `fails: true` rows are
// known bugs in src/ kept as it.fails until fixed; each says exactly what is wrong.
interface Regression {
  readonly name: string;
  readonly source: string;
  readonly expect: { readonly errors?: number; readonly entries?: number; readonly maxMs?: number; readonly message?: string };
  readonly fails?: string;
}

const REGRESSIONS: readonly Regression[] = [
  // Found by fuzzing, fixed in 6c4d8ed: a logical line that is blank only after joining continuations
  // (`\` alone, ` \`, `\` then a blank line or end of file) threw TypeError "Cannot read properties of
  // undefined (reading 'at')" in src/tasks/task-line.ts (the "found 0 fields" error was mapped to
  // scheduleTokens[0], which did not exist). It is now skipped like any blank line.
  { name: 'a lone backslash at end of file', source: '\\', expect: { errors: 0, entries: 0 } },
  { name: 'blank then backslash', source: ' \\', expect: { errors: 0, entries: 0 } },
  { name: 'backslash continuing into a blank line', source: '* * * * * * * 1 cron date\n\\\n\n', expect: { errors: 0, entries: 1 } },
  { name: 'tab, backslash, then a line of blanks', source: '\t\\\n ', expect: { errors: 0, entries: 0 } },
  { name: 'BOM then backslash', source: '\ufeff\\', expect: { errors: 0, entries: 0 } },
  { name: 'chain of backslash-only lines', source: '\\\n\\\n\\', expect: { errors: 0, entries: 0 } },
  { name: 'CR alone then backslash', source: '\r\\', expect: { errors: 0, entries: 0 } },
  // Found by fuzzing, fixed in 6c4d8ed: the same TypeError for a line with hosts, max and type but no
  // schedule fields at all; now "expected 6 schedule fields (...), found 0" as for 5 or 7 fields.
  { name: 'hosts, max, type and no schedule', source: '* 1 cron date', expect: { errors: 1, message: 'found 0' } },
  { name: 'no schedule, from the fuzzer', source: '*/5 2 common x=UTC _=" nmae=90s \t 🕐', expect: { message: 'found 0' } },
  { name: 'no schedule on a continued line', source: 'A=1\n\\\n  * 0 daemon sleep 1', expect: { message: 'found 0' } },
  // Found by fuzzing, fixed in 6c4d8ed: ENV_LINE and INCLUDE_LINE ended in `(.*)$`, and `.` does not
  // match a bare CR, U+2028 or U+2029, so `NAME=value` with one inside fell through to the task-line
  // parser (misleading "found 1" errors, or the TypeError when the text after the CR read `<n> cron`).
  { name: 'env line with a bare CR in its value', source: 'PATH=/bin\r/usr/bin', expect: { errors: 0, entries: 0 } },
  { name: 'env line with U+2028 in its value', source: 'A=x\u2028y', expect: { errors: 0, entries: 0 } },
  { name: 'CR-only line endings before a task line', source: 'PATH=/usr/bin\r* 2 cron date', expect: { errors: 0, entries: 0 } },
  // Found by fuzzing, fixed in 6c4d8ed: a quoted option value was copied one character at a time
  // (1 MB took 96-153 ms); cwd= is now also capped at PATH_MAX.
  { name: '1 MB quoted cwd value', source: `* * * * * * * 1 cron cwd="${'d'.repeat(MB)}" true`, expect: { errors: 1, message: 'longer than 4096', maxMs: MAX_MS } },
  { name: '1 MB quoted name value', source: `* * * * * * * 1 cron name="${'n'.repeat(MB)}" true`, expect: { errors: 0, entries: 1, maxMs: MAX_MS } },
  { name: 'quoted cwd at the PATH_MAX limit', source: `* * * * * * * 1 cron cwd="/${'d'.repeat(4095)}" true`, expect: { errors: 0, entries: 1 } },
  // Found by fuzzing, fixed in 6c4d8ed: slow paths. Each unknown zone rebuilt the list of ~400 zone
  // names for its suggestion (100 bad TZ= lines took 0.6-1 s); every unknown option built a
  // did-you-mean message (1 MB of them took 1.5-3.8 s); a 1 MB hosts column took ~250-540 ms.
  { name: '100 unknown TZ= lines', source: Array.from({ length: 100 }, (_, i) => `TZ=Bad/Zone${i}`).join('\n'), expect: { errors: 100, maxMs: MAX_MS } },
  { name: '1 MB of unknown options', source: `* * * * * * * 1 cron ${'a=1 '.repeat(MB / 4)}x`, expect: { maxMs: MAX_MS } },
  { name: '1 MB hosts column', source: `* * * * * * ${'web-*,'.repeat(MB / 6)}x 1 cron date`, expect: { maxMs: MAX_MS } },
  // Neighbours of the bugs that must keep working.
  { name: 'env line ending in a backslash', source: 'A=\\', expect: { errors: 0, entries: 0 } },
  { name: 'env line ending in an escaped backslash, then a task', source: 'A=\\\\\n* * * * * * * 1 cron date', expect: { errors: 0, entries: 1 } },
  { name: 'bare include with a continuation', source: 'include \\', expect: { errors: 1, message: 'include needs a file or glob' } },
  { name: 'zero-width space alone', source: '\u200b', expect: { errors: 2, message: 'found 1' } },
  { name: '@every without a duration', source: '@every', expect: { errors: 2, message: '@every needs a duration' } },
  { name: 'NUL byte', source: '* * * * * * * 1 cron a\0b', expect: { errors: 1, message: 'NUL byte' } },
  // Past MAX_ARG_STRLEN every exec fails with E2BIG: an error at check time (issue 10).
  { name: '1 MB command', source: `* * * * * * * 1 cron ${'x'.repeat(MB)}`, expect: { errors: 1, entries: 0, message: 'E2BIG', maxMs: MAX_MS } },
];

describe('parser regressions found by fuzzing', () => {
  for (const row of REGRESSIONS) {
    const test = row.fails ? it.fails : it;
    test(`${row.name}${row.fails ? ` (known bug: ${row.fails})` : ''}`, () => {
      const elapsed = cpuTimer();
      const parsed = parseTaskFile(row.source, FILE, context);
      let ms = elapsed();
      // The best of up to five parses: the bound is for the parser's own cost (the bugs took seconds), not a
      // collection of the 10,000 fuzzed cases' garbage that happens to fall inside one parse.
      for (let attempt = 1; attempt < 5 && row.expect.maxMs !== undefined && ms > row.expect.maxMs; attempt++) {
        const again = cpuTimer();
        parseTaskFile(row.source, FILE, context);
        ms = Math.min(ms, again());
      }
      const lines = lineCount(row.source);
      const physical = row.source.split('\n');
      expect(parsed.errors.flatMap((error) => errorProblems(error, lines, physical))).toEqual([]);
      if (row.expect.errors !== undefined) expect(parsed.errors).toHaveLength(row.expect.errors);
      if (row.expect.entries !== undefined) expect(parsed.entries).toHaveLength(row.expect.entries);
      if (row.expect.message !== undefined) expect(parsed.errors.map((error) => error.message).join('\n')).toContain(row.expect.message);
      if (row.expect.maxMs !== undefined) expect(ms).toBeLessThanOrEqual(row.expect.maxMs);
    });
  }
});

// ---------------------------------------------------------------------------------------------------
// The fuzz run comes after the regression rows: its 10,000 cases leave a heap that slows a timed parse.

describe(`parseTaskFile fuzz (seed ${SEED}, ${CASES} cases)`, () => {
  it('never throws, stays fast, and reports every error as file:line:column: message', { timeout: LONG ? 1_800_000 : 60_000 }, () => {
    const gen = new Gen(SEED);
    const times: number[] = [];
    const failures: string[] = [];
    const known = new Map<string, number>();
    let withErrors = 0;
    let megabytes = 0;
    let slowest = { ms: 0, source: '' };
    let cleanMax = 0;
    for (let index = 0; index < CASES; index++) {
      const source = makeCase(gen, index, CASES);
      if (source.length >= MB) megabytes += source.length / MB;
      let { problems, ms } = check(source);
      // One retry of a slow case: a GC pause or a busy CI core is not the parser's doing.
      if (ms > MAX_MS && problems.length === 0) ms = Math.min(ms, check(source).ms);
      times.push(ms);
      if (ms > slowest.ms) slowest = { ms, source };
      if (ms > MAX_MS) problems.push(`took ${ms.toFixed(1)} ms (limit ${MAX_MS})`);
      const bug = KNOWN_BUGS.find((candidate) => problems.length > 0 && problems.every(candidate.symptom) && candidate.triggers(source));
      if (bug) {
        known.set(bug.id, (known.get(bug.id) ?? 0) + 1);
        continue;
      }
      cleanMax = Math.max(cleanMax, ms);
      if (problems.length > 0) failures.push(`case ${index}: ${show(source)}\n    ${problems.join('\n    ')}`);
      else if (parseTaskFile(source, FILE, context).errors.length > 0) withErrors++;
    }
    const sorted = [...times].sort((a, b) => a - b);
    const summary =
      `fuzz seed=${SEED} cases=${CASES} with-errors=${withErrors} 1MB-lines≈${megabytes.toFixed(1)}MB ` +
      `p50=${percentile(sorted, 50).toFixed(3)}ms p99=${percentile(sorted, 99).toFixed(3)}ms max=${sorted[sorted.length - 1].toFixed(1)}ms max-without-known-bugs=${cleanMax.toFixed(1)}ms ` +
      `(slowest: ${show(slowest.source).slice(0, 120)}) known bugs hit: ${JSON.stringify(Object.fromEntries(known))}`;
    console.log(summary);
    expect(megabytes, 'a few 1 MB lines in the run').toBeGreaterThanOrEqual(3);
    expect(withErrors, 'the cases are mostly malformed').toBeGreaterThan(CASES / 2);
    if (failures.length > 0) {
      throw new Error(`${failures.length} fuzz failures (replay with FUZZ_SEED=${SEED}); first ones:\n${failures.slice(0, 10).join('\n')}`);
    }
  });
});

// ---------------------------------------------------------------------------------------------------
// Include cycles and chains through real files (SPEC §1.6): each resolves quickly with a located error.

describe('include cycles and deep chains (loadTasks)', () => {
  const dirs: string[] = [];
  const tempDir = () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'gotorch-fuzz-'));
    dirs.push(dir);
    return dir;
  };
  const write = (dir: string, file: string, text: string) => {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    writeFileSync(path.join(dir, file), text);
  };
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  async function loadTimed(file: string) {
    const elapsed = cpuTimer();
    const result = await loadTasks(file, { asRoot: false, zone: 'UTC' });
    return { ...result, ms: elapsed() };
  }

  function expectLocated(errors: readonly TaskFileError[], pattern: RegExp, files: readonly string[]) {
    const matching = errors.filter((error) => pattern.test(error.message));
    expect(matching.length, JSON.stringify(errors)).toBeGreaterThanOrEqual(1);
    for (const error of matching) {
      expect(files).toContain(error.file);
      expect(error.line).toBeGreaterThanOrEqual(1);
      expect(error.column).toBeGreaterThanOrEqual(1);
    }
  }

  for (const size of [2, 5]) {
    it(`a cycle of ${size} files`, async () => {
      const dir = tempDir();
      const names = Array.from({ length: size }, (_, i) => `f${i}.conf`);
      names.forEach((name, i) => write(dir, name, `* * * * * * * 1 cron name=t${i} true\n# pad\ninclude ${names[(i + 1) % size]}\n`));
      const result = await loadTimed(path.join(dir, names[0]));
      expect(result.ms).toBeLessThan(1000);
      expectLocated(result.errors, /include cycle/, names.map((name) => path.join(dir, name)));
      // The error points at the include line (line 3, column 9) of the file that closes the cycle.
      const cycle = result.errors.find((error) => /include cycle/.test(error.message));
      expect(cycle).toMatchObject({ file: path.join(dir, names[size - 1]), line: 3, column: 9 });
    });
  }

  it('a chain 40 files deep stops at the depth limit', async () => {
    const dir = tempDir();
    for (let i = 0; i < 40; i++) write(dir, `c${i}.conf`, `* * * * * * * 1 cron name=c${i} true\n${i < 39 ? `include c${i + 1}.conf` : ''}\n`);
    const result = await loadTimed(path.join(dir, 'c0.conf'));
    expect(result.ms).toBeLessThan(1000);
    expectLocated(result.errors, /nested deeper/, Array.from({ length: 40 }, (_, i) => path.join(dir, `c${i}.conf`)));
    expect(result.files.length).toBeLessThan(40);
  });

  it('a glob include that matches the including file', async () => {
    const dir = tempDir();
    write(dir, 'conf.d/a.conf', '* * * * * * * 1 cron name=a true\ninclude *.conf\n');
    write(dir, 'conf.d/b.conf', '* * * * * * * 1 cron name=b true\n');
    const result = await loadTimed(path.join(dir, 'conf.d/a.conf'));
    expect(result.ms).toBeLessThan(1000);
    expectLocated(result.errors, /include cycle|nested deeper/, [path.join(dir, 'conf.d/a.conf')]);
    expect(result.errors.find((error) => /include cycle/.test(error.message))).toMatchObject({ line: 2, column: 9 });
  });

  // Each file of a directory including the whole directory (`include g*.conf`). Found by fuzzing, fixed
  // in 6c4d8ed: the loader followed every simple path through the files, so work and errors grew
  // factorially (7 files: 1.2 s, 13,693 errors; 8 files: 6.3 s, 109,593 errors, 13,700 reads).
  const everyFileIncludesAll = async (count: number) => {
    const dir = tempDir();
    for (let i = 0; i < count; i++) write(dir, `g${i}.conf`, `include g*.conf\n* * * * * * * 1 cron name=g${i} true\n`);
    const result = await loadTimed(path.join(dir, 'g0.conf'));
    expectLocated(result.errors, /include cycle|nested deeper/, Array.from({ length: count }, (_, i) => path.join(dir, `g${i}.conf`)));
    return result;
  };

  it('three files that each include the whole directory', async () => {
    const result = await everyFileIncludesAll(3);
    expect(result.ms).toBeLessThan(1000);
  });

  it('eight files that each include the whole directory: no factorial walk', async () => {
    const result = await everyFileIncludesAll(8);
    expect(result.errors.length).toBeLessThanOrEqual(8 * 8);
    expect(result.files.length).toBeLessThanOrEqual(8 * 8);
    expect(result.ms).toBeLessThan(1000);
  });
});
