import { describe, expect, it } from 'vitest';
import { parseTaskFile } from '../../src/tasks/task-file.js';
import type { LineContext } from '../../src/tasks/task-line.js';

const context: LineContext = { env: {}, shell: '/bin/sh', zone: 'UTC', asRoot: false, baseDir: '/srv/app' };

function parse(text: string, asRoot = false) {
  return parseTaskFile(text, 'tasks.conf', { ...context, asRoot });
}

function onlyTask(text: string) {
  const parsed = parse(text);
  expect(parsed.errors).toEqual([]);
  const tasks = parsed.entries.filter((entry) => entry.kind === 'task');
  expect(tasks).toHaveLength(1);
  return tasks[0].kind === 'task' ? tasks[0].task : (undefined as never);
}

// SPEC §1.7: every error as file:line:column, all of them.
const errorRows: { name: string; text: string; line?: number; column: number; message: string }[] = [
  // §1.1 field count: never guessed
  { name: 'four fields', text: '* * * * * 1 cron date', column: 1, message: 'expected 6 schedule fields' },
  { name: 'five fields (hosts forgotten)', text: '* * * * * * 1 cron date', column: 1, message: 'found 5' },
  { name: 'hint names the hosts column', text: '* * * * * * 1 cron date', column: 1, message: 'hosts (* for every host)' },
  { name: 'seven fields', text: '* * * * * * * * 1 cron date', column: 1, message: 'found 7' },
  // §1.1 values
  { name: 'second out of range', text: '61 * * * * * * 1 cron date', column: 1, message: '61' },
  { name: 'minute out of range', text: '* 60 * * * * * 1 cron date', column: 3, message: '60' },
  { name: 'hour out of range', text: '* * 24 * * * * 1 cron date', column: 5, message: '24' },
  { name: 'day-of-month zero', text: '* * * 0 * * * 1 cron date', column: 7, message: '0' },
  { name: 'day-of-month 32', text: '* * * 32 * * * 1 cron date', column: 7, message: '32' },
  { name: 'month 13', text: '* * * * 13 * * 1 cron date', column: 9, message: '13' },
  { name: 'day-of-week 8', text: '* * * * * 8 * 1 cron date', column: 11, message: '8' },
  { name: 'unknown month name', text: '* * * * jna * * 1 cron date', column: 9, message: 'jna' },
  { name: 'unknown weekday name', text: '* * * * * fri,sat,snu * 1 cron date', column: 19, message: 'snu' },
  { name: 'second error in a list', text: '0,15,75 * * * * * * 1 cron date', column: 6, message: '75' },
  { name: 'two bad fields, both reported', text: '* 99 * * * * * 1 cron date', column: 3, message: '99' },
  { name: 'L in day-of-week alone', text: '* * * * * L * 1 cron date', column: 11, message: 'L' },
  { name: 'unknown macro with suggestion', text: '@dialy * 1 cron date', column: 1, message: '@daily' },
  { name: 'daemon with a macro', text: '@reboot * 1 daemon sleep 100', column: 1, message: 'a daemon task runs while its schedule matches' },
  // §1.2 hosts
  { name: 'IPv4 with a bad octet', text: '* * * * * * 10.0.0.300 1 cron date', column: 13, message: 'not a valid IPv4 address' },
  { name: 'CIDR prefix too long', text: '* * * * * * 10.0.0.0/33 1 cron date', column: 13, message: 'prefix "/33"' },
  { name: 'CIDR on a non-address', text: '* * * * * * web/24 1 cron date', column: 13, message: 'not an IP address' },
  { name: 'empty host item', text: '* * * * * * web-1,,web-2 1 cron date', column: 19, message: 'empty host item' },
  { name: 'bare exclusion', text: '* * * * * * web-1,! 1 cron date', column: 19, message: 'empty host item' },
  { name: 'bad characters in a host glob', text: '* * * * * * web@1 1 cron date', column: 13, message: 'not an address, CIDR block or host-name glob' },
  { name: 'unclosed bracket in a glob', text: '* * * * * * web-[12 1 cron date', column: 13, message: 'unclosed "["' },
  // §1.3 max
  { name: 'max not a number', text: '* * * * * * * x cron date', column: 15, message: 'max "x" must be a whole number' },
  { name: 'negative max', text: '* * * * * * * -1 cron date', column: 15, message: 'max "-1"' },
  { name: 'max too large', text: '* * * * * * * 100001 cron date', column: 15, message: 'from 0 to 100000' },
  { name: 'daemon with max 0', text: '* * * * * * * 0 daemon sleep 1', column: 15, message: 'max must be 1 or more' },
  // §1.4 type
  { name: 'misspelled type', text: '* * * * * * * 1 crn date', column: 17, message: 'did you mean "cron"' },
  { name: 'line ends before type', text: '* * * * * * *', column: 14, message: 'incomplete task line' },
  { name: 'missing command', text: '* * * * * * * 1 cron', column: 21, message: 'missing command' },
  { name: 'missing command after options', text: '* * * * * * * 1 cron name=x', column: 28, message: 'missing command' },
  // §1.5 options
  { name: 'typo in an option key', text: '* * * * * * * 1 cron tiemout=5s date', column: 22, message: 'did you mean "timeout"' },
  { name: 'unknown option without a near key', text: '* * * * * * * 1 cron x=1 date', column: 22, message: 'unknown option "x="' },
  { name: 'duration without unit', text: '* * * * * * * 1 cron timeout=5 date', column: 31, message: 'write 5s' },
  { name: 'duration with a bad unit', text: '* * * * * * * 1 cron timeout=5x date', column: 30, message: 'bad duration' },
  { name: 'a decimal duration', text: '* * * * * * * 1 cron timeout=1.5s date', column: 30, message: 'duration "1.5s" is not a whole number: write 1500ms' },
  { name: 'a decimal duration in minutes', text: '* * * * * * * 1 cron grace=2.5m date', column: 28, message: 'write 150s' },
  { name: 'zero grace', text: '* * * * * * * 1 cron grace=0s date', column: 28, message: 'grace must be longer than 0' },
  { name: 'unknown time zone', text: '* * * * * * * 1 cron tz=Mars/Base date', column: 25, message: 'Mars/Base' },
  { name: 'bad name', text: '* * * * * * * 1 cron name=a/b date', column: 27, message: 'may use only letters' },
  { name: 'user= when not root', text: '* * * * * * * 1 cron user=backup date', column: 27, message: 'needs the daemon to run as root' },
  { name: 'bad log_limit', text: '* * * * * * * 1 cron log_limit=lots date', column: 32, message: 'is not a size' },
  { name: 'option given twice', text: '* * * * * * * 1 cron name=a name=b date', column: 29, message: 'given twice' },
  { name: 'unterminated quote', text: '* * * * * * * 1 cron cwd="/tmp date', column: 26, message: 'unterminated quote: close the value with "' },
  { name: 'unterminated single quote', text: "* * * * * * * 1 cron cwd='/tmp date", column: 26, message: "unterminated quote: close the value with '" },
  { name: 'a single-quoted name is read whole', text: "* * * * * * * 1 cron name='c d' date", column: 27, message: 'name "c d" may use only letters' },
  { name: 'text glued to a closing quote', text: '* * * * * * * 1 cron cwd="/tmp"x date', column: 32, message: 'expected a blank after the closing quote' },
  { name: 'empty cwd', text: '* * * * * * * 1 cron cwd= date', column: 26, message: 'cwd is empty' },
  // limits of the host's exec: one argument or environment string below 128 KiB with its NUL
  { name: 'a command of 128 KiB', text: `* * * * * * * 1 cron echo ${'x'.repeat(131_072 - 5)}`, column: 22, message: 'the command is 131072 bytes; Linux passes at most 131071 bytes in one argument or environment string (MAX_ARG_STRLEN, 128 KiB with the NUL), so every run would fail with E2BIG' },
  { name: 'a command of 128 KiB in UTF-8 bytes', text: `* * * * * * * 1 cron echo ${'é'.repeat(65_534)}`, column: 22, message: 'the command is 131073 bytes' },
  { name: 'an environment line of 128 KiB', text: `BIG=${'x'.repeat(131_068)}`, column: 1, message: 'the environment line BIG= is 131072 bytes' },
  // §1.6 environment lines and includes
  { name: 'unknown TZ line zone', text: 'TZ=Nowhere/City', column: 4, message: 'Nowhere/City' },
  { name: 'relative SHELL', text: 'SHELL=bash', column: 7, message: 'SHELL must be an absolute path' },
  { name: 'include without a file', text: 'include', column: 8, message: 'include needs a file or glob' },
  // positions across lines
  { name: 'error on the third line', text: '# comment\n\n61 * * * * * * 1 cron date', line: 3, column: 1, message: '61' },
  { name: 'error on a continued line', text: '* * * * * * * 1 cron \\\n  tiemout=1s date', line: 2, column: 3, message: 'did you mean "timeout"' },
  { name: 'CRLF line endings keep columns', text: '0 0 0 * * * * 1 cron ok\r\n* * * * * * * 1 crn date\r\n', line: 2, column: 17, message: 'unknown type' },
  { name: 'NUL byte', text: '* * * * * * * 1 cron da\0te', column: 24, message: 'NUL byte' },
];

