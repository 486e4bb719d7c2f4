import { describe, expect, it } from 'vitest';
import { fleetView, formatFleetStatus, formatFleetTasks } from '../../../src/cli/fleet-status-format.js';
import type { HostRecord } from '../../../src/fleet/etcd/host-record.js';

const T0 = 1_800_000_000_000;

function host(name: string, digest: string, fields: Partial<HostRecord> = {}): HostRecord {
  return {
    host: name, addresses: [], pid: 100, version: '0.1.0', startedAt: T0, writtenAt: T0, uptimeMs: 0, taskFile: '/etc/gotorch/tasks.conf',
    digest, tasks: ['tick'], running: [], lastReload: null, lastResults: {}, ...fields,
  };
}

const reloadedAt = (at: number): Partial<HostRecord> => ({ lastReload: { ok: true, trigger: 'file change', at, summary: 'added 0, changed 1, removed 0, unchanged 1' } });

describe('drift (SPEC §10): a host whose digest differs from the one most hosts run', () => {
  it.each([
    { case: 'one host', hosts: [host('a', 'x')], drift: [] },
    { case: 'all alike', hosts: [host('a', 'x'), host('b', 'x'), host('c', 'x')], drift: [] },
    { case: 'a minority', hosts: [host('a', 'x'), host('b', 'y'), host('c', 'x')], drift: ['b'] },
    { case: 'a tie: the host that changed last drifts', hosts: [host('a', 'y', reloadedAt(T0 + 5000)), host('b', 'x')], drift: ['a'] },
    { case: 'a tie, the other way', hosts: [host('a', 'y'), host('b', 'x', reloadedAt(T0 + 5000))], drift: ['b'] },
    { case: 'three files, one host each: all but the oldest', hosts: [host('a', 'x', reloadedAt(T0 + 1)), host('b', 'y'), host('c', 'z', reloadedAt(T0 + 2))], drift: ['a', 'c'] },
  ])('$case', ({ hosts, drift }) => {
    expect(fleetView('prod', hosts).hosts.filter((entry) => entry.drift).map((entry) => entry.host)).toEqual(drift);
  });

  it('the table flags drift and counts it; the matrix shows pids, results and where a task does not apply', () => {
    const view = fleetView('prod', [
      host('web-2', 'bbbbbbbbbbbbbbbb', { ...reloadedAt(T0 + 5000), tasks: ['tick', 'sleeper'], running: [{ task: 'sleeper', pid: 4242, run: 'r', startedAt: T0 }], lastResults: { tick: { result: 'exit 1', at: T0 } } }),
      host('web-1', 'aaaaaaaaaaaaaaaa', { lastResults: { tick: { result: 'ok', at: T0 } } }),
      host('web-3', 'aaaaaaaaaaaaaaaa'),
    ]);
    const table = formatFleetStatus(view, T0 + 3_723_000);
    expect(table.split('\n')[0]).toBe('fleet "prod": 3 live host(s), 1 with another task file than aaaaaaaaaaaa (drift)');
    expect(table).toMatch(/^web-1 +100 +0\.1\.0 +1h 2m +aaaaaaaaaaaa +1 +0 +none since start$/m);
    expect(table).toMatch(/^web-2 +100 +0\.1\.0 +1h 2m +bbbbbbbbbbbb drift +2 +1 +ok \(added 0, changed 1, removed 0, unchanged 1\)$/m);
    const matrix = formatFleetTasks(view);
    expect(matrix).toMatch(/^TASK +web-1 +web-2 +web-3$/m);
    expect(matrix).toMatch(/^sleeper +\. +4242 +\.$/m);
    expect(matrix).toMatch(/^tick +- ok +- exit 1 +-$/m);
    expect(formatFleetStatus(fleetView('prod', []), T0)).toBe('no live host in fleet "prod"\n');
  });
});
