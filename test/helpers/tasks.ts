import { expect } from 'vitest';
import { parseTaskFile } from '../../src/tasks/task-file.js';
import type { Task } from '../../src/tasks/types.js';

/** Parses task lines (no includes) into tasks, failing the test on any error. */
export function tasksFrom(text: string, zone = 'UTC'): Task[] {
  const parsed = parseTaskFile(text, 'test.conf', { env: {}, shell: '/bin/sh', zone, asRoot: false, baseDir: '/tmp' });
  expect(parsed.errors).toEqual([]);
  return parsed.entries.flatMap((entry) => (entry.kind === 'task' ? [entry.task] : []));
}

/** Unix seconds of a UTC date-time: utc('2026-03-29T01:00:00'). */
export function utc(iso: string): number {
  return Date.parse(`${iso}Z`) / 1000;
}