describe('task file errors (SPEC §1.7)', () => {
  it('has at least 40 error rows', () => expect(errorRows.length).toBeGreaterThanOrEqual(40));

  it.each(errorRows)('$name', ({ text, line = 1, column, message }) => {
    const { errors } = parse(text);
    const hit = errors.find((error) => error.line === line && error.column === column);
    expect(hit, `errors were: ${JSON.stringify(errors)}`).toBeDefined();
    expect(hit?.message).toContain(message);
    expect(hit?.file).toBe('tasks.conf');
  });

  it('reports every error of every line, not just the first', () => {
    const { errors } = parse('61 * 24 * * * * 1 cron date\n* * * * * * * 1 crn date\n* * * * * * * 1 cron tiemout=1s date');
    expect(errors.map((error) => `${error.line}:${error.column}`)).toEqual(['1:1', '1:6', '2:17', '3:22']);
  });

  it('user= is accepted when the daemon runs as root', () => {
    expect(parse('* * * * * * * 1 cron user=backup date', true).errors).toEqual([]);
  });

  it('a command of 131071 bytes still runs: with its NUL it fits MAX_ARG_STRLEN', () => {
    expect(parse(`* * * * * * * 1 cron echo ${'x'.repeat(131_071 - 5)}`).errors).toEqual([]);
    expect(parse(`BIG=${'x'.repeat(131_067)}`).errors).toEqual([]);
  });
});


