import { afterEach, describe, expect, it, vi } from 'vitest';
import type { WallTime } from '../../src/schedule/types.js';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LOCAL_ZONE, localUtcName, Zone, zoneError } from '../../src/schedule/zone.js';

const at = (iso: string): number => Date.parse(iso) / 1000;

const formats = new Map<string, Intl.DateTimeFormat>();

/** The wall clock by Intl and Date only, independent of zone.ts. */
function intlWall(zoneName: string, unixSec: number) {
  const format = formats.get(zoneName) ?? new Intl.DateTimeFormat('en-US', {
    timeZone: zoneName,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
    weekday: 'short',
  });
  formats.set(zoneName, format);
  const parts = format.formatToParts(unixSec * 1000);
  const get = (type: string) => parts.find((part) => part.type === type)?.value ?? '';
  const [year, month, day] = [Number(get('year')), Number(get('month')), Number(get('day'))];
  const [hour, minute, second] = [Number(get('hour')), Number(get('minute')), Number(get('second'))];
  const wallSeconds = Date.UTC(year, month - 1, day, hour, minute, second) / 1000;
  return {
    year,
    month,
    day,
    hour,
    minute,
    second,
    dayOfWeek: ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'].indexOf(get('weekday')),
    daysInMonth: new Date(Date.UTC(year, month, 0)).getUTCDate(),
    wallSeconds,
  };
}

const intlOffset = (zoneName: string, unixSec: number) => intlWall(zoneName, unixSec).wallSeconds - unixSec;

const ZONES = [
  'UTC',
  'Europe/Berlin',
  'America/New_York',
  'Australia/Lord_Howe', // 30-minute DST
  'America/St_Johns', // -03:30 / -02:30
  'Asia/Kathmandu', // +05:45
  'Pacific/Chatham', // +12:45 / +13:45
  'Antarctica/Troll', // +00 / +02
  'Africa/Casablanca', // DST suspended for Ramadan
  'America/Santiago',
  'Pacific/Kiritimati', // +14
];

describe('zoneError', () => {
  it.each(['UTC', 'Europe/Berlin', 'america/new_york', 'Australia/Lord_Howe', LOCAL_ZONE])('accepts %s', (name) => {
    expect(zoneError(name)).toBeUndefined();
  });

  it('suggests the closest IANA name', () => {
    expect(zoneError('Europe/Berln')).toBe('unknown time zone "Europe/Berln": use an IANA name such as Europe/Berlin');
    expect(zoneError('america/new_yrok')).toContain('such as America/New_York');
  });

  it('names an example when nothing is close', () => {
    expect(zoneError('Mars/Olympus_Mons')).toBe('unknown time zone "Mars/Olympus_Mons": use an IANA name such as Europe/Berlin');
  });
});

describe('Zone.for', () => {
  it('returns one cached instance per name', () => {
    expect(Zone.for('Europe/Berlin')).toBe(Zone.for('Europe/Berlin'));
  });

  it('throws a RangeError with the validation message for an unknown zone', () => {
    expect(() => Zone.for('Europe/Berln')).toThrow(new RangeError(zoneError('Europe/Berln')));
  });

  it('resolves the local zone with Intl', () => {
    expect(Zone.for(LOCAL_ZONE).name).toBe(Intl.DateTimeFormat().resolvedOptions().timeZone);
  });
});

