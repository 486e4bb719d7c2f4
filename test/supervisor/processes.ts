import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock } from '../../src/clock.js';
import { signalProcessGroup, type Spawner } from '../../src/supervisor/spawner.js';
import { wiredSupervisor, type LogRecord } from './fakes.js';
import { waitFor } from '../helpers/processes.js';

export interface ProcessInfo {
  readonly pid: number;
  readonly state: string;
  readonly pgrp: number;
}

/** Every process in /proc, read from /proc/<pid>/stat (the command name may contain spaces). */
export function processes(): ProcessInfo[] {
  const found: ProcessInfo[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      found.push({ pid: Number(name), state, pgrp: Number(pgrp) });
    } catch {
      // exited while we looked
    }
  }
  return found;
}

/** Live (not zombie) members of process group `pgid`. */
export function liveGroupMembers(pgid: number): ProcessInfo[] {
  return processes().filter((proc) => proc.pgrp === pgid && proc.state !== 'Z');
}

/** Live processes whose environment holds `NAME=value`. */
export function processesWithEnv(entry: string): ProcessInfo[] {
  return processes().filter((proc) => {
    if (proc.state === 'Z') return false;
    try {
      return readFileSync(`/proc/${proc.pid}/environ`, 'utf8').split('\0').includes(entry);
    } catch {
      return false;
    }
  });
}

export { waitFor };

/** A supervisor on real processes (started by `real`) and the real clock; `cleanup` kills every group it started. */
export function realSupervisor(real: Spawner, baseEnv: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin' }) {
  const pids: number[] = [];
  const spawner: Spawner = {
    spawn(request) {
      const child = real.spawn(request);
      if (child.pid !== undefined) pids.push(child.pid);
      return child;
    },
    adopt: (job) => real.adopt(job),
  };
  const { supervisor, log, runLog, events, daemonLog } = wiredSupervisor({ clock: systemClock, spawner, baseEnv });
  const dir = mkdtempSync(join(tmpdir(), 'gotorch-supervisor-'));
  const finished = (): LogRecord[] => runLog.filter((record) => record.msg === 'run finished');
  const cleanup = async () => {
    for (const pid of pids) signalProcessGroup(pid, 'SIGKILL');
    await waitFor(() => pids.every((pid) => liveGroupMembers(pid).length === 0), 5000, 'test processes to exit');
    rmSync(dir, { recursive: true, force: true });
  };
  return { supervisor, pids, log, runLog, events, daemonLog, finished, dir, cleanup };
}
