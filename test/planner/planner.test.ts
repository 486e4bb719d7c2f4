import { describe, expect, it } from 'vitest';
import { Planner, type Advance } from '../../src/planner/planner.js';
import { tasksFrom, utc } from '../helpers/tasks.js';

const fired = (advance: Advance): string[] => advance.fires.map((fire) => `${fire.task.id}@${fire.second}`);
const names = (advance: Advance): string[] => advance.fires.map((fire) => fire.task.id).sort();

/** Advances one second at a time from the planner's last second to `to`, collecting `id@second`. */
function run(planner: Planner, to: number): string[] {
  const result: string[] = [];
  for (let second = planner.lastSecond + 1; second <= to; second++) result.push(...fired(planner.advance(second)));
  return result;
}

describe('planner: normal seconds (SPEC §3)', () => {
  it('fires a every-second task once per second with that second as scheduled time', () => {
    const start = utc('2026-11-20T10:00:00');
    const planner = new Planner(tasksFrom('* * * * * * * 1 cron name=each true'), start);
    expect(run(planner, start + 3)).toEqual([`each@${start + 1}`, `each@${start + 2}`, `each@${start + 3}`]);
  });

  it('plans a second once: advancing to the same second again fires nothing', () => {
    const start = utc('2026-11-20T10:00:00');
    const planner = new Planner(tasksFrom('* * * * * * * 1 cron name=each true'), start);
    expect(fired(planner.advance(start + 1))).toHaveLength(1);
    expect(fired(planner.advance(start + 1))).toEqual([]);
  });

  it('matches steps, ranges and hours through the index', () => {
    const start = utc('2026-11-20T09:59:59');
    const planner = new Planner(
      tasksFrom('*/20 * * * * * * 1 cron name=steps true\n0 0 10 * * * * 1 cron name=ten true\n5-6 0 10 * * * * 1 cron name=range true\n0 0 11 * * * * 1 cron name=eleven true'),
      start,
    );
    expect(run(planner, start + 21).sort()).toEqual([`ten@${start + 1}`, `steps@${start + 1}`, `range@${start + 6}`, `range@${start + 7}`, `steps@${start + 21}`].sort());
  });

  it('fires @every when the Unix time is a multiple of the period', () => {
    const start = 90 * 1_000_000 - 1;
    const planner = new Planner(tasksFrom('@every 90s * 1 cron name=every true'), start);
    expect(run(planner, start + 181)).toEqual([`every@${start + 1}`, `every@${start + 91}`, `every@${start + 181}`]);
  });

  it('tells which daemon windows are open', () => {
    const start = utc('2026-11-20T08:59:58');
    const planner = new Planner(tasksFrom('* * 9-17 * * * * 1 daemon name=office sleep 100\n* * * * * * * 1 daemon name=always sleep 100'), start);
    expect([...planner.advance(start + 1).openDaemons].sort()).toEqual(['always']);
    expect([...planner.advance(start + 2).openDaemons].sort()).toEqual(['always', 'office']);
  });
});

describe('planner: late wake up to 60 s (SPEC §3)', () => {
  it('evaluates every missed second; a task due in several runs once, for the first', () => {
    const start = utc('2026-11-20T10:00:00');
    const planner = new Planner(tasksFrom('*/5 * * * * * * 1 cron name=five true\n3 * * * * * * 1 cron name=three true\n* * * * * * * 1 cron name=each true'), start);
    const advance = planner.advance(start + 10);
    expect(fired(advance).sort()).toEqual([`each@${start + 1}`, `five@${start + 5}`, `three@${start + 3}`].sort());
    expect(advance.events).toEqual([{ kind: 'late', fromSecond: start, toSecond: start + 10 }]);
  });

  it('treats exactly 60 s as a late wake and 61 s as a jump', () => {
    const start = utc('2026-11-20T10:00:00');
    const late = new Planner(tasksFrom('30 * * * * * * 1 cron name=half true'), start);
    expect(fired(late.advance(start + 60))).toEqual([`half@${start + 30}`]);
    const jump = new Planner(tasksFrom('30 * * * * * * 1 cron name=half true'), start);
    const advance = jump.advance(start + 61);
    expect(fired(advance)).toEqual([]);
    expect(advance.events).toEqual([{ kind: 'forward', fromSecond: start, toSecond: start + 61 }]);
  });
});

