/**
 * Malformed task files for fuzzing (SPEC §1): valid lines mutated with wrong field counts, huge
 * numbers, bad steps, unicode, control characters, 1 MB lines and more. Seeded: the same seed gives
 * the same cases on every machine. Shared by the parser fuzz test and the daemon reload fuzz test.
 */

import { random } from '../../scripts/bench/workload.js';

export const MB = 1 << 20;

// ---------------------------------------------------------------------------------------------------
// Seeded PRNG (mulberry32): the same seed gives the same cases on every machine.


export class Gen {
  readonly next: () => number;
  constructor(seed: number) {
    this.next = random(seed);
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }
}

// ---------------------------------------------------------------------------------------------------
// Material: valid lines (SPEC §1 examples, test/tasks) and the malformed pieces mixed into them.

const VALID_LINES = [
  '*/5    *    *    *   *   *     *                1    cron    name=tick            date >> /tmp/tick.log',
  '0      30   2    *   *   *     10.0.1.0/24      1    cron    name=report timeout=10m  /opt/bin/report --daily',
  '*      *    *    *   *   *     web-*,!web-3     2    daemon  name=queue           node /srv/worker.js',
  '@daily                         *                0    cron    /usr/local/bin/cleanup',
  '* * * * * * * 1 cron date',
  '0 0 9-17 * * mon-fri * 1 daemon name=office sleep 100',
  '0 0 0 L * ? * 1 cron name=last echo last',
  '0 0 0 ? * 5L * 1 cron name=lastfri echo fri',
  '0 0 0 ? * 1#2 * 0 cron name=second-monday echo mon',
  '0 0 0 15W * * * 1 cron name=nearest echo w',
  '@every 90s * 1 cron name=every echo 90',
  '@every 1h30m * 0 common echo sum',
  '@reboot * 1 cron name=boot echo boot',
  '0 */15 * * jan-jun * fd00::/64,web-[12] 3 cron grace=5s log_limit=1M tz=Europe/Berlin cwd="/srv/my app" -- A=1 env',
];
const ENV_LINES = ['A=1', 'PATH=/usr/bin:/bin', 'SHELL=/bin/bash', 'TZ=Europe/Berlin', 'MAILTO=""', 'X = "quoted value"'];
const COMMENTS = ['# a comment', '   # indented comment', '#', '\t#\ttabbed'];

