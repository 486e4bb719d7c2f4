import { describe, expect, it } from 'vitest';
import { sameDefinition } from '../../src/daemon/task-diff.js';
import { tasksFrom } from '../helpers/tasks.js';

const one = (text: string) => tasksFrom(text)[0];

describe('task diff (SPEC §5): hooks compare by value', () => {
  it('the same hook parsed twice is the same definition; another hook is a change', () => {
    const line = '* * * * * * * 1 cron name=a on_failure=https://alerts.example.com/f on_success="logger ok" true';
    expect(sameDefinition(one(line), one(line))).toBe(true);
    expect(sameDefinition(one(line), one(line.replace('/f', '/g')))).toBe(false);
    expect(sameDefinition(one(line), one(line.replace('logger ok', 'logger done')))).toBe(false);
    expect(sameDefinition(one(`ON_FAILURE=/bin/a\n${line.replace(/ on_failure=\S+/, '')}`), one(`ON_FAILURE=/bin/b\n${line.replace(/ on_failure=\S+/, '')}`))).toBe(false);
  });
});