describe('planner: clock jumps (SPEC §3, cronie policy)', () => {
  const text = '0 0 12 * * * * 1 cron name=noon true\n0 */15 * * * * * 1 cron name=quarter true\n* * * * * * * 1 cron name=each true';

  it('forward +90 min: a skipped fixed-time task runs once, wildcard tasks resume without replay', () => {
    const start = utc('2026-11-20T11:30:00');
    const planner = new Planner(tasksFrom(text), start);
    const now = start + 90 * 60;
    const advance = planner.advance(now);
    expect(fired(advance).sort()).toEqual([`each@${now}`, `noon@${now}`, `quarter@${now}`].sort());
    expect(advance.events).toEqual([{ kind: 'forward', fromSecond: start, toSecond: now }]);
    expect(planner.advance(now + 1).events).toEqual([]);
  });

  it('forward +5 s is a late wake, not a jump: missed seconds are evaluated', () => {
    const start = utc('2026-11-20T11:59:57');
    const planner = new Planner(tasksFrom(text), start);
    expect(names(planner.advance(start + 5))).toEqual(['each', 'noon', 'quarter']);
  });

  it('forward +2 days: resync, no catch-up, one warning', () => {
    const start = utc('2026-11-20T11:30:00');
    const planner = new Planner(tasksFrom(text), start);
    const now = start + 2 * 86_400 + 60;
    const advance = planner.advance(now);
    expect(names(advance)).toEqual(['each']);
    expect(advance.events).toEqual([{ kind: 'resync', fromSecond: start, toSecond: now }]);
    expect(run(planner, now + 30).every((entry) => entry.startsWith('each@'))).toBe(true);
  });

  it('backward -30 min: fixed-time tasks that ran are not run again, wildcard tasks go on, one warning', () => {
    const start = utc('2026-11-20T11:59:59');
    const planner = new Planner(tasksFrom(text), start);
    expect(names(planner.advance(start + 1))).toEqual(['each', 'noon', 'quarter']);
    const back = start + 1 - 30 * 60;
    const advance = planner.advance(back);
    expect(advance.events).toEqual([{ kind: 'backward', fromSecond: start + 1, toSecond: back }]);
    const later = run(planner, start + 1 + 60);
    expect(later.filter((entry) => entry.startsWith('noon'))).toEqual([]);
    expect(later.filter((entry) => entry.startsWith('quarter'))).toHaveLength(2);
    expect(later.filter((entry) => entry.startsWith('each'))).toHaveLength(30 * 60 + 60);
    expect(names(planner.advance(start + 1 + 86_400 - 60)).includes('noon')).toBe(false);
  });

  it('backward more than 3 h: resync, one warning; wildcard tasks go on, the fixed-time task does not rerun its last second', () => {
    const start = utc('2026-11-20T11:59:59');
    const planner = new Planner(tasksFrom(text), start);
    planner.advance(start + 1);
    const back = start + 1 - 4 * 3600;
    const advance = planner.advance(back);
    expect(advance.events).toEqual([{ kind: 'resync', fromSecond: start + 1, toSecond: back }]);
    expect(names(advance)).toEqual(['each', 'quarter']);
    const again = run(planner, start + 1);
    expect(again.filter((entry) => entry.startsWith('noon'))).toEqual([]);
    expect(again.filter((entry) => entry.startsWith('each'))).toHaveLength(4 * 3600);
  });

  it('a small step back holds planning until the clock passes the last planned second', () => {
    const start = utc('2026-11-20T11:59:50');
    const planner = new Planner(tasksFrom(text), start);
    expect(run(planner, start + 10)).toHaveLength(10 + 2);
    const held = [planner.advance(start + 5), planner.advance(start + 6), planner.advance(start + 10)];
    expect(held.flatMap(fired)).toEqual([]);
    expect(held.flatMap((advance) => advance.events)).toEqual([{ kind: 'backward', fromSecond: start + 10, toSecond: start + 5 }]);
    expect(fired(planner.advance(start + 11))).toEqual([`each@${start + 11}`]);
  });
});

