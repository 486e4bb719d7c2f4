/** `@reboot` (SPEC §1.1): once when the daemon starts for the first time since the machine booted. */
import { readFileSync, writeFileSync } from 'node:fs';

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
  let seen = '';
  try {
    seen = readFileSync(markerFile, 'utf8').trim();
  } catch {
    // no marker: never started on this machine
  }
  if (seen === bootId) return false;
  writeFileSync(markerFile, `${bootId}\n`, { mode: 0o600 });
  return true;
}