describe('task lines (SPEC §1)', () => {
  it('reads schedule, hosts, max, type and command', () => {
    const task = onlyTask('*/5 * * * * * * 1 cron date >> /tmp/tick.log');
    expect(task).toMatchObject({ scheduleText: '*/5 * * * * *', hosts: ['*'], max: 1, type: 'cron', command: 'date >> /tmp/tick.log', shell: '/bin/sh', zone: 'UTC' });
    expect(task.id).toMatch(/^date-[0-9a-f]{6}$/);
  });

  it('derives a stable identity from the command (SPEC §1.7)', () => {
    const first = onlyTask('0 * * * * * * 1 cron /usr/local/bin/cleanup --all');
    const second = onlyTask('30 0 3 * * * * 5 cron /usr/local/bin/cleanup --all');
    expect(first.id).toBe(second.id);
    expect(first.id).toMatch(/^cleanup-/);
    expect(onlyTask('0 * * * * * * 1 cron /usr/local/bin/cleanup').id).not.toBe(first.id);
  });

  it('accepts tabs and runs of blanks as separators', () => {
    expect(onlyTask('0\t30\t2 * *  *\t\t10.0.1.0/24   1\tcron\tname=report  /opt/bin/report --daily').command).toBe('/opt/bin/report --daily');
  });

  it('takes common as an alias of cron', () => expect(onlyTask('* * * * * * * 1 common true').type).toBe('cron'));

  it('reads a daemon task with host exclusions', () => {
    expect(onlyTask('* * * * * * web-*,!web-3 2 daemon name=queue node /srv/worker.js')).toMatchObject({ type: 'daemon', max: 2, id: 'queue', hosts: ['web-*', '!web-3'] });
  });

  it('resolves options with defaults in one place (SPEC §1.5)', () => {
    const task = onlyTask('* * * * * * * 1 cron name=report timeout=10m tz=Europe/Berlin cwd=jobs /opt/report');
    expect(task.options).toEqual({ name: 'report', timeoutMs: 600_000, graceMs: 10_000, tz: 'Europe/Berlin', cwd: '/srv/app/jobs', logLimit: 1_048_576, retries: 0, retryDelayMs: 10_000, overlap: 'skip', jitterS: 0, singleton: false });
    expect(task.zone).toBe('Europe/Berlin');
    expect(onlyTask('* * * * * * * 1 cron grace=2s log_limit=64k true').options).toMatchObject({ graceMs: 2000, logLimit: 65_536 });
  });

  it('accepts double-quoted option values', () => {
    expect(onlyTask('* * * * * * * 1 cron cwd="/srv/my app" name="x" ls').options).toMatchObject({ cwd: '/srv/my app', name: 'x' });
  });

  it('accepts single-quoted option values with the same rules (README: choices)', () => {
    const task = onlyTask(`* * * * * * * 1 cron cwd='/srv/my app' name='x' ls`);
    expect(task.options).toMatchObject({ cwd: '/srv/my app', name: 'x' });
    expect(task.command).toBe('ls');
    expect(onlyTask(`* * * * * * * 1 cron cwd='/srv/it\\'s "here"' ls`).options.cwd).toBe(`/srv/it's "here"`);
    expect(onlyTask(`* * * * * * * 1 cron cwd="/srv/it's" ls`).options.cwd).toBe(`/srv/it's`);
  });

  it('ends options at the first non-option token, or at --', () => {
    expect(onlyTask('* * * * * * * 1 cron echo a=b').command).toBe('echo a=b');
    expect(onlyTask('* * * * * * * 1 cron FOO=1 env').command).toBe('FOO=1 env');
    expect(onlyTask('* * * * * * * 1 cron name=x -- http_proxy=y curl').command).toBe('http_proxy=y curl');
  });

  it('reads macros (SPEC §1.1)', () => {
    expect(onlyTask('@daily * 0 cron /usr/local/bin/cleanup').scheduleText).toBe('@daily');
    expect(onlyTask('@every 90s * 1 cron true').schedule).toEqual({ kind: 'every', seconds: 90 });
    expect(onlyTask('@reboot * 1 cron true').schedule).toEqual({ kind: 'reboot' });
  });

  it('joins continued lines', () => {
    expect(onlyTask('* * * * * * * 1 cron \\\n  echo one \\\n  two').command).toBe('echo one    two');
  });
});

