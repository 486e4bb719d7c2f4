/**
 * The process table, read from /proc: the one module that does (STYLE: a seam per edge). The spawner
 * signals what escaped a job's group through it, adopted jobs are polled through it, and crash
 * re-adoption asks it which saved jobs are still the same processes; unit tests inject a fake.
 */
import { readdirSync, readFileSync } from 'node:fs';

export interface ProcessStat {
  readonly parent: number;
  readonly group: number;
  /** Clock ticks since boot (field 22 of /proc/PID/stat): with the pid, a process's identity. */
  readonly startTime: string;
}

export interface ProcessTable {
  /** Process group and start time of a live process (not a zombie); undefined when gone. */
  stat(pid: number): ProcessStat | undefined;
  /** One variable of the process's environment as it was started; undefined when unset or unreadable. */
  environ(pid: number, name: string): string | undefined;
  /** Every process carrying a GOTORCH_RUN_ID, by run id (command hooks, which carry GOTORCH_HOOK too, left out). */
  byRun(): ReadonlyMap<string, readonly number[]>;
  /** A start time in clock ticks since boot as ms since the epoch. */
  startedAtMs(startTime: string): number;
}

/** One variable of a NUL-separated environment, as /proc/PID/environ holds it. */
export function environValue(environ: string, name: string): string | undefined {
  const key = `${name}=`;
  // The key at the start, or right after a NUL: never inside another variable's name or value.
  const at = environ.startsWith(key) ? 0 : environ.indexOf(`\0${key}`) + 1;
  if (at === 0 && !environ.startsWith(key)) return undefined;
  const start = at + key.length;
  const end = environ.indexOf('\0', start);
  return environ.slice(start, end < 0 ? undefined : end);
}

function readEnviron(pid: number | string): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/environ`, 'latin1');
  } catch {
    return undefined; // gone, or not ours to read
  }
}

/** One /proc scan serves every run asking within this window (stopping 500 jobs is one scan, not 500). */
const SCAN_REUSE_MS = 20;
/** USER_HZ: /proc counts start times in these per second (100 on Linux). */
const TICKS_PER_SECOND = 100;

let scan: { at: number; byRun: Map<string, number[]> } = { at: -Infinity, byRun: new Map() };

export const procTable: ProcessTable = {
  stat(pid) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return fields[0] === 'Z' ? undefined : { parent: Number(fields[1]), group: Number(fields[2]), startTime: fields[19] };
    } catch {
      return undefined;
    }
  },

  environ(pid, name) {
    const environ = readEnviron(pid);
    return environ === undefined ? undefined : environValue(environ, name);
  },

  byRun() {
    const now = performance.now();
    if (now - scan.at > SCAN_REUSE_MS) {
      const byRun = new Map<string, number[]>();
      for (const entry of readdirSync('/proc')) {
        if (!/^\d+$/.test(entry)) continue;
        const environ = readEnviron(entry) ?? '';
        const id = environValue(environ, 'GOTORCH_RUN_ID');
        // A command hook (SPEC §8) carries the run id it reports on, but is not that run's job.
        if (id !== undefined && environValue(environ, 'GOTORCH_HOOK') === undefined) byRun.set(id, [...(byRun.get(id) ?? []), Number(entry)]);
      }
      scan = { at: now, byRun };
    }
    return scan.byRun;
  },

  startedAtMs(startTime) {
    try {
      const uptimeSeconds = Number.parseFloat(readFileSync('/proc/uptime', 'utf8'));
      return Math.round(Date.now() - uptimeSeconds * 1000 + (Number(startTime) * 1000) / TICKS_PER_SECOND);
    } catch {
      return Date.now();
    }
  },
};
