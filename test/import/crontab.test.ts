import { describe, expect, it } from 'vitest';
import { parseCrontab, type CrontabFormat } from '../../src/import/crontab.js';
import { importCrontabs } from '../../src/import/task-lines.js';
import { parseTaskFile } from '../../src/tasks/task-file.js';

/** The task line (last line of the output that is not a comment) one crontab line imports to. */
function imported(text: string, format: CrontabFormat = 'user'): { line?: string; problems: string[] } {
  const parsed = parseCrontab(text, 'crontab', format);
  const result = importCrontabs([{ file: 'crontab', host: '*', parsed }], { max: 1 });
  const problems = result.problems.map((problem) => `${problem.file}:${problem.line}:${problem.column}: ${problem.message}`);
  if (problems.length > 0) return { problems };
  const body = result.text.split('\n').filter((line) => line !== '' && !line.startsWith('#'));
  return { line: body.join('\n'), problems };
}

describe('crontab lines', () => {
  const rows: { crontab: string; expect: string; format?: CrontabFormat }[] = [
    { crontab: '* * * * * date', expect: '0 * * * * * * 1 cron date' },
    { crontab: '*/5 * * * * date', expect: '0 */5 * * * * * 1 cron date' },
    { crontab: '0,15,30,45 8-18 * * * date', expect: '0 0,15,30,45 8-18 * * * * 1 cron date' },
    { crontab: '0 8-18/2 1-15 * mon-fri date', expect: '0 0 8-18/2 1-15 * mon-fri * 1 cron date' },
    { crontab: '0 0 1 jan,Jul * date', expect: '0 0 0 1 jan,Jul * * 1 cron date' },
    { crontab: '0 0 * * 7 date', expect: '0 0 0 * * 7 * 1 cron date' },
    { crontab: '\t5  4\t* * SUN   echo  a   b', expect: '0 5 4 * * SUN * 1 cron echo  a   b' },
    ...['@hourly', '@daily', '@midnight', '@weekly', '@monthly', '@yearly', '@annually'].map((macro) => ({ crontab: `${macro} date`, expect: `${macro} * 1 cron date` })),
    { crontab: '@reboot /usr/bin/warm', expect: '@reboot * 1 cron /usr/bin/warm' },
    // the user column (system format)
    { crontab: '17 * * * * root cd / && run-parts --report /etc/cron.hourly', format: 'system', expect: '0 17 * * * * * 1 cron user=root cd / && run-parts --report /etc/cron.hourly' },
    { crontab: '@reboot www-data /srv/start', format: 'system', expect: '@reboot * 1 cron user=www-data /srv/start' },
    // `%`: stdin, with `\%` a literal percent sign
    { crontab: '0 1 * * * date +\\%F', expect: '0 0 1 * * * * 1 cron date +%F' },
    { crontab: "0 1 * * * mail -s hi root%line one%it's", expect: "0 0 1 * * * * 1 cron printf 'line one\\nit'\\''s\\n' | mail -s hi root" },
    { crontab: '0 1 * * * cat > /tmp/x%50\\% done', expect: "0 0 1 * * * * 1 cron printf '50%% done\\n' | eval 'cat > /tmp/x'" },
    { crontab: '0 1 * * * cat%-n', expect: "0 0 1 * * * * 1 cron printf '\\055n\\n' | cat" },
    // words gotorch would read as options get `--` in front of the command
    { crontab: '* * * * * tz=UTC date', expect: '0 * * * * * * 1 cron -- tz=UTC date' },
    { crontab: '* * * * * echo timeout=5s', expect: '0 * * * * * * 1 cron -- echo timeout=5s' },
    // comments and blank lines around a line leave it alone
    { crontab: '\n# a comment\n\n   # another\n* * * * * date\n\n', expect: '0 * * * * * * 1 cron date' },
    // environment lines, in order, quoted when gotorch would strip what cron keeps
    { crontab: 'PATH=/usr/bin:/bin\nHOME = /srv\n* * * * * date', expect: 'PATH=/usr/bin:/bin\nHOME=/srv\n0 * * * * * * 1 cron date' },
    { crontab: 'GREETING="  hi  "\nQ=\'"a"\'\n* * * * * date', expect: 'GREETING="  hi  "\nQ=""a""\n0 * * * * * * 1 cron date' },
    { crontab: 'SHELL=/bin/bash\n* * * * * date', expect: 'SHELL=/bin/bash\n0 * * * * * * 1 cron date' },
    { crontab: 'MAILTO=ops@example.com\n* * * * * date', expect: '0 * * * * * * 1 cron date' },
    { crontab: 'CRON_TZ=Europe/Berlin\nTZ=Asia/Tokyo\n0 9 * * * date', expect: 'CRON_TZ=Europe/Berlin\nTZ=Asia/Tokyo\n0 0 9 * * * * 1 cron tz=Europe/Berlin date' },
    { crontab: 'A=1\n* * * * * one\nA=2\n* * * * * two', expect: 'A=1\n0 * * * * * * 1 cron one\nA=2\n0 * * * * * * 1 cron two' },
    // the same command twice: the second needs a name of its own
    { crontab: '0 1 * * * backup\n0 13 * * * backup', expect: expect.stringMatching(/^0 0 1 \* \* \* \* 1 cron backup\n0 0 13 \* \* \* \* 1 cron name=backup-[0-9a-f]{6}-2 backup$/) as unknown as string },
  ];
  it.each(rows)('$crontab', ({ crontab, expect: wanted, format }) => {
    const result = imported(crontab, format);
    expect(result.problems).toEqual([]);
    expect(result.line).toEqual(wanted);
  });
});