// SPEC §1: `\` at the end continues a line. As in the shell, only an odd number of trailing
// backslashes does; an even number is literal and kept as written (README: choices).
const continuationRows: { name: string; text: string; commands: string[] }[] = [
  { name: 'an escaped backslash ends the command', text: '* * * * * * * 1 cron printf %s\\\\\n* * * * * * * 1 cron name=next date', commands: ['printf %s\\\\', 'date'] },
  { name: 'four backslashes are two escaped ones', text: '* * * * * * * 1 cron echo \\\\\\\\\n* * * * * * * 1 cron name=next date', commands: ['echo \\\\\\\\', 'date'] },
  { name: 'three backslashes: an escaped one, then a continuation', text: '* * * * * * * 1 cron echo \\\\\\\n  more', commands: ['echo \\\\   more'] },
  { name: 'one backslash continues', text: '* * * * * * * 1 cron echo \\\n  more', commands: ['echo    more'] },
  { name: 'an env line ending in an escaped backslash stays an env line', text: 'DIR=C:\\\\\n* * * * * * * 1 cron name=next date', commands: ['date'] },
];

// Likely mistakes that still parse are warnings (same file:line:column shape); they never reject a file.
const warningRows: { name: string; text: string; line?: number; column?: number; message?: string }[] = [
  { name: 'a continuation joins a task line', text: '* * * * * * * 1 cron echo one \\\n* * * * * * * 1 cron name=two date', line: 1, column: 31, message: 'joins line 2 to this line, but line 2 reads as a task line' },
  { name: 'an env line continued into a task line', text: 'PATH=/usr/bin\\\n* * * * * * * 1 cron name=lost date', line: 1, column: 14, message: 'remove the "\\" if line 2 is a separate task' },
  { name: 'a continuation joins a macro task line', text: '* * * * * * * 1 cron echo \\\n  @every 90s * 1 cron name=two date', line: 1, column: 27, message: 'line 2 reads as a task line' },
  { name: 'an option after the command', text: '* * * * * * * 1 cron name=x echo hi name=late timeout=5s', column: 37, message: '"name=late", "timeout=5s" after the command are part of the command, not options: put them before the command, or use -- to keep them as part of the command' },
  { name: 'an option after the command on a continued line', text: '* * * * * * * 1 cron echo hi \\\n  tz=UTC', line: 2, column: 3, message: '"tz=UTC" after the command is part of the command, not an option' },
  { name: 'many options after the command are counted', text: '* * * * * * * 1 cron run name=a name=b name=c name=d name=e', column: 26, message: '"name=a", "name=b", "name=c" and 2 more after the command' },
  // Rows that must not warn.
  { name: 'a continued command', text: '* * * * * * * 1 cron echo one \\\n  two three four five six seven 1 cron' },
  { name: 'a continued line of options', text: '* * * * * * * 1 cron name=x \\\n  timeout=5s date' },
  { name: '-- keeps option-like words in the command', text: '* * * * * * * 1 cron -- echo hi name=late timeout=5s' },
  { name: 'unknown keys after the command are shell words', text: '* * * * * * * 1 cron dd if=/dev/zero of=/tmp/x bs=1M count=1' },
  { name: 'option words inside quotes', text: `* * * * * * * 1 cron echo "a name=x" 'b timeout=5s'` },
  { name: 'option words in a shell comment', text: '* * * * * * * 1 cron date # timeout=5s' },
  { name: 'an option word glued to a flag', text: '* * * * * * * 1 cron mysql --user=backup' },
];