describe('localUtcName', () => {
  it('reads TZ as ICU does: a UTC name, with or without a colon; nothing else, nothing with digits', () => {
    for (const tz of ['UTC', ':UTC', 'Etc/UTC', 'Etc/Universal', 'GMT', 'Zulu']) expect(localUtcName({ TZ: tz }, '/nonexistent'), tz).toBe('UTC');
    for (const tz of ['Europe/Berlin', 'GMT0', 'UTC0', 'Etc/GMT+0', 'utc', '', ':']) expect(localUtcName({ TZ: tz }, '/nonexistent'), tz).toBeUndefined();
  });

  it('reads the zone /etc/localtime links to, and leaves a copied file or none to Intl', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'gotorch-zone-'));
    try {
      const link = (name: string, target: string) => (symlinkSync(target, path.join(dir, name)), path.join(dir, name));
      expect(localUtcName({}, link('absolute', '/usr/share/zoneinfo/Etc/UTC'))).toBe('UTC');
      expect(localUtcName({}, link('relative', '../usr/share/zoneinfo/UTC'))).toBe('UTC');
      expect(localUtcName({}, link('berlin', '/usr/share/zoneinfo/Europe/Berlin'))).toBeUndefined();
      writeFileSync(path.join(dir, 'copied'), 'TZif');
      expect(localUtcName({}, path.join(dir, 'copied'))).toBeUndefined();
      expect(localUtcName({}, path.join(dir, 'missing'))).toBeUndefined();
      // TZ set wins over the link, as in ICU.
      expect(localUtcName({ TZ: 'Europe/Berlin' }, path.join(dir, 'absolute'))).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('says UTC only where Intl says UTC, in real processes with each TZ', () => {
    for (const tz of [undefined, 'UTC', ':UTC', 'Etc/UTC', 'GMT', 'Universal', 'Europe/Berlin', 'America/New_York', 'GMT0', 'Nowhere/Else']) {
      const { TZ: _, ...env } = process.env;
      const intl = execFileSync(process.execPath, ['-p', 'Intl.DateTimeFormat().resolvedOptions().timeZone'], { env: tz === undefined ? env : { ...env, TZ: tz }, encoding: 'utf8' }).trim();
      const ours = localUtcName(tz === undefined ? env : { ...env, TZ: tz });
      if (ours !== undefined) expect(intl, `TZ=${tz}`).toBe('UTC');
    }
  });
});

describe('offsetSeconds', () => {
  const rows: { zone: string; at: string; offset: number }[] = [
    { zone: 'UTC', at: '2026-07-01T00:00:00Z', offset: 0 },
    { zone: 'Europe/Berlin', at: '2026-01-15T12:00:00Z', offset: 3600 },
    { zone: 'Europe/Berlin', at: '2026-07-15T12:00:00Z', offset: 7200 },
    { zone: 'Europe/Berlin', at: '2026-03-29T00:59:59Z', offset: 3600 },
    { zone: 'Europe/Berlin', at: '2026-03-29T01:00:00Z', offset: 7200 },
    { zone: 'Europe/Berlin', at: '2026-10-25T00:59:59Z', offset: 7200 },
    { zone: 'Europe/Berlin', at: '2026-10-25T01:00:00Z', offset: 3600 },
    { zone: 'America/New_York', at: '2026-03-08T06:59:59Z', offset: -18000 },
    { zone: 'America/New_York', at: '2026-03-08T07:00:00Z', offset: -14400 },
    { zone: 'America/New_York', at: '2026-11-01T06:00:00Z', offset: -18000 },
    { zone: 'Australia/Lord_Howe', at: '2026-04-04T14:59:59Z', offset: 39600 },
    { zone: 'Australia/Lord_Howe', at: '2026-04-04T15:00:00Z', offset: 37800 },
    { zone: 'Australia/Lord_Howe', at: '2026-10-03T15:29:59Z', offset: 37800 },
    { zone: 'Australia/Lord_Howe', at: '2026-10-03T15:30:00Z', offset: 39600 },
    { zone: 'Asia/Kathmandu', at: '2026-01-01T00:00:00Z', offset: 20700 },
  ];
  it.each(rows)('$zone at $at is $offset', ({ zone, at: iso, offset }) => {
    expect(Zone.for(zone).offsetSeconds(at(iso))).toBe(offset);
  });
});

describe('fillWallTime', () => {
  it('fills every field like Intl and Date do, for 300 instants in each of 11 zones', () => {
    let seed = 7;
    const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    for (const name of ZONES) {
      const zone = Zone.for(name);
      for (let sample = 0; sample < 300; sample++) {
        const unixSec = Math.floor(at('1975-01-01T00:00:00Z') + random() * 70 * 365 * 86_400);
        const wall = {} as WallTime;
        zone.fillWallTime(unixSec, wall);
        expect(wall, `${name} at ${unixSec}`).toEqual(intlWall(name, unixSec));
      }
    }
  });

  it('handles leap days, centuries and times before 1970 in UTC', () => {
    const wall = {} as WallTime;
    const rows: [string, Partial<WallTime>][] = [
      ['2000-02-29T23:59:59Z', { year: 2000, month: 2, day: 29, dayOfWeek: 2, daysInMonth: 29, hour: 23, minute: 59, second: 59 }],
      ['2100-02-28T00:00:00Z', { year: 2100, month: 2, day: 28, dayOfWeek: 0, daysInMonth: 28 }],
      ['1969-12-31T23:59:59Z', { year: 1969, month: 12, day: 31, dayOfWeek: 3, hour: 23, wallSeconds: -1 }],
      ['1900-03-01T00:00:00Z', { year: 1900, month: 3, day: 1, dayOfWeek: 4 }],
    ];
    for (const [iso, expected] of rows) {
      Zone.for('UTC').fillWallTime(at(iso), wall);
      expect(wall, iso).toMatchObject(expected);
    }
  });
});

