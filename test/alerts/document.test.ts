/** SPEC §8's hook document and the output tail it carries (src/alerts/document.ts, output-tail.ts). */
import { describe, expect, it } from 'vitest';
import { documentVariables, hookDocument, type DocumentParts } from '../../src/alerts/document.js';
import { lastBytes, OutputTail, TAIL_BYTES } from '../../src/alerts/output-tail.js';
import { recordOf, SECOND, taskWith } from './fixtures.js';

const hook = { kind: 'url', url: 'http://127.0.0.1:1/hook' } as const;
const backup = taskWith('0 0 3 * * * * 1 cron name=backup /opt/backup', { onFailure: hook, retries: 2 });
const queue = taskWith('* * * * * * * 1 daemon name=queue node worker.js', { onFailure: hook });

function parts(fields: Partial<DocumentParts> = {}): DocumentParts {
  return { event: 'failure', task: backup, record: recordOf(backup, { exitCode: 3, attempt: 3 }), host: 'web-1', digest: 'sha256:abc', output: 'dumping\nerror: disk full\n', outputTruncated: false, ...fields };
}

describe('the hook document', () => {
  it('carries every field SPEC §8 names', () => {
    expect(hookDocument(parts(), 12)).toEqual({
      event: 'failure',
      task: 'backup',
      type: 'cron',
      host: 'web-1',
      run: `${SECOND}-1-0463ee15`,
      scheduledAt: SECOND,
      startedAt: SECOND * 1000 + 7,
      endedAt: SECOND * 1000 + 1507,
      durationMs: 1500,
      attempt: 3,
      attempts: 3,
      exitCode: 3,
      signal: null,
      timedOut: false,
      result: 'exit 3',
      error: null,
      output: 'dumping\nerror: disk full\n',
      outputTruncated: false,
      digest: 'sha256:abc',
      suppressed: 12,
      summary: 'backup failed: exit 3 (attempt 3 of 3) — and 12 more failures',
    });
  });

  it.each<{ name: string; parts: Partial<DocumentParts>; suppressed: number; summary: string }>([
    { name: 'one more failure', parts: {}, suppressed: 1, summary: 'backup failed: exit 3 (attempt 3 of 3) — and 1 more failure' },
    { name: 'a timeout', parts: { record: recordOf(backup, { exitCode: null, signal: 'SIGTERM', timedOut: true }), task: { ...backup, options: { ...backup.options, retries: 0, timeoutMs: 90_000 } } }, suppressed: 0, summary: 'backup failed: timed out after 90s' },
    { name: 'a signal', parts: { record: recordOf(backup, { exitCode: null, signal: 'SIGKILL' }) }, suppressed: 0, summary: 'backup failed: signal SIGKILL (attempt 1 of 3)' },
    { name: 'a spawn error', parts: { record: recordOf(backup, { exitCode: null, jobPid: null, error: 'cwd /srv/gone is not an existing directory' }) }, suppressed: 0, summary: 'backup failed: could not start: cwd /srv/gone is not an existing directory (attempt 1 of 3)' },
    { name: 'a success', parts: { event: 'success', record: recordOf(backup, { attempt: 2 }) }, suppressed: 0, summary: 'backup succeeded (attempt 2 of 3)' },
    { name: 'a daemon instance that exited', parts: { task: queue, record: recordOf(queue, { exitCode: 1 }) }, suppressed: 0, summary: 'queue (daemon) exited: exit 1' },
  ])('summary: $name', ({ parts: fields, suppressed, summary }) => {
    expect(hookDocument(parts(fields), suppressed).summary).toBe(summary);
  });

  it('says the output was cut when log_limit dropped some', () => {
    expect(hookDocument(parts({ record: recordOf(backup, { bytesDropped: 5 }) }), 0).outputTruncated).toBe(true);
  });

  it("gives a command hook the document's fields, not its output, as GOTORCH_* variables", () => {
    const variables = documentVariables(hookDocument(parts(), 2));
    expect(variables).toMatchObject({
      GOTORCH_EVENT: 'failure',
      GOTORCH_TASK: 'backup',
      GOTORCH_HOST: 'web-1',
      GOTORCH_RUN_ID: `${SECOND}-1-0463ee15`,
      GOTORCH_SCHEDULED_AT: String(SECOND),
      GOTORCH_ATTEMPT: '3',
      GOTORCH_EXIT_CODE: '3',
      GOTORCH_SIGNAL: '',
      GOTORCH_TIMED_OUT: 'false',
      GOTORCH_RESULT: 'exit 3',
      GOTORCH_DIGEST: 'sha256:abc',
      GOTORCH_SUPPRESSED: '2',
    });
    expect(Object.values(variables).join('\n')).not.toContain('disk full');
  });
});

describe('the output tail', () => {
  it('keeps the last ≤ 10 kB of 1 MB of lines, whole lines, in order', () => {
    const tail = new OutputTail();
    const lines = Array.from({ length: 10_000 }, (_, index) => `line ${index} ${'x'.repeat(90)}`);
    for (const line of lines) tail.push(line);
    const text = tail.text();
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(TAIL_BYTES);
    expect(Buffer.byteLength(text)).toBeGreaterThan(TAIL_BYTES - 200);
    expect(text.endsWith(`${lines.at(-1)}\n`)).toBe(true);
    const kept = text.trimEnd().split('\n');
    expect(kept).toEqual(lines.slice(-kept.length));
    expect(tail.truncated).toBe(true);
  });

  it('keeps the end of one line longer than the bound, and UTF-8 stays valid', () => {
    const tail = new OutputTail();
    tail.push('€'.repeat(5_000)); // 15,000 bytes
    const text = tail.text();
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(TAIL_BYTES);
    expect(text).toMatch(/^€+\n$/);
    expect(Buffer.from(text).toString('utf8')).toBe(text);
  });

  it.each([
    { text: 'abc', limit: 10, expected: 'abc' },
    { text: 'abcdef', limit: 3, expected: 'def' },
    // "é" is two bytes: a cut inside it moves on to the next character.
    { text: 'aéb', limit: 2, expected: 'b' },
    { text: 'a😀b', limit: 5, expected: '😀b' },
    { text: 'a😀b', limit: 4, expected: 'b' },
  ])('lastBytes($text, $limit)', ({ text, limit, expected }) => {
    expect(lastBytes(text, limit)).toBe(expected);
  });

  it('is empty for a run that printed nothing', () => {
    expect(new OutputTail().text()).toBe('');
  });
});
