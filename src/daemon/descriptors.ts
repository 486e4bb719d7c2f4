/**
 * The daemon keeps no file descriptor it did not open (issue: `gotorch start 30>&1 | cat` never
 * returned; a `flock` on fd 200 of the calling shell stayed held by the daemon and every job). Node
 * and libuv open everything close-on-exec, so a descriptor above 2 without O_CLOEXEC was inherited.
 * Closing those at start also means jobs get only 0, 1 and 2.
 */
import { closeSync, openSync, readdirSync, readFileSync } from 'node:fs';

const O_CLOEXEC = 0o2000000;
const ACCESS_MODE = 0o3;
const O_RDONLY_NONBLOCK = 0o4000;

/** Octal `flags:` of /proc/self/fdinfo/N; undefined when the descriptor is gone (the listing's own). */
function descriptorFlags(fd: number): number | undefined {
  try {
    const flags = /^flags:\s+([0-7]+)$/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))?.[1];
    return flags === undefined ? undefined : Number.parseInt(flags, 8);
  } catch {
    return undefined;
  }
}

/**
 * Closes every inherited descriptor above 2. Those in `keep` (the readiness pipe of a daemonized
 * child) are reopened through /proc/self/fd as close-on-exec descriptors first, so no job inherits
 * them either; the result maps each kept descriptor to its new number.
 */
export function closeInheritedDescriptors(keep: readonly number[] = [], held: readonly number[] = []): Map<number, number> {
  const moved = new Map<number, number>();
  let entries: string[];
  try {
    entries = readdirSync('/proc/self/fd');
  } catch {
    return moved; // no /proc: nothing to find them by
  }
  for (const entry of entries) {
    const fd = Number(entry);
    if (fd <= 2) continue;
    const flags = descriptorFlags(fd);
    if (flags === undefined || ((flags & O_CLOEXEC) !== 0 && !held.includes(fd))) continue;
    if (keep.includes(fd)) {
      // Same access mode, nothing else: no O_CREAT or O_TRUNC on what may be a pipe or a file.
      moved.set(fd, openSync(`/proc/self/fd/${fd}`, flags & ACCESS_MODE));
    } else if (held.includes(fd)) {
      // Issue 17: a job's pipe the keeper passed on. Non-blocking: opening a pipe whose writers are gone would wait.
      try {
        moved.set(fd, openSync(`/proc/self/fd/${fd}`, O_RDONLY_NONBLOCK));
      } catch {
        // A socket (child_process's stdio) cannot be reopened: used where it is (a job may inherit it).
        moved.set(fd, fd);
        continue;
      }
    }
    closeSync(fd);
  }
  return moved;
}
