import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { pipedCommand, splitPercent } from '../../src/import/percent.js';

// Expected values traced by hand through do_command.c (FreeBSD's copy of Vixie cron): in the command `\\%` and
// `\\\\` lose their backslash; the input gets a final newline when its last character written is not one.
describe('splitPercent (Vixie cron do_command.c)', () => {
  const rows: { line: string; command: string; stdin?: string }[] = [
    { line: 'date', command: 'date' },
    { line: 'date +\\%F', command: 'date +%F' },
    { line: 'echo \\\\n \\x', command: 'echo \\n \\x' },
    { line: 'mail root%hello%world', command: 'mail root', stdin: 'hello\nworld\n' },
    { line: 'cat%a\\%b%', command: 'cat', stdin: 'a%b\n' },
    { line: 'cat%', command: 'cat', stdin: '' },
    { line: 'cat%a\\b\\', command: 'cat', stdin: 'a\\b\\\n' },
    { line: 'cat%a\\\\%b', command: 'cat', stdin: 'a\\%b\n' },
    { line: 'cat \\\\%x', command: 'cat \\', stdin: 'x\n' },
  ];
  it.each(rows)('$line', ({ line, command, stdin }) => {
    expect(splitPercent(line)).toEqual(stdin === undefined ? { command } : { command, stdin });
  });
});

/** What `sh -c command` prints with `stdin` on its standard input. */
function run(command: string, stdin?: string): string {
  const result = spawnSync('/bin/sh', ['-c', command], { input: stdin ?? '', encoding: 'utf8' });
  return `${result.status}:${result.stdout}`;
}

describe('pipedCommand prints the same as cron feeding the input (real /bin/sh)', () => {
  const rows: { command: string; stdin: string }[] = [
    { command: 'cat', stdin: 'one\ntwo' },
    { command: 'cat', stdin: '' },
    { command: 'cat', stdin: "it's 100% \\n 'quoted' \"double\" $HOME `x`" },
    { command: 'cat', stdin: '-n\n--' },
    { command: 'cat', stdin: 'trailing\n\n' },
    { command: 'wc -l', stdin: 'a\nb\nc\n' },
    { command: 'read a; echo "got $a"; cat', stdin: 'first\nsecond' },
    { command: 'cd / && cat # a comment', stdin: 'x' },
    { command: "tr a-z A-Z | sed 's/^/> /'", stdin: 'hello\nworld' },
    { command: 'cat; exit 3', stdin: 'x' },
  ];
  it.each(rows)('$command with $stdin', ({ command, stdin }) => {
    expect(run(pipedCommand({ command, stdin }))).toEqual(run(command, stdin));
  });
});
