import { describe, expect, it } from 'vitest';
import { formatRecord } from '../../src/daemon/terminal-format.js';

// 09:03:42 local time: the terminal shows the reader's clock, as journalctl does.
const time = new Date(2026, 0, 2, 9, 3, 42, 120).getTime();
const plain = { colours: false };
const line = (record: Record<string, unknown>): string => formatRecord(JSON.stringify({ time, ...record }) + '\n', plain);

const runFinished = {
  level: 30,
  log: 'run',
  task: 'report',
  run: '1796116185-1-0463ee15',
  jobPid: 5670,
  trigger: 'schedule',
  attempt: 1,
  killed: false,
  scheduledAt: 1796116185,
  startedAt: 1796116185003,
  lateMs: 3,
  durationMs: 1234,
  exitCode: 0,
  signal: null,
  timedOut: false,
  bytesKept: 11,
  bytesDropped: 0,
  error: null,
  msg: 'run finished',
};

describe('formatRecord: one terminal line per record (start --foreground on a TTY)', () => {
  it.each([
    { name: 'a run record: message first, then task, run, result, duration', record: runFinished, expect: '09:03:42 INFO  run finished task=report run=1796116185-1-0463ee15 exit=0 1.2s\n' },
    {
      name: 'a killed, timed-out, late run that dropped output',
      record: { ...runFinished, level: 40, exitCode: null, signal: 'SIGKILL', timedOut: true, durationMs: 725_400, lateMs: 2500, bytesDropped: 4096 },
      expect: '09:03:42 WARN  run finished task=report run=1796116185-1-0463ee15 signal=SIGKILL timed-out 12m5s late=2.5s dropped=4096B\n',
    },
    {
      name: "a manual second attempt that gotorch stopped: what is not the usual case is said",
      record: { ...runFinished, level: 40, trigger: 'manual', attempt: 2, killed: true, exitCode: null, signal: 'SIGTERM' },
      expect: '09:03:42 WARN  run finished task=report run=1796116185-1-0463ee15 trigger=manual attempt=2 killed=true signal=SIGTERM 1.2s\n',
    },
    { name: 'a spawn error is quoted', record: { ...runFinished, level: 40, jobPid: null, exitCode: null, durationMs: 2, error: 'spawn /bin/nope ENOENT' }, expect: '09:03:42 WARN  run finished task=report run=1796116185-1-0463ee15 error="spawn /bin/nope ENOENT" 2ms\n' },
    { name: "a job's stdout line", record: { level: 30, log: 'run', task: 'report', run: 'r1', stream: 'stdout', line: 'hello world' }, expect: '09:03:42 OUT   report: hello world\n' },
    { name: "a job's stderr line; escape sequences shown, not obeyed", record: { level: 30, log: 'run', task: 'report', run: 'r1', stream: 'stderr', line: '\u001b[31mred\u0007\tend' }, expect: '09:03:42 ERR   report: \\x1b[31mred\\x07\tend\n' },
    {
      name: 'a daemon record: strings with blanks quoted, empty lists left out',
      record: { level: 30, log: 'daemon', pid: 6377, file: '/srv/tasks.conf', tasks: 2, host: 'vm (5 addresses)', nodeFlags: [], msg: 'gotorch ready' },
      expect: '09:03:42 INFO  gotorch ready pid=6377 file=/srv/tasks.conf tasks=2 host="vm (5 addresses)"\n',
    },
    {
      name: 'errors of a rejected reload on the same line; an err object by its message',
      record: { level: 50, log: 'daemon', trigger: 'file change', errors: ['a.conf:1:1: bad', 'a.conf:2:3: worse'], err: { type: 'Error', message: 'boom', stack: 'Error: boom\n    at x' }, msg: 'task file rejected' },
      expect: '09:03:42 ERROR task file rejected trigger="file change" errors="a.conf:1:1: bad, a.conf:2:3: worse" err=boom\n',
    },
    { name: 'a daemon-instance exit: durations by their unit, the instance by jobPid in the JSON only', record: { level: 40, log: 'daemon', task: 'queue', run: 'r2', jobPid: 77, exitCode: 3, signal: null, restartInMs: 2000, msg: 'daemon exited' }, expect: '09:03:42 WARN  daemon exited task=queue run=r2 restartInMs=2000 exit=3\n' },
  ])('$name', ({ record, expect: expected }) => {
    expect(line(record)).toBe(expected);
  });

  it('colours the level (and dims the time) only when asked', () => {
    const coloured = formatRecord(JSON.stringify({ time, ...runFinished, level: 40 }), { colours: true });
    expect(coloured).toBe('\u001b[2m09:03:42\u001b[0m \u001b[33mWARN \u001b[0m run finished task=report run=1796116185-1-0463ee15 exit=0 1.2s\n');
  });

  it('passes a line that is not JSON through as it is', () => {
    expect(formatRecord('not json', plain)).toBe('not json\n');
  });
});