const HUGE = ['1e308', '-1', '99999999999999999999', 'NaN', '0x10', 'Infinity', '-0', '0000000000000000000000000001', '1.5', '+5', '1_000', '٣'];
const BAD_STEPS = ['*/0', '*/-1', '1/', '/5', '*/*', '*/', '1-5/0', '5/0', '*/99999999999999999999', '*/1e3', '*/5/5', '0-59/60', '*/0x2'];
const INVERTED = ['5-1', '59-0', 'sat-mon', 'dec-jan', '31-1', '7-0', 'L-1', '1-', '-1', '1--2', '1-2-3'];
const EMPTY_ITEMS = [',', '1,,2', ',1', '1,', ',,,', '1, 2'];
const DAY_EXT = ['L', 'LW', '15W', '0W', '32W', '5L', '8L', '1#0', '1#6', '#', '1#', 'L#1', 'W', '?', '??', 'l', 'lw'];
const UNICODE = [
  '🕐', '\u200f', '\u200e', '\u200b', '\u2060', 'e\u0301', '\u0301', '１２', '\uff0a', '\u2028', '\u2029', '\u00a0', '\u3000', '\ufeff', '\ud800', '\udc00', 'ſ', 'İ', 'ﬀ',
];
const CONTROL = ['\x01', '\x07', '\x08', '\x0b', '\x0c', '\x1b', '\x1f', '\x7f', '\r', '\x85', '\u0000'];
const DURATIONS = ['', '0s', '0', '1', '500ms', '999ms', '1001ms', '1s', '90s', '1h30m', '-5s', '1.5s', '5 m', 's', 'ms', '1y', '99999999999999999999d', '1e9s', '9007199254740993ms', '1d1d1d', '5S', '1m1', '١s', '0x10s'];
const OPTION_KEYS = ['name', 'timeout', 'grace', 'tz', 'cwd', 'user', 'log_limit', 'tiemout', 'nmae', 'x', '_', 'a_b', 'timeout_', 'Name', 'TZ'];
const ABSURD_VALUES = [
  '', '""', '"', '"unterminated', '"a"b', '"\\"', '"\\\\"', '"a b c"', 'a=b=c', '../../..', '/', '~', '$HOME', '`id`', '1e308', '-1', 'NaN', 'Mars/Base',
  'UTC', 'Etc/GMT+14', 'europe/berlin', '99999999999999999999G', '1M', '0', 'root', '0', 'a/b', '🕐', '\u200b', 'x'.repeat(300),
];
const MACROS = ['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly', '@minutely', '@reboot', '@every', '@EVERY', '@Daily', '@dialy', '@', '@@daily', '@every5m', '@secondly', '@ever', '@' + 'x'.repeat(80)];
const ENV_NAMES = ['A', '_', 'TZ', 'SHELL', 'PATH', '1A', 'A-B', 'a.b', 'Ä', ' A', 'A ', '', 'include', 'name', 'TZ\u200b', 'A'.repeat(200)];
const ENV_VALUES = ['', '=', '==', '"', '""', "'", "'a'", '"a', 'a"', ' ', 'Nowhere/City', 'UTC', 'bash', '/bin/bash', '\\', '#', 'a # b', '\u202e', '1e308'];
const INCLUDES = ['include', 'include ', 'include\t', 'include ""', "include ''", 'include "', 'include *', 'include a b', 'include\\', 'INCLUDE x.conf', 'includex', 'include   # c'];
const SEPARATORS = ['\n', '\n', '\n', '\r\n', '\r', '\n\r', '\r\r\n', '\\\n', '\\\r\n', '\n\n'];

/** Pieces that go where a schedule field stands. */
function fieldPiece(gen: Gen): string {
  switch (gen.int(9)) {
    case 0:
      return gen.pick(HUGE);
    case 1:
      return gen.pick(BAD_STEPS);
    case 2:
      return gen.pick(INVERTED);
    case 3:
      return gen.pick(EMPTY_ITEMS);
    case 4:
      return gen.pick(DAY_EXT);
    case 5:
      return gen.pick(['*', '0', '59', '1-5', '*/5', 'jan', 'SUN', 'mon-fri', '0,30']) + gen.pick(UNICODE);
    case 6:
      return Array.from({ length: 1 + gen.int(40) }, () => String(gen.int(80) - 5)).join(',');
    case 7:
      return `${gen.pick(['*', '0', '1-5', 'L'])}/${gen.pick(HUGE)}`;
    default:
      return gen.pick(['*', '?', '0', '1', '31', '12', '7']);
  }
}

function optionToken(gen: Gen): string {
  const key = gen.pick(OPTION_KEYS);
  if (gen.chance(0.3)) return `${key}=${gen.pick(DURATIONS)}`;
  return `${key}=${gen.pick(ABSURD_VALUES)}`;
}

/** A task line built from its columns, each possibly malformed. */
function taskLine(gen: Gen): string {
  const parts: string[] = [];
  if (gen.chance(0.2)) {
    const macro = gen.pick(MACROS);
    parts.push(macro);
    if (macro.toLowerCase() === '@every' || gen.chance(0.1)) parts.push(gen.pick(DURATIONS) || '""');
    if (gen.chance(0.1)) parts.push(gen.pick(DURATIONS) || '1s');
  } else {
    const count = gen.chance(0.6) ? 6 : gen.int(10);
    for (let index = 0; index < count; index++) parts.push(gen.chance(0.7) ? gen.pick(['*', '0', '*/5', '1-5', '?']) : fieldPiece(gen));
  }
  if (gen.chance(0.95)) parts.push(gen.chance(0.8) ? '*' : gen.pick(['web-*,!web-3', '10.0.0.300', '::1', 'fd00::/129', 'web-[12', ',', '!', '*,*', '🕐', 'a'.repeat(70)]));
  if (gen.chance(0.95)) parts.push(gen.chance(0.7) ? String(gen.int(3)) : gen.pick(HUGE));
  if (gen.chance(0.95)) parts.push(gen.chance(0.8) ? gen.pick(['cron', 'daemon', 'common']) : gen.pick(['crn', 'Cron', 'DAEMON', 'cron\u200b', '--', 'x'.repeat(100)]));
  const optionCount = gen.chance(0.05) ? 20 + gen.int(200) : gen.int(4);
  for (let index = 0; index < optionCount; index++) parts.push(optionToken(gen));
  if (gen.chance(0.1)) parts.push('--');
  if (gen.chance(0.9)) parts.push(gen.pick(['date', 'echo "hi there', "echo 'x", 'A=1 env', 'true \\', 'x=1', '--', '#not a comment', '🕐', 'a\tb']));
  const blank = () => (gen.chance(0.9) ? ' ' : gen.pick(['\t', '  ', ' \t ', '\u00a0', '\u3000']));
  return parts.map((part, index) => (index === 0 ? part : blank() + part)).join('');
}

