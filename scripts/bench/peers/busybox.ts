/** busybox's crond as a peer: found on PATH, or installed from Debian's busybox-static when run as root. */
import { spawnSync } from 'node:child_process';

export type Found = { readonly ok: true; readonly busybox: string; readonly version: string } | { readonly ok: false; readonly reason: string };

function locate(): Found | undefined {
  const which = spawnSync('sh', ['-c', 'command -v busybox'], { encoding: 'utf8' });
  const busybox = which.stdout.trim();
  if (which.status !== 0 || busybox === '') return undefined;
  const help = spawnSync(busybox, ['crond', '--help'], { encoding: 'utf8' });
  if (!`${help.stdout}${help.stderr}`.includes('Usage: crond')) return { ok: false, reason: `${busybox} has no crond applet` };
  return { ok: true, busybox, version: /BusyBox v\S+/.exec(`${help.stdout}${help.stderr}`)?.[0] ?? 'BusyBox' };
}

export function busyboxCrond(): Found {
  const found = locate();
  if (found !== undefined) return found;
  if (process.getuid?.() !== 0) return { ok: false, reason: 'busybox is not installed and the bench is not root: apt-get install busybox-static' };
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  let install = spawnSync('apt-get', ['install', '-y', '-qq', 'busybox-static'], { encoding: 'utf8', env });
  if (install.status !== 0) {
    spawnSync('apt-get', ['update', '-qq'], { encoding: 'utf8', env });
    install = spawnSync('apt-get', ['install', '-y', '-qq', 'busybox-static'], { encoding: 'utf8', env });
  }
  if (install.status !== 0) return { ok: false, reason: `apt-get install busybox-static failed: ${(install.stderr || install.error?.message || '').trim().split('\n').pop()}` };
  return locate() ?? { ok: false, reason: 'busybox-static installed, but busybox is not on PATH' };
}
