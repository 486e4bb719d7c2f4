import { appendFileSync, closeSync, openSync, renameSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LogFollower } from '../../src/history/follow.js';
import { waitFor } from '../helpers/processes.js';
import { logFolders } from './run-log-fixtures.js';

const logFolder = logFolders();
const followers: LogFollower[] = [];
afterEach(() => {
  for (const follower of followers.splice(0)) follower.stop();
});

/** A follower of `dir/runs.log` and the lines it handed over. */
function follow(dir: string, start?: { fd: number; position: number }): { seen: string[]; follower: LogFollower } {
  const seen: string[] = [];
  const follower = new LogFollower(path.join(dir, 'runs.log'), (line) => seen.push(line.toString()), start);
  followers.push(follower);
  follower.start();
  return { seen, follower };
}

const seenAll = (seen: string[], lines: string[]) => waitFor(() => lines.every((line) => seen.includes(line)), 5000, `lines ${lines.join(', ')} (seen: ${seen.join(', ')})`);

describe('LogFollower (logs --follow, like tail -F)', () => {
  it('goes on from where the backward read began, holding a line until its newline is written', async () => {
    const dir = logFolder();
    const file = path.join(dir, 'runs.log');
    writeFileSync(file, 'old 1\nold 2\n');
    const fd = openSync(file, 'r');
    const { seen } = follow(dir, { fd, position: statSync(file).size });
    appendFileSync(file, 'new 1\nnew 2 is hal');
    await seenAll(seen, ['new 1']);
    appendFileSync(file, 'f written\n');
    await seenAll(seen, ['new 2 is half written']);
    expect(seen).toEqual(['new 1', 'new 2 is half written']);
  });

  it('across a rotation: the old file read to its end (a late flush too), then the new one from its start', async () => {
    const dir = logFolder();
    const file = path.join(dir, 'runs.log');
    writeFileSync(file, '');
    const { seen } = follow(dir);
    appendFileSync(file, 'before\n');
    await seenAll(seen, ['before']);
    // log-file.ts: rename to .1, a new file at the name; the retired stream's last flush lands in .1.
    const old = openSync(file, 'a');
    appendFileSync(old, 'old file, last line\n');
    renameSync(file, `${file}.1`);
    writeFileSync(file, 'new file 1\n');
    await seenAll(seen, ['old file, last line', 'new file 1']);
    expect(seen.indexOf('old file, last line')).toBeLessThan(seen.indexOf('new file 1'));
    // Already switched: what the old file still gets is read for a while.
    appendFileSync(old, 'old file, flushed late\n');
    closeSync(old);
    appendFileSync(file, 'new file 2\n');
    await seenAll(seen, ['old file, flushed late', 'new file 2']);
    expect(seen.filter((line) => line === 'before')).toHaveLength(1);
    expect(seen.indexOf('new file 1')).toBeLessThan(seen.indexOf('new file 2'));
    // And again: every generation is followed.
    renameSync(`${file}.1`, `${file}.2`);
    renameSync(file, `${file}.1`);
    writeFileSync(file, 'third file\n');
    await seenAll(seen, ['third file']);
    expect(seen).toHaveLength(6);
  });

  it('waits for a file that does not exist yet (the folder is watched, not the file)', async () => {
    const dir = logFolder();
    const { seen } = follow(dir);
    writeFileSync(path.join(dir, 'runs.log'), 'first\n');
    await seenAll(seen, ['first']);
  });

  it('a file truncated in place (copytruncate) is read again from its start', async () => {
    const dir = logFolder();
    const file = path.join(dir, 'runs.log');
    writeFileSync(file, 'a long first line that makes the file big\n');
    const { seen } = follow(dir);
    await seenAll(seen, ['a long first line that makes the file big']);
    truncateSync(file, 0);
    appendFileSync(file, 'after\n');
    await seenAll(seen, ['after']);
  });

  it('hands over no line once stopped, even from inside a line handler', async () => {
    const dir = logFolder();
    const file = path.join(dir, 'runs.log');
    writeFileSync(file, '');
    const seen: string[] = [];
    const follower = new LogFollower(file, (line) => {
      seen.push(line.toString());
      follower.stop();
    });
    follower.start();
    appendFileSync(file, 'one\ntwo\nthree\n');
    await seenAll(seen, ['one']);
    appendFileSync(file, 'four\n');
    follower.check();
    expect(seen).toEqual(['one']);
  });
});
