/** SPEC §8 `jitter=`: the offset function, and the planner on the shifted clock (every rule of SPEC §3). */
import { describe, expect, it } from 'vitest';
import { hostJitter, jitterOffset, nextTaskFires, type JitterOf } from '../../src/planner/jitter.js';
import { Planner, type Advance } from '../../src/planner/planner.js';
import { hostName } from '../../src/fleet/identity.js';
import { tasksFrom, utc } from '../helpers/tasks.js';

const fired = (advance: Advance): string[] => advance.fires.map((fire) => `${fire.task.id}@${fire.second}`);

/** Offsets by task id (the planner takes any function: the daemon binds the host name in). */
const offsets =
  (table: Record<string, number>): JitterOf =>
  (task) =>
    table[task.id] ?? 0;

function run(planner: Planner, to: number): string[] {
  const result: string[] = [];
  for (let second = planner.lastSecond + 1; second <= to; second++) result.push(...fired(planner.advance(second)));
  return result;
}

describe('jitterOffset (SPEC §8)', () => {
  it('is an integer in [0, jitter), the same for the same task and host, 0 without jitter', () => {
    const offset = jitterOffset('backup', 'web-1', 60);
    expect(Number.isInteger(offset) && offset >= 0 && offset < 60).toBe(true);
    expect(jitterOffset('backup', 'web-1', 60)).toBe(offset);
    expect(jitterOffset('backup', 'web-1', 0)).toBe(0);
    expect(jitterOffset('backup', 'web-1', 1)).toBe(0);
    // Fixed values: a change of the hash would move every jittered fire of a fleet on upgrade.
    expect([jitterOffset('backup', 'web-1', 3600), jitterOffset('backup', 'web-2', 3600), jitterOffset('report', 'web-1', 3600)]).toEqual([2446, 1727, 873]);
  });

  it('1,000 host names over a 60 s window fill every 10 s bucket (none below half its share)', () => {
    const buckets = new Array<number>(6).fill(0);
    for (let host = 0; host < 1000; host++) buckets[Math.floor(jitterOffset('backup', `web-${host}.example.com`, 60) / 10)]++;
    for (const count of buckets) expect(count).toBeGreaterThanOrEqual(83);
  });

  it('the host name: the machine\'s, or a --host-id list\'s first name item, else its first item', () => {
    expect(hostName('10.0.1.5,Web-1.Example.com,web-2')).toBe('web-1.example.com');
    expect(hostName('10.0.1.5, fd00::5')).toBe('10.0.1.5');
    expect(hostName(undefined)).toMatch(/\S/);
  });

  it('hostJitter binds the host name: each task its own offset, 0 for a task without jitter', () => {
    const [plain, spread] = tasksFrom('0 * * * * * * 1 cron name=plain true\n0 * * * * * * 1 cron name=spread jitter=1h true');
    const jitterOf = hostJitter('web-1');
    expect(jitterOf(plain)).toBe(0);
    expect(jitterOf(spread)).toBe(jitterOffset('spread', 'web-1', 3600));
  });

  it('nextTaskFires gives the schedule\'s fires shifted by the offset', () => {
    const [task] = tasksFrom('0 30 * * * * * 1 cron name=half jitter=1m true');
    const after = utc('2026-06-01T10:30:10');
    expect(nextTaskFires(task, 37, after, 2)).toEqual([utc('2026-06-01T10:30:37'), utc('2026-06-01T11:30:37')]);
    expect(nextTaskFires(task, 0, after, 1)).toEqual([utc('2026-06-01T11:30:00')]);
  });
});