describe('transitions', () => {
  /** Offset changes found by an hourly Intl scan, each bisected to the second. */
  function scannedTransitions(name: string, from: number, until: number): number[] {
    const found: number[] = [];
    let offsetAtHour = intlOffset(name, from);
    for (let hour = from; hour < until; hour += 3600) {
      const offsetAtNextHour = intlOffset(name, hour + 3600);
      if (offsetAtHour === offsetAtNextHour) continue;
      offsetAtHour = offsetAtNextHour;
      let [low, high] = [hour, hour + 3600];
      while (high - low > 1) {
        const middle = Math.floor((low + high) / 2);
        if (intlOffset(name, middle) === intlOffset(name, low)) low = middle;
        else high = middle;
      }
      found.push(high);
    }
    return found;
  }

  it.each(ZONES)('finds every offset change of %s in 2024-2026 to the second', (name) => {
    const [from, until] = [at('2024-01-01T00:00:00Z'), at('2027-01-01T00:00:00Z')];
    const zone = Zone.for(name);
    const forward: number[] = [];
    for (let transition = zone.nextTransition(from, until); transition !== Infinity; transition = zone.nextTransition(transition, until)) {
      forward.push(transition);
    }
    expect(forward).toEqual(scannedTransitions(name, from, until));
    const backward: number[] = [];
    for (let transition = zone.previousTransition(until, from); transition !== -Infinity; transition = zone.previousTransition(transition - 1, from)) {
      backward.unshift(transition);
    }
    expect(backward).toEqual(forward);
  });

  it('reports the exact Berlin 2026 changes and none for UTC', () => {
    const berlin = Zone.for('Europe/Berlin');
    expect(berlin.nextTransition(at('2026-01-01T00:00:00Z'), at('2027-01-01T00:00:00Z'))).toBe(at('2026-03-29T01:00:00Z'));
    expect(berlin.nextTransition(at('2026-03-29T01:00:00Z'), at('2027-01-01T00:00:00Z'))).toBe(at('2026-10-25T01:00:00Z'));
    expect(berlin.previousTransition(at('2026-10-25T01:00:00Z'), at('2026-10-24T00:00:00Z'))).toBe(at('2026-10-25T01:00:00Z'));
    expect(berlin.previousTransition(at('2026-10-24T00:00:00Z'), at('2026-10-01T00:00:00Z'))).toBe(-Infinity);
    expect(Zone.for('UTC').nextTransition(0, 4e9)).toBe(Infinity);
    expect(Zone.for('UTC').previousTransition(4e9, 0)).toBe(-Infinity);
  });
});

describe('hot path', () => {
  afterEach(() => vi.restoreAllMocks());

  it('answers offsets and wall times without Intl once the period is cached', () => {
    const zone = Zone.for('Australia/Lord_Howe');
    const start = at('2026-04-04T14:00:00Z');
    zone.fillWallTime(start, {} as WallTime);
    zone.fillWallTime(start + 7200, {} as WallTime);
    const formatToParts = vi.spyOn(Intl.DateTimeFormat.prototype, 'formatToParts');
    const wall = {} as WallTime;
    for (let second = start; second < start + 7200; second++) zone.fillWallTime(second, wall);
    expect(formatToParts).not.toHaveBeenCalled();
  });

  it('makes no Intl format at all for a UTC name (the zone data of ICU stays unmapped)', () => {
    const made = vi.spyOn(Intl, 'DateTimeFormat');
    for (const name of ['Etc/UTC', 'GMT', 'Zulu']) expect(Zone.for(name).name).toBe('UTC');
    expect(zoneError('Etc/Universal')).toBeUndefined();
    expect(made).not.toHaveBeenCalled();
  });

  it('never uses Intl for UTC', () => {
    const formatToParts = vi.spyOn(Intl.DateTimeFormat.prototype, 'formatToParts');
    const wall = {} as WallTime;
    for (const second of [-1e10, 0, 1.8e9, 1e11]) Zone.for('UTC').fillWallTime(second, wall);
    expect(formatToParts).not.toHaveBeenCalled();
  });
});
