/**
 * V8 settings for the long-running daemon. A scheduler's heap is small and steady, so it needs neither
 * a young generation grown to 16 MiB semi-spaces by one parse and then kept, nor four V8 worker threads
 * each with its own malloc arena. `gotorch start` passes these to the daemon it forks, and the `gotorch`
 * executable's first line passes them to a foreground daemon (`#!/usr/bin/env -S node ...`).
 * Measured (README, benchmarks): RSS with 10,000 tasks 100 MiB without them, 76 MiB with them.
 */
export const DAEMON_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=1', '--v8-pool-size=1'];
