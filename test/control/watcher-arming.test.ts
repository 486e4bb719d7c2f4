import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SETTLE_MS, TaskFileWatcher } from '../../src/daemon/watcher.js';
import { waitFor } from '../helpers/processes.js';

const silent = { warn: () => undefined } as never;

describe('the task file watcher is armed when the daemon reports ready (SPEC §4 start, §5)', () => {
  // Daemon.begin() awaits update() and then reports ready: an update() that resolved before chokidar armed
  // its watches lost 6-10 of these 10 writes, and `gotorch start` returned before edits were seen.
  it('sees a write made as soon as update() resolved', async () => {
    const seen = await Promise.all(
      Array.from({ length: 10 }, async () => {
        const dir = mkdtempSync(path.join(os.tmpdir(), 'gotorch-watcher-'));
        const file = path.join(dir, 'tasks.conf');
        writeFileSync(file, 'a\n');
        let changed = false;
        const watcher = new TaskFileWatcher(() => (changed = true), silent);
        await watcher.update({ files: [file], patterns: [] });
        writeFileSync(file, 'b\n'); // in place: applied once it has been quiet for SETTLE_MS (issue 10, item 6)
        const caught = await waitFor(() => changed, SETTLE_MS + 1000, 'the change').then(
          () => true,
          () => false,
        );
        await watcher.close();
        rmSync(dir, { recursive: true, force: true });
        return caught;
      }),
    );
    expect(seen.filter((caught) => !caught)).toEqual([]);
  });
});