describe('lines that cannot be imported', () => {
  const rows: { crontab: string; problem: string; format?: CrontabFormat }[] = [
    { crontab: '* * * * date', problem: 'crontab:1:9: "date" is not a cron day-of-week item' },
    { crontab: '* * * *', problem: 'crontab:1:8: a crontab line needs five fields' },
    { crontab: '61 * * * * date', problem: 'crontab:1:1: ' },
    { crontab: '* 5-2 * * * date', problem: 'crontab:1:3: ' },
    { crontab: '*/0 * * * * date', problem: 'crontab:1:3: step must be 1 or more' },
    { crontab: '* * * foo * date', problem: 'crontab:1:7: ' },
    { crontab: '* * ? * * date', problem: 'crontab:1:5: cron has no "?"' },
    { crontab: '* * L * * date', problem: 'crontab:1:5: "L" is not a cron day-of-month item' },
    { crontab: '* * * * 5#2 date', problem: 'crontab:1:9: "5#2" is not a cron day-of-week item' },
    { crontab: '5/10 * * * * date', problem: 'crontab:1:1: cron reads a step only after * or a range: write 5-59/10' },
    { crontab: '0 0 * * 1,mon-fri,1/2 date', problem: 'crontab:1:19: cron reads a step only after * or a range: write 1-7/2' },
    { crontab: '@every 5m date', problem: 'crontab:1:1: "@every" is not a cron macro' },
    { crontab: '@Daily date', problem: 'crontab:1:1: "@Daily" is not a cron macro' },
    { crontab: '* * * * *', problem: 'crontab:1:10: missing command' },
    { crontab: '* * * * * %stdin only', problem: 'crontab:1:11: missing command' },
    { crontab: '* * * * * echo a\\', problem: 'crontab:1:17: a trailing backslash is literal in a crontab but continues a gotorch line' },
    { crontab: '* * * * * https://example.com/ping', problem: 'crontab:1:11: gotorch runs a command starting with http://' },
    { crontab: '* * * * * /bin/date', format: 'system', problem: 'crontab:1:11: "/bin/date" is not a user name or uid' },
    { crontab: '* * * * * root', format: 'system', problem: 'crontab:1:15: missing command' },
    { crontab: 'FOO-BAR=1\n* * * * * date', problem: 'crontab:1:1: gotorch environment names are letters, digits and _' },
    { crontab: 'PING=https://hc-ping.com/x\n* * * * * date', problem: 'crontab:1:1: PING= is a gotorch setting' },
    { crontab: 'SHELL=bash\n* * * * * date', problem: 'crontab:1:1: gotorch needs SHELL to be an absolute path' },
    { crontab: 'TZ=UTC\n* * * * * date', problem: "crontab:1:1: TZ= in a crontab is only the jobs' zone" },
    { crontab: 'CRON_TZ=Mars/Olympus\n* * * * * date', problem: 'crontab:1:1: ' },
    { crontab: 'CRON_TZ=UTC\nTZ=Mars/Olympus\n* * * * * date', problem: 'crontab:2:1: ' },
    { crontab: `* * * * * echo ${'x'.repeat(140_000)}`, problem: 'crontab:1:1: gotorch would read its task line as: ' },
  ];
  it.each(rows)('$crontab', ({ crontab, problem, format }) => {
    const { problems, line } = imported(crontab, format);
    expect(line).toBeUndefined();
    expect(problems.length).toBeGreaterThan(0);
    expect(problems[0].startsWith(problem), problems[0]).toBe(true);
  });

  it('reports every bad line of a file with its line number, and keeps none of the output', () => {
    const { problems } = imported('* * * * * ok\n99 * * * * bad\n\n* * ? * * bad\n');
    expect(problems.map((problem) => problem.split(': ')[0])).toEqual(['crontab:2:1', 'crontab:4:5']);
  });
});

