/** `@at <ISO 8601 time>` (SPEC §11): the forms it takes, the zone it is read in, and the errors, with their columns. */
import { describe, expect, it } from 'vitest';
import { parseTaskFile } from '../../src/tasks/task-file.js';
import { nextFires } from '../../src/schedule/next-fire.js';
import { Zone } from '../../src/schedule/zone.js';
import { utc } from '../helpers/tasks.js';

function parse(line: string, zone = 'UTC') {
  return parseTaskFile(`${line}\n`, 'test.conf', { env: {}, shell: '/bin/sh', zone, asRoot: false, baseDir: '/tmp' });
}

/** The Unix second a good line fires at, failing on any error. */
function secondOf(line: string, zone = 'UTC'): number {
  const parsed = parse(line, zone);
  expect(parsed.errors).toEqual([]);
  const entry = parsed.entries.find((candidate) => candidate.kind === 'task');
  if (entry?.kind !== 'task' || entry.task.schedule.kind !== 'at') throw new Error(`no @at task in ${line}`);
  return entry.task.schedule.second;
}

const goodRows: { at: string; options?: string; zone?: string; expect: number; why: string }[] = [
  { at: '2026-12-24T18:00:00', expect: utc('2026-12-24T18:00:00'), why: 'seconds' },
  { at: '2026-12-24T18:00', expect: utc('2026-12-24T18:00:00'), why: 'minutes' },
  { at: '2026-12-24 18:00:30', expect: utc('2026-12-24T18:00:30'), why: 'a space between date and time' },
  { at: '2026-12-24 18:00', expect: utc('2026-12-24T18:00:00'), why: 'a space, minutes' },
  { at: '2026-12-24', expect: utc('2026-12-24T00:00:00'), why: 'a date alone: its midnight' },
  { at: '2026-12-24t18:00', expect: utc('2026-12-24T18:00:00'), why: 'a lower-case t' },
  { at: '2026-12-24T18:00Z', zone: 'Europe/Berlin', expect: utc('2026-12-24T18:00:00'), why: 'Z wins over the zone' },
  { at: '2026-12-24T18:00:00+02:00', expect: utc('2026-12-24T16:00:00'), why: 'an offset' },
  { at: '2026-12-24T18:00-0530', expect: utc('2026-12-24T23:30:00'), why: 'an offset without a colon' },
  { at: '2026-12-24T18:00+01', expect: utc('2026-12-24T17:00:00'), why: 'an offset in hours' },
  { at: '2026-12-24 18:00+01:00', zone: 'Asia/Tokyo', expect: utc('2026-12-24T17:00:00'), why: 'an offset after a space' },
  { at: '2026-12-24T18:00', zone: 'Europe/Berlin', expect: utc('2026-12-24T17:00:00'), why: 'the TZ= zone (winter)' },
  { at: '2026-07-01T18:00', zone: 'Europe/Berlin', expect: utc('2026-07-01T16:00:00'), why: 'the TZ= zone (summer)' },
  { at: '2026-12-24T18:00', options: 'tz=America/New_York', zone: 'Europe/Berlin', expect: utc('2026-12-24T23:00:00'), why: 'tz= over TZ=' },
  { at: '2028-02-29T12:00', expect: utc('2028-02-29T12:00:00'), why: 'a leap day' },
  { at: '2026-10-25T02:30', zone: 'Europe/Berlin', expect: utc('2026-10-25T00:30:00'), why: 'a wall time passed twice (fall back): the first pass' },
  { at: '2026-10-25T02:30+01:00', zone: 'Europe/Berlin', expect: utc('2026-10-25T01:30:00'), why: 'the second pass, by its offset' },
  { at: '2026-03-29T03:00', zone: 'Europe/Berlin', expect: utc('2026-03-29T01:00:00'), why: 'the first second after a gap' },
  { at: '2020-01-01T00:00', expect: utc('2020-01-01T00:00:00'), why: 'a past time is valid (done)' },
];

