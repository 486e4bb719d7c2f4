import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { expandGlob } from '../../src/tasks/glob.js';

let dir = '';

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'gotorch-glob-'));
  for (const file of ['conf.d/web/tasks.conf', 'conf.d/db/tasks.conf', 'conf.d/db/extra/x.conf', 'conf.d/empty/.keep', 'conf.d/a.conf']) {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    writeFileSync(path.join(dir, file), '');
  }
  writeFileSync(path.join(dir, 'conf.d/README'), 'not a folder');
});

// SPEC §1.6 includes: a glob yields the paths that exist, sorted; a path that cannot exist is no match.
const rows: { name: string; pattern: string; expect: string[] }[] = [
  { name: 'a literal segment after a magic one skips plain files and folders without it', pattern: 'conf.d/*/tasks.conf', expect: ['conf.d/db/tasks.conf', 'conf.d/web/tasks.conf'] },
  { name: 'two literal segments after a magic one', pattern: 'conf.d/*/extra/x.conf', expect: ['conf.d/db/extra/x.conf'] },
  { name: 'a magic segment under a plain file', pattern: 'conf.d/README/*.conf', expect: [] },
  { name: 'a literal segment under a plain file', pattern: 'conf.d/READM?/tasks.conf', expect: [] },
  { name: 'a magic last segment', pattern: 'conf.d/*.conf', expect: ['conf.d/a.conf'] },
  { name: 'a missing folder before the magic', pattern: 'none/*.conf', expect: [] },
  { name: 'hidden entries need a dot in the pattern', pattern: 'conf.d/empty/*', expect: [] },
];

describe('expandGlob', () => {
  it.each(rows)('$name', async ({ pattern, expect: expected }) => {
    const found = await expandGlob(path.join(dir, pattern));
    expect(found.map((file) => path.relative(dir, file))).toEqual(expected);
  });

  it('returns a literal path as it is, existing or not (the loader reports a missing one)', async () => {
    expect(await expandGlob(path.join(dir, 'missing.conf'))).toEqual([path.join(dir, 'missing.conf')]);
  });
});
