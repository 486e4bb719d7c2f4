/**
 * CPU time this process spent (user + system, ms) since `from`: what a bound on the code's own cost
 * should measure. Wall time also counts every other process on a loaded 2-core box (issue 11: tests
 * that hold on a loaded machine); CPU time does not.
 */
export function cpuMs(from?: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(from);
  return (used.user + used.system) / 1000;
}

/** Starts a CPU-time measurement: call the result to read the ms spent since. */
export function cpuTimer(): () => number {
  const from = process.cpuUsage();
  return () => cpuMs(from);
}