describe('several hosts', () => {
  const source = (host: string, text: string) => ({ file: `crontab.${host}`, host, parsed: parseCrontab(text, `crontab.${host}`, 'user') });

  it('merges a line equal on several hosts, keeps the others per host, in order of first appearance', () => {
    const result = importCrontabs(
      [source('web-1', 'PATH=/bin\n* * * * * a\n0 1 * * * b'), source('web-2', 'PATH=/bin\n0 1 * * * b\n5 * * * * c'), source('web-3', 'PATH=/bin\n* * * * * a')],
      { max: 1 },
    );
    expect(result.problems).toEqual([]);
    const body = result.text.split('\n').filter((line) => line !== '' && !line.startsWith('#'));
    expect(body).toEqual(['PATH=/bin', '0 * * * * * web-1,web-3 1 cron a', '0 0 1 * * * web-1,web-2 1 cron b', '0 5 * * * * web-2 1 cron c']);
    expect(result.text).toContain('# from crontab.web-1:2, crontab.web-3:2: * * * * * a');
  });

  it('keeps lines apart whose environment differs, and writes the smaller environment first', () => {
    const result = importCrontabs([source('web-1', 'A=1\n* * * * * a'), source('web-2', '* * * * * a'), source('web-3', 'A=2\n* * * * * a')], { max: 1 });
    expect(result.problems).toEqual([]);
    const body = result.text.split('\n').filter((line) => line !== '' && !line.startsWith('#'));
    expect(body).toEqual(['0 * * * * * web-2 1 cron a', 'A=1', '0 * * * * * web-1 1 cron name=a-86f7e4-2 a', 'A=2', '0 * * * * * web-3 1 cron name=a-86f7e4-3 a']);
    const parsed = parseTaskFile(result.text, 'out', { env: {}, shell: '/bin/sh', zone: 'UTC', asRoot: true, baseDir: '/' });
    expect(parsed.errors).toEqual([]);
    const envs = parsed.entries.map((entry) => (entry.kind === 'task' ? entry.task.env : undefined));
    expect(envs).toEqual([{}, { A: '1' }, { A: '2' }]);
  });

  it('refuses environments that exclude each other (a gotorch environment line cannot be unset)', () => {
    const result = importCrontabs([source('web-1', 'A=1\n* * * * * a'), source('web-2', 'B=1\n* * * * * b')], { max: 1 });
    expect(result.problems.map((problem) => `${problem.file}:${problem.line}`)).toEqual(['crontab.web-2:2']);
    expect(result.problems[0].message).toContain('has no A');
  });
});
