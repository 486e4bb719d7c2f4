/**
 * Loads the optional posix_spawn addon (native/spawn.c, built by `npm ci`). Never throws: a missing
 * build, a failed load or a kernel without pidfd_open is a reason, and the daemon runs child_process.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

export type NativeSpawnResult = { pid: number; pidfd: number; stdoutFd: number; stderrFd: number } | { errno: number };

export interface NativeAddon {
  /** posix_spawn `file argv` (envp complete, cwd or null): own process group, stdin /dev/null, two pipes. */
  spawn(file: string, argv: readonly string[], envp: readonly string[], cwd: string | null): NativeSpawnResult;
  /** Calls back once the child exited (reaped with waitid on the pidfd, which is then closed); errno when waiting failed. */
  watchExit(pidfd: number, callback: (code: number, signal: number, errno: number) => void): void;
  /** Null when pidfd_open works on this kernel, else why not. */
  probe(): string | null;
}

/** Where node-gyp puts the build, from src/supervisor (vitest) or dist/src/supervisor (the built daemon). */
const BUILT = ['../../build/Release/gotorch_spawn.node', '../../../build/Release/gotorch_spawn.node'].map((relative) => fileURLToPath(new URL(relative, import.meta.url)));

/** `GOTORCH_NATIVE_ADDON` overrides the path (tests point it at a missing file to see the fallback). */
export function loadNativeAddon(env: NodeJS.ProcessEnv = process.env): { addon: NativeAddon } | { reason: string } {
  const path = env.GOTORCH_NATIVE_ADDON ?? BUILT.find((candidate) => existsSync(candidate));
  if (path === undefined || !existsSync(path)) return { reason: `the native spawner is not built (${path ?? BUILT[0]} is missing; \`npm rebuild gotorch\` or \`npx node-gyp rebuild\` builds it)` };
  let addon: NativeAddon;
  try {
    addon = createRequire(import.meta.url)(path) as NativeAddon;
  } catch (error) {
    return { reason: `the native spawner did not load: ${(error as Error).message}` };
  }
  const unsupported = addon.probe();
  return unsupported === null ? { addon } : { reason: `pidfd_open is not available (Linux 5.3 or later is needed): ${unsupported}` };
}
