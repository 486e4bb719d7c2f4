/** `@reboot` (SPEC §1.1): once when the daemon starts for the first time since the machine booted. */
import { readFileSync } from 'node:fs';
import { readOwnFile, writeFileAtomic } from './file-safety.js';

export function currentBootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return `boot-${Math.round(Date.now() / 1000 - Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]))}`;
  }
}

/** True the first time it is asked after each boot; remembers the boot in `markerFile`. */
export function firstStartSinceBoot(markerFile: string): boolean {
  const bootId = currentBootId();
  // No marker: never started on this machine since it was installed.
  if (readOwnFile(markerFile)?.trim() === bootId) return false;
  writeFileAtomic(markerFile, `${bootId}\n`);
  return true;
}
