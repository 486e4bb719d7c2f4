/**
 * V8 settings for the long-running daemon. A scheduler's heap is small and steady, so it needs neither
 * a young generation grown to 16 MiB semi-spaces by one parse and then kept, nor four V8 worker threads
 * each with its own malloc arena. `gotorch start` passes these to the daemon it forks, the `gotorch`
 * executable's first line and `npm start` to a foreground daemon, and the systemd unit names them;
 * a foreground daemon started as `node .../main.js start -f` restarts itself with them (issue 16).
 * Measured (README, benchmarks): RSS with 10,000 tasks 100 MiB without them, 76 MiB with them; and
 * without them one second in 30 had all its jobs about 110 ms late.
 */
import { loadAddonFile } from '../supervisor/native-addon.js';

export const DAEMON_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=1', '--v8-pool-size=1'];

/** The daemon flags this process runs without: a flag given with another value (here or in NODE_OPTIONS) counts as given. */
export function missingDaemonFlags(execArgv: readonly string[] = process.execArgv, nodeOptions = process.env.NODE_OPTIONS ?? ''): string[] {
  const given = [...execArgv, ...nodeOptions.split(/\s+/)];
  return DAEMON_NODE_FLAGS.filter((flag) => {
    const name = flag.slice(0, flag.indexOf('='));
    return !given.some((arg) => arg === name || arg.replaceAll('_', '-').startsWith(`${name}=`));
  });
}

/**
 * Restarts this process in place (execve: the same pid, for a supervisor or a pidfile) with the daemon
 * flags it lacks, before it has opened anything. Returns only when it cannot: why, for a warning.
 */
export function execWithDaemonFlags(): string | undefined {
  const missing = missingDaemonFlags();
  if (missing.length === 0) return undefined;
  const without = `running without the daemon's node flags ${missing.join(' ')}`;
  return execAs([process.execPath, process.argv0], missing, without, 'with them');
}

/**
 * Issue 17: `start --foreground` becomes the job keeper in place (same pid, for systemd or a terminal),
 * which runs this command again as its child, with the daemon flags. Returns only when it cannot.
 */
export function execUnderKeeper(keeper: string, keeperArgs: readonly string[]): string | undefined {
  return execAs([keeper, keeper, ...keeperArgs, '--', process.execPath], missingDaemonFlags(), 'running without the job keeper', 'under it');
}

function execAs([file, ...head]: readonly string[], missing: readonly string[], without: string, what: string): string | undefined {
  const loaded = loadAddonFile();
  if ('reason' in loaded) return `${without} (${loaded.reason}); start it as \`gotorch\` or with \`node ${DAEMON_NODE_FLAGS.join(' ')} ...\``;
  const envp = Object.entries(process.env).flatMap(([name, value]) => (value === undefined ? [] : [`${name}=${value}`]));
  const errno = loaded.addon.exec(file as string, [...head, ...missing, ...process.execArgv, ...process.argv.slice(1)], envp);
  return `${without} (restarting ${what} failed: errno ${errno})`;
}
