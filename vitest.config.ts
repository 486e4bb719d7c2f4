import { defineConfig } from 'vitest/config';

/**
 * Suites that bound wall time (a tick's lateness under a 1 GB job, the monitor's event-loop gap, 100 ms
 * per fuzzed parse, a next-fire search that must give up within a second, a stop that must not hang)
 * or spend most of their 30 s test timeout computing (the cross-checks against cron-parser and
 * croner): beside the other parallel suites on 2 cores their bounds measure the neighbours, so they
 * run in the sequential project, one at a time.
 */
const TIMED = [
  'test/supervisor/real-load.test.ts',
  'test/daemon/monitor.test.ts',
  'test/fuzz/parser-fuzz.test.ts',
  'test/schedule/next-fire.test.ts',
  'test/schedule/oracle.test.ts',
  'test/schedule/oracle-extensions.test.ts',
  'test/e2e/escape.test.ts',
  // Fleet runs: TTL deadlines and exactly-once seconds across three daemons and a real etcd.
  'test/fleet/etcd/registry.test.ts',
  'test/fleet/etcd/etcd-trouble.test.ts',
  'test/fleet/singleton/singleton-etcd.test.ts',
  'test/fleet/singleton/leadership-etcd.test.ts',
  'test/fleet/singleton/daemons.test.ts',
  'test/fleet/singleton/fleet-faults.test.ts',
];

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 30_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'core',
          include: ['test/**/*.test.ts'],
          exclude: ['test/reliability/**', ...TIMED],
          // Integration tests spawn real daemons and processes: keep them from starving each other on 2 cores.
          maxWorkers: 2,
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: 'reliability',
          include: ['test/reliability/**/*.test.ts', ...TIMED],
          // Soak, load and clock suites each load the machine on purpose: one at a time, after the rest.
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
