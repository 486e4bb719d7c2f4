import { describe, expect, it } from 'vitest';
import { parseLimit, parseSince } from '../../src/history/history-query.js';

const NOW = Date.UTC(2026, 11, 1, 12, 0, 0);

describe('--limit', () => {
  it.each([
    { text: '20', value: 20 },
    { text: '1', value: 1 },
    { text: '007', value: 7 },
    { text: '0', error: true },
    { text: '-5', error: true },
    { text: '0x10', error: true },
    { text: '1e2', error: true },
    { text: ' 5', error: true },
    { text: '', error: true },
    { text: '2.5', error: true },
    { text: '1234567890', error: true },
  ])('$text', ({ text, value, error }) => {
    const parsed = parseLimit(text);
    if (error) expect(parsed).toEqual({ ok: false, message: expect.stringContaining(`--limit "${text}" must be a whole number`) });
    else expect(parsed).toEqual({ ok: true, value });
  });
});

describe('--since', () => {
  // Local times without a zone: whatever the zone the tests run in.
  const local = (text: string): number => new Date(text).getTime();
  it.each([
    { text: '90s', value: NOW - 90_000 },
    { text: '2h', value: NOW - 7_200_000 },
    { text: '1d', value: NOW - 86_400_000 },
    { text: '1h30m', value: NOW - 5_400_000 },
    { text: '2026-12-01T09:00Z', value: Date.UTC(2026, 11, 1, 9) },
    { text: '2026-12-01T09:00:30+01:00', value: Date.UTC(2026, 11, 1, 8, 0, 30) },
    { text: '2026-12-01T09:00:30.250Z', value: Date.UTC(2026, 11, 1, 9, 0, 30, 250) },
    { text: '2026-12-01T09:00', value: local('2026-12-01T09:00') },
    { text: '2026-12-01 09:00:05', value: local('2026-12-01T09:00:05') },
    { text: '2026-12-01', value: local('2026-12-01T00:00') },
    { text: '5', error: 'duration "5" has no unit: write 5s' },
    { text: 'yesterday', error: 'is neither a duration' },
    { text: '1.5h', error: 'not a whole number' },
    { text: '2026-02-30', error: 'nor an ISO time' },
    { text: '2026-13-01T00:00', error: 'nor an ISO time' },
    { text: '2026-12-01T25:00', error: 'nor an ISO time' },
    { text: '12/01/2026', error: 'nor an ISO time' },
    { text: '', error: 'empty duration' },
  ])('$text', ({ text, value, error }) => {
    const parsed = parseSince(text, NOW);
    if (error) expect(parsed).toEqual({ ok: false, message: expect.stringContaining(error) });
    else expect(parsed).toEqual({ ok: true, value });
  });
});