/** Small damage anywhere in a line: insert, delete, duplicate, truncate. */
function damage(gen: Gen, line: string): string {
  const at = gen.int(line.length + 1);
  switch (gen.int(7)) {
    case 0:
      return line.slice(0, at) + gen.pick(UNICODE) + line.slice(at);
    case 1:
      return line.slice(0, at) + gen.pick(CONTROL) + line.slice(at);
    case 2:
      return line.slice(0, at) + line.slice(at + 1 + gen.int(5));
    case 3:
      return line.slice(0, at);
    case 4:
      return line.slice(0, at) + gen.pick(['"', "'", '\\', '=', '#', ',', '/', '-', '@', '\\\n', '\r\n', '\n']) + line.slice(at);
    case 5:
      return line + '\\';
    default:
      return line.slice(at) + line.slice(0, at);
  }
}

function anyLine(gen: Gen): string {
  const kind = gen.int(20);
  let line: string;
  if (kind < 9) line = taskLine(gen);
  else if (kind < 12) line = gen.pick(VALID_LINES);
  else if (kind < 15) line = `${gen.pick(ENV_NAMES)}${gen.pick(['=', ' = ', '=\t'])}${gen.pick(ENV_VALUES)}`;
  else if (kind < 16) line = gen.pick(ENV_LINES);
  else if (kind < 17) line = gen.pick(COMMENTS);
  else if (kind < 18) line = gen.pick(['', ' ', '\t', ' \\', '\\']);
  else line = gen.pick(INCLUDES);
  let damaged = line;
  const hits = gen.chance(0.5) ? gen.int(4) : 0;
  for (let index = 0; index < hits; index++) damaged = damage(gen, damaged);
  return damaged;
}

/** A few cases carry a 1 MB line: a long command, comment, env value, quoted option, token, list. */
function megabyteLine(gen: Gen): string {
  switch (gen.int(5)) {
    case 0:
      return `* * * * * * * 1 cron name=big ${'echo abc '.repeat(MB / 9)}`;
    case 1:
      return `# ${'x'.repeat(MB)}`;
    case 2:
      return `BIG=${'v'.repeat(MB)}`;
    case 3:
      return `* * * * * * * 1 cron cwd="${'d'.repeat(MB)} true`;
    default:
      return `* * * * * * * 1 ${'t'.repeat(MB)} true`;
  }
}

export function makeCase(gen: Gen, index: number, total: number): string {
  const lineCount = 1 + gen.int(6);
  const lines = Array.from({ length: lineCount }, () => anyLine(gen));
  if (gen.chance(0.05)) lines.push(lines[0]); // the same task twice (duplicate names)
  if (index % Math.max(1, Math.floor(total / 8)) === 7) lines.splice(gen.int(lines.length + 1), 0, megabyteLine(gen));
  let source = lines[0];
  for (let at = 1; at < lines.length; at++) source += gen.pick(SEPARATORS) + lines[at];
  if (gen.chance(0.1)) source += gen.pick(['\n', '\\', '\\\n', '\r\n', '\r']); // continuation at end of file, etc.
  if (gen.chance(0.02)) source = '\ufeff' + source;
  return source;
}