describe('@at forms (SPEC §11)', () => {
  it.each(goodRows)('$at ($why)', ({ at, options, zone, expect: second }) => {
    expect(secondOf(`@at ${at} * 1 cron ${options ?? ''} name=once echo hi`, zone)).toBe(second);
  });

  it('is case-insensitive, takes jitter= and singleton=yes, and keeps the columns after a two-token time', () => {
    const parsed = parse('@AT 2026-12-24 18:00 web-* 2 cron name=once jitter=5m echo hi');
    expect(parsed.errors).toEqual([]);
    const entry = parsed.entries[0];
    expect(entry.kind === 'task' && { hosts: entry.task.hosts, max: entry.task.max, jitter: entry.task.options.jitterS, text: entry.task.scheduleText }).toEqual({
      hosts: ['web-*'],
      max: 2,
      jitter: 300,
      text: '@AT 2026-12-24 18:00',
    });
    expect(parse('@at 2026-12-24T18:00 * 1 cron name=once singleton=yes echo hi').errors).toEqual([]);
  });
});

const badRows: { line: string; zone?: string; column: number; message: RegExp }[] = [
  { line: '@at 2026-02-30T10:00 * 1 cron echo a', column: 13, message: /2026-02-30 does not exist: February 2026 has 28 days/ },
  { line: '@at 2027-02-29 * 1 cron echo a', column: 13, message: /February 2027 has 28 days/ },
  { line: '@at 2026-13-01T10:00 * 1 cron echo a', column: 10, message: /month 13 does not exist/ },
  { line: '@at 2026-12-24T24:00 * 1 cron echo a', column: 16, message: /hours go to 23.*00:00 of the next day/ },
  { line: '@at 2026-12-24T10:60 * 1 cron echo a', column: 16, message: /not a time of day/ },
  { line: '@at 2026-12-24T10:00:00.5 * 1 cron echo a', column: 24, message: /fraction of a second.*write 10:00:00/ },
  { line: '@at 2026-12-24T10 * 1 cron echo a', column: 16, message: /"10" is not a time of day: write hh:mm/ },
  { line: '@at 2026-12-24 10:00:00.5 * 1 cron echo a', column: 24, message: /fraction of a second/ },
  { line: '@at 2026-12-24 10:61 * 1 cron echo a', column: 16, message: /10:61 is not a time of day/ },
  { line: '@at 2026-12-24T10:00+25:00 * 1 cron echo a', column: 16, message: /offset .* out of range/ },
  { line: '@at 24.12.2026 * 1 cron echo a', column: 5, message: /"24.12.2026" is not a date: write YYYY-MM-DD/ },
  { line: '@at tomorrow * 1 cron echo a', column: 1, message: /@at needs a time: write e.g. @at 2026-12-24T18:00/ },
  { line: '@at * 1 cron echo a', column: 1, message: /@at needs a time/ },
  { line: '@at 2026-03-29T02:30 * 1 cron echo a', zone: 'Europe/Berlin', column: 5, message: /2026-03-29T02:30:00 does not exist in Europe\/Berlin: its clocks go from 2026-03-29T02:00:00 to 2026-03-29T03:00:00; write 2026-03-29T03:00:00/ },
  { line: '@at 2026-03-08T02:00 * 1 cron tz=America/New_York echo a', column: 5, message: /does not exist in America\/New_York/ },
  { line: '@at 2026-12-24T10:00 * 1 daemon sleep 9', column: 1, message: /a daemon task .* not a macro/ },
  { line: '@at 2026-12-24 * 1 cron retries=2 echo a', column: 0, message: /^$/ },
];

describe('@at errors say where and what to write (SPEC §11)', () => {
  it.each(badRows.filter((row) => row.column > 0))('$line', ({ line, zone, column, message }) => {
    const { errors } = parse(line, zone);
    const hit = errors.find((error) => error.column === column && message.test(error.message));
    expect(hit, `errors were: ${JSON.stringify(errors)}`).toBeDefined();
  });

  it('takes retries= (it is a cron task)', () => {
    expect(parse(badRows[badRows.length - 1].line).errors).toEqual([]);
  });
});

describe('@at next fire (check, status)', () => {
  const second = utc('2026-12-24T18:00:00');
  it.each([
    { after: second - 1, expect: [second] },
    { after: second, expect: [] },
    { after: second + 3600, expect: [] },
  ])('after $after: $expect', ({ after, expect: fires }) => {
    expect(nextFires({ kind: 'at', second }, Zone.for('UTC'), after, 5)).toEqual(fires);
  });
});
