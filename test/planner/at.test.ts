/** `@at` one-shots in the planner (SPEC §11 with every rule of SPEC §3), on the fake clock of planner seconds. */
import { describe, expect, it } from 'vitest';
import { Planner } from '../../src/planner/planner.js';
import { fired, run } from '../helpers/planner-run.js';
import { tasksFrom, utc } from '../helpers/tasks.js';

const AT = utc('2026-12-24T18:00:00');
const line = (name = 'once', at = '2026-12-24T18:00:00Z', options = '') => `@at ${at} * 1 cron name=${name} ${options} echo hi`;

describe('planner: @at (SPEC §11)', () => {
  it('fires once, at its second, and not before or after', () => {
    const planner = new Planner(tasksFrom(`${line()}\n* * * * * * * 1 cron name=each true`), AT - 5);
    const fires = run(planner, AT + 5);
    expect(fires.filter((fire) => fire.startsWith('once'))).toEqual([`once@${AT}`]);
    expect(fires.filter((fire) => fire.startsWith('each'))).toHaveLength(10);
  });

  it('never fires when its second is past at the start (a restart after it fired)', () => {
    const planner = new Planner(tasksFrom(line()), AT);
    expect(run(planner, AT + 100)).toEqual([]);
  });

  it('keeps its second across a reload before it, and does not fire again on a reload after it', () => {
    const planner = new Planner(tasksFrom(`${line()}\n${line('other', '2026-12-24T18:00:03Z')}`), AT - 3);
    run(planner, AT - 1);
    planner.setTasks(tasksFrom(`${line()}\n${line('other', '2026-12-24T18:00:03Z')}`));
    expect(run(planner, AT + 1)).toEqual([`once@${AT}`]);
    planner.setTasks(tasksFrom(`${line()}\n${line('other', '2026-12-24T18:00:03Z')}`));
    expect(run(planner, AT + 10)).toEqual([`other@${AT + 3}`]);
  });

  it('fires again after a reload that moves it to a later second (a new time, same name)', () => {
    const planner = new Planner(tasksFrom(line()), AT - 1);
    expect(run(planner, AT)).toEqual([`once@${AT}`]);
    planner.setTasks(tasksFrom(line('once', '2026-12-24T18:00:05Z')));
    expect(run(planner, AT + 10)).toEqual([`once@${AT + 5}`]);
  });

  it('late wake: fires once, for its own second, as a missed second', () => {
    const planner = new Planner(tasksFrom(line()), AT - 20);
    const advance = planner.advance(AT + 30);
    expect(fired(advance)).toEqual([`once@${AT}`]);
    expect(advance.events).toEqual([{ kind: 'late', fromSecond: AT - 20, toSecond: AT + 30 }]);
    expect(run(planner, AT + 40)).toEqual([]);
  });

  it('forward jump over it: fires once, at the second the jump was seen', () => {
    const planner = new Planner(tasksFrom(line()), AT - 600);
    const advance = planner.advance(AT + 3000);
    expect(fired(advance)).toEqual([`once@${AT + 3000}`]);
    expect(advance.events[0]).toMatchObject({ kind: 'forward' });
    expect(run(planner, AT + 3010)).toEqual([]);
  });

  it('forward jump onto its second: fires for that second', () => {
    const planner = new Planner(tasksFrom(line()), AT - 600);
    expect(fired(planner.advance(AT))).toEqual([`once@${AT}`]);
  });

  it('a jump of more than 3 h over it resyncs: it does not fire (as fixed-time tasks, SPEC §3)', () => {
    const planner = new Planner(tasksFrom(line()), AT - 3600);
    expect(fired(planner.advance(AT + 3 * 3600))).toEqual([]);
  });

  it('backward jump after it fired: not again when the clock passes it a second time', () => {
    const planner = new Planner(tasksFrom(line()), AT - 1);
    expect(run(planner, AT + 10)).toEqual([`once@${AT}`]);
    expect(fired(planner.advance(AT - 600))).toEqual([]);
    expect(run(planner, AT + 20)).toEqual([]);
  });

  it('backward jump after a forward jump fired it: not again at its own second', () => {
    const planner = new Planner(tasksFrom(line()), AT - 600);
    expect(fired(planner.advance(AT + 600))).toEqual([`once@${AT + 600}`]);
    planner.advance(AT - 300);
    expect(run(planner, AT + 10)).toEqual([]);
  });

  it('small step back (NTP) before it: fires once when the clock passes it', () => {
    const planner = new Planner(tasksFrom(line()), AT - 3);
    run(planner, AT - 1);
    expect(fired(planner.advance(AT - 30))).toEqual([]);
    expect(run(planner, AT + 2)).toEqual([`once@${AT}`]);
  });

  it('jitter shifts it by the task offset', () => {
    const tasks = tasksFrom(line('once', '2026-12-24T18:00:00Z', 'jitter=1m'));
    const planner = new Planner(tasks, AT - 1, () => 17);
    expect(run(planner, AT + 60)).toEqual([`once@${AT + 17}`]);
  });

  it('a replay after a clean stop fires it only when the replay accepts the task', () => {
    const tasks = tasksFrom(`${line()}\n${line('other')}`);
    const planner = new Planner(tasks, AT - 5);
    expect(fired(planner.advance(AT + 5, (task) => task.id === 'other'))).toEqual([`other@${AT}`]);
  });

  it('many one-shots: each fires at its own second', () => {
    const lines = Array.from({ length: 500 }, (_, index) => line(`t${index}`, new Date((AT + 499 - index) * 1000).toISOString().replace('.000', '')));
    const planner = new Planner(tasksFrom(lines.join('\n')), AT - 1);
    const fires = run(planner, AT + 500);
    expect(fires).toHaveLength(500);
    expect(fires.slice(0, 2)).toEqual([`t499@${AT}`, `t498@${AT + 1}`]);
  });
});
