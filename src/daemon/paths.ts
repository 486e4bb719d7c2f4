/**
 * Where the daemon keeps its files (SPEC §6). One runtime folder holds the pidfile, the control socket,
 * the state file and the logs: `$GOTORCH_HOME`, else /var/lib/gotorch as root, else
 * `${XDG_STATE_HOME:-~/.local/state}/gotorch`.
 */
import os from 'node:os';
import path from 'node:path';

export interface RuntimePaths {
  readonly home: string;
  readonly pidfile: string;
  readonly logDir: string;
  /** The control socket and the state file live beside the pidfile: one daemon, one folder. */
  readonly socket: string;
  readonly state: string;
  readonly bootId: string;
  /** Issue 17: the job keeper's socket, beside the pidfile. */
  readonly keeperSocket: string;
}

export interface PathOptions {
  readonly pidfile?: string;
  readonly logDir?: string;
}

export function runtimeHome(env: NodeJS.ProcessEnv = process.env): string {
  if (env.GOTORCH_HOME) return path.resolve(env.GOTORCH_HOME);
  if (process.getuid?.() === 0) return '/var/lib/gotorch';
  return path.join(env.XDG_STATE_HOME || path.join(os.homedir(), '.local', 'state'), 'gotorch');
}

export function runtimePaths(options: PathOptions, env: NodeJS.ProcessEnv = process.env): RuntimePaths {
  const home = runtimeHome(env);
  const pidfile = path.resolve(options.pidfile ?? path.join(home, 'gotorch.pid'));
  return {
    home,
    pidfile,
    logDir: path.resolve(options.logDir ?? path.join(home, 'log')),
    socket: path.join(path.dirname(pidfile), 'gotorch.sock'),
    state: path.join(path.dirname(pidfile), 'gotorch.state.json'),
    bootId: path.join(path.dirname(pidfile), 'gotorch.boot-id'),
    keeperSocket: path.join(path.dirname(pidfile), 'keeper.sock'),
  };
}