describe('line continuations (SPEC §1)', () => {
  it.each(continuationRows)('$name', ({ text, commands }) => {
    const parsed = parse(text);
    expect(parsed.errors).toEqual([]);
    expect(parsed.entries.map((entry) => (entry.kind === 'task' ? entry.task.command : entry.kind))).toEqual(commands);
  });
});

describe('task file warnings', () => {
  it.each(warningRows)('$name', ({ text, line = 1, column, message }) => {
    const parsed = parse(text);
    expect(parsed.errors).toEqual([]);
    if (message === undefined) {
      expect(parsed.warnings).toEqual([]);
      return;
    }
    const hit = parsed.warnings.find((warning) => warning.line === line && warning.column === column);
    expect(hit, `warnings were: ${JSON.stringify(parsed.warnings)}`).toBeDefined();
    expect(hit?.message).toContain(message);
    expect(hit?.file).toBe('tasks.conf');
  });

  it('a warning does not stop the tasks from loading', () => {
    const parsed = parse('* * * * * * * 1 cron name=x echo hi timeout=5s');
    expect(parsed.entries).toHaveLength(1);
  });
});

describe('environment lines (SPEC §1.6)', () => {
  it('apply to the tasks below them only', () => {
    const parsed = parse('* * * * * * * 1 cron name=before env\nA=1\nB = "two words"\nSHELL=/bin/bash\nTZ=Europe/Berlin\n* * * * * * * 1 cron name=after env');
    expect(parsed.errors).toEqual([]);
    const [before, after] = parsed.entries.map((entry) => (entry.kind === 'task' ? entry.task : undefined));
    expect(before).toMatchObject({ env: {}, shell: '/bin/sh', zone: 'UTC' });
    expect(after).toMatchObject({ env: { A: '1', B: 'two words', SHELL: '/bin/bash', TZ: 'Europe/Berlin' }, shell: '/bin/bash', zone: 'Europe/Berlin' });
  });

  it('records includes with the environment in force', () => {
    const parsed = parse('X=1\ninclude conf.d/*.conf');
    expect(parsed.entries).toEqual([{ kind: 'include', pattern: 'conf.d/*.conf', location: { file: 'tasks.conf', line: 2, column: 9 }, context: expect.objectContaining({ env: { X: '1' } }) }]);
  });
});