describe('planner with jitter: the shifted clock (SPEC §8, §3)', () => {
  it('a task with offset j fires at T when its schedule matches at T - j; the fire\'s second is T', () => {
    const start = utc('2026-11-20T10:00:00');
    const planner = new Planner(tasksFrom('0 * * * * * * 1 cron name=minute true'), start, offsets({ minute: 37 }));
    expect(run(planner, start + 120)).toEqual([`minute@${start + 37}`, `minute@${start + 97}`]);
  });

  it('two tasks with one schedule and different offsets fire apart; a task without jitter is unchanged', () => {
    const start = utc('2026-11-20T10:00:00') - 1;
    const planner = new Planner(tasksFrom('0 * * * * * * 1 cron name=a true\n0 * * * * * * 1 cron name=b true\n0 * * * * * * 1 cron name=c true'), start, offsets({ a: 5, b: 42 }));
    expect(run(planner, start + 60).sort()).toEqual([`a@${start + 6}`, `b@${start + 43}`, `c@${start + 1}`].sort());
  });

  it('a late wake across a shifted fire runs it once, with its shifted second', () => {
    const start = utc('2026-11-20T10:00:00');
    const planner = new Planner(tasksFrom('0 * * * * * * 1 cron name=minute true\n*/10 * * * * * * 1 cron name=ten true'), start, offsets({ minute: 37, ten: 3 }));
    const advance = planner.advance(start + 50);
    expect(fired(advance).sort()).toEqual([`minute@${start + 37}`, `ten@${start + 3}`].sort());
    expect(advance.events).toEqual([{ kind: 'late', fromSecond: start, toSecond: start + 50 }]);
  });

  it('@every is shifted too: fires when (T - j) is a multiple of the period', () => {
    const start = 90 * 1_000_000;
    const planner = new Planner(tasksFrom('@every 90s * 1 cron name=every true'), start, offsets({ every: 20 }));
    expect(run(planner, start + 199)).toEqual([`every@${start + 20}`, `every@${start + 110}`]);
  });

  it('the same-second guard holds across a reload with the same offsets', () => {
    const start = utc('2026-11-20T10:00:00');
    const text = '0 * * * * * * 1 cron name=minute true';
    const planner = new Planner(tasksFrom(text), start, offsets({ minute: 37 }));
    expect(fired(planner.advance(start + 37))).toEqual([`minute@${start + 37}`]);
    planner.setTasks(tasksFrom(text), offsets({ minute: 37 }));
    expect(fired(planner.advance(start + 37))).toEqual([]);
    expect(run(planner, start + 97)).toEqual([`minute@${start + 97}`]);
  });

  it('forward +90 min: a skipped fixed-time task runs once at the new time; wildcard tasks resume without replay', () => {
    const start = utc('2026-11-20T11:30:00');
    const planner = new Planner(tasksFrom('0 0 12 * * * * 1 cron name=noon true\n0 */15 * * * * * 1 cron name=quarter true'), start, offsets({ noon: 30, quarter: 30 }));
    const now = start + 90 * 60;
    const advance = planner.advance(now);
    expect(fired(advance)).toEqual([`noon@${now}`]);
    expect(advance.events).toEqual([{ kind: 'forward', fromSecond: start, toSecond: now }]);
    // The group's wall clock stood at 12:59:30: its 13:00:00 is 30 s later.
    expect(run(planner, now + 15 * 60 + 30)).toEqual([`quarter@${now + 30}`, `quarter@${now + 15 * 60 + 30}`]);
  });

  it('backward -30 min: a fixed-time task that ran for its shifted wall time does not run again', () => {
    const start = utc('2026-11-20T12:00:00');
    const planner = new Planner(tasksFrom('0 0 12 * * * * 1 cron name=noon true'), start, offsets({ noon: 20 }));
    expect(run(planner, start + 20)).toEqual([`noon@${start + 20}`]);
    planner.advance(start + 20 - 30 * 60);
    expect(run(planner, start + 60)).toEqual([]);
  });

  it('resync after a jump of more than 3 h: no catch-up; the shifted fires go on', () => {
    const start = utc('2026-11-20T10:00:00');
    const planner = new Planner(tasksFrom('0 * * * * * * 1 cron name=minute true'), start, offsets({ minute: 37 }));
    const now = start + 5 * 3600 + 10;
    const advance = planner.advance(now);
    expect(fired(advance)).toEqual([]);
    expect(advance.events).toEqual([{ kind: 'resync', fromSecond: start, toSecond: now }]);
    expect(run(planner, now + 60)).toEqual([`minute@${now + 27}`]);
  });

  it('Europe/Berlin spring forward: each group runs its skipped fixed-time task once at its shifted change; one DST event', () => {
    const change = utc('2026-03-29T01:00:00');
    const text = ['a', 'b', 'c'].map((name) => `0 30 2 * * * * 1 cron name=${name} tz=Europe/Berlin true`).join('\n');
    const planner = new Planner(tasksFrom(text), change - 3600, offsets({ b: 10, c: 25 }));
    const all: string[] = [];
    const dst: unknown[] = [];
    for (let second = change - 3599; second <= change + 3600; second++) {
      const advance = planner.advance(second);
      all.push(...fired(advance));
      dst.push(...advance.events.filter((event) => event.kind === 'dst'));
    }
    expect(all).toEqual([`a@${change}`, `b@${change + 10}`, `c@${change + 25}`]);
    expect(dst).toEqual([{ kind: 'dst', zone: 'Europe/Berlin', second: change, wallShift: 3600 }]);
  });

  it('Europe/Berlin fall back with only jittered tasks: one DST event, the fixed-time task in the first pass only', () => {
    const change = utc('2026-10-25T01:00:00');
    const planner = new Planner(tasksFrom('0 30 2 * * * * 1 cron name=fixed tz=Europe/Berlin true\n0 30 2 * * * * 1 cron name=other tz=Europe/Berlin true'), change - 3601, offsets({ fixed: 7, other: 9 }));
    const all: string[] = [];
    let dst = 0;
    for (let second = change - 3600; second <= change + 3600 + 60; second++) {
      const advance = planner.advance(second);
      all.push(...fired(advance));
      dst += advance.events.filter((event) => event.kind === 'dst').length;
    }
    expect(all).toEqual([`fixed@${change - 1800 + 7}`, `other@${change - 1800 + 9}`]);
    expect(dst).toBe(1);
  });

  it('a replay after a clean stop fires the shifted seconds missed', () => {
    const start = utc('2026-11-20T10:00:00');
    const planner = new Planner(tasksFrom('0 * * * * * * 1 cron name=minute true\n0 * * * * * * 1 cron name=other true'), start, offsets({ minute: 37, other: 12 }));
    const advance = planner.advance(start + 45, (task) => task.id === 'minute');
    expect(fired(advance)).toEqual([`minute@${start + 37}`]);
    expect(advance.events).toEqual([]);
  });
});