describe('planner: DST (SPEC §3: a zone offset change is a wall-clock jump)', () => {
  const berlin = '0 30 2 * * * * 1 cron name=fixed tz=Europe/Berlin true\n0 */15 2 * * * * 1 cron name=wild tz=Europe/Berlin true';

  it('Europe/Berlin spring forward: the skipped fixed-time task runs once at the change, wildcard skips', () => {
    const change = utc('2026-03-29T01:00:00');
    const planner = new Planner(tasksFrom(berlin), change - 3600);
    const all: string[] = [];
    let dst = 0;
    for (let second = change - 3599; second <= change + 2 * 3600; second++) {
      const advance = planner.advance(second);
      all.push(...fired(advance));
      dst += advance.events.filter((event) => event.kind === 'dst').length;
    }
    expect(all).toEqual([`fixed@${change}`]);
    expect(dst).toBe(1);
  });

  it('Europe/Berlin fall back: fixed-time runs in the first pass only, wildcard in both', () => {
    const change = utc('2026-10-25T01:00:00');
    const planner = new Planner(tasksFrom(berlin), change - 3601);
    const all = run(planner, change + 3600);
    expect(all.filter((entry) => entry.startsWith('fixed'))).toEqual([`fixed@${change - 1800}`]);
    const wild = [0, 15, 30, 45].map((minute) => change - 3600 + minute * 60).concat([0, 15, 30, 45].map((minute) => change + minute * 60));
    expect(all.filter((entry) => entry.startsWith('wild'))).toEqual(wild.map((second) => `wild@${second}`));
  });

  it('America/New_York spring forward skips 02:00-03:00 local', () => {
    const change = utc('2026-03-08T07:00:00');
    const planner = new Planner(tasksFrom('0 15 2 * * * * 1 cron name=fixed tz=America/New_York true\n0 15 3 * * * * 1 cron name=after tz=America/New_York true'), change - 60);
    expect(run(planner, change + 3600)).toEqual([`fixed@${change}`, `after@${change + 900}`]);
  });

  it('Australia/Lord_Howe shifts by 30 minutes', () => {
    // 2026-10-04 02:00 local (+10:30) becomes 02:30 (+11:00): 2026-10-03T15:30:00Z.
    const change = utc('2026-10-03T15:30:00');
    const planner = new Planner(tasksFrom('0 10 2 * * * * 1 cron name=fixed tz=Australia/Lord_Howe true\n0 */10 2 * * * * 1 cron name=wild tz=Australia/Lord_Howe true'), change - 60);
    const all = run(planner, change + 1800);
    expect(all.filter((entry) => entry.startsWith('fixed'))).toEqual([`fixed@${change}`]);
    expect(all.filter((entry) => entry.startsWith('wild'))).toEqual([30, 40, 50].map((minute) => `wild@${change + (minute - 30) * 60}`));
  });
});

describe('planner: reload (SPEC §3, §5)', () => {
  it('keeps the same-second guard and the last planned second across setTasks', () => {
    const start = utc('2026-11-20T10:00:00');
    const planner = new Planner(tasksFrom('* * * * * * * 1 cron name=a true'), start);
    expect(names(planner.advance(start + 1))).toEqual(['a']);
    planner.setTasks(tasksFrom('* * * * * * * 2 cron name=a true\n* * * * * * * 1 cron name=b true'));
    expect(names(planner.advance(start + 1))).toEqual([]);
    expect(names(planner.advance(start + 2))).toEqual(['a', 'b']);
  });

  it('a changed schedule holds from the next second', () => {
    const start = utc('2026-11-20T10:00:00');
    const planner = new Planner(tasksFrom('*/10 * * * * * * 1 cron name=a true'), start);
    planner.setTasks(tasksFrom('*/3 * * * * * * 1 cron name=a true'));
    expect(run(planner, start + 6)).toEqual([`a@${start + 3}`, `a@${start + 6}`]);
  });

  it('touches only due tasks among 100,000', () => {
    const start = utc('2026-11-20T10:00:00');
    const lines = Array.from({ length: 100_000 }, (_, index) => `${index % 60} ${Math.floor(index / 60) % 60} 3 * * * * 1 cron name=t${index} true`).join('\n');
    const planner = new Planner(tasksFrom(lines), start);
    expect(run(planner, start + 120)).toEqual([]);
  });
});
