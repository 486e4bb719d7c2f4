/**
 * The real spawners the supervisor's real-process suites run on (issue 16): child_process and the
 * posix_spawn addon. The addon must be built (`npx node-gyp rebuild`) unless GOTORCH_SPAWNER=child_process
 * says this run is the fallback's only.
 */
import { loadNativeAddon } from '../../src/supervisor/native-addon.js';
import { nativeSpawner } from '../../src/supervisor/native-spawner.js';
import { jobSpawner, type Spawner } from '../../src/supervisor/spawner.js';
import type { SpawnerName } from '../../src/supervisor/choose-spawner.js';

function builtNative(): Spawner {
  const loaded = loadNativeAddon({});
  if ('reason' in loaded) throw new Error(`${loaded.reason} (set GOTORCH_SPAWNER=child_process to test the fallback only)`);
  return nativeSpawner(loaded.addon);
}

export const realSpawners: readonly (readonly [SpawnerName, Spawner])[] =
  process.env.GOTORCH_SPAWNER === 'child_process' ? [['child_process', jobSpawner]] : [['child_process', jobSpawner], ['native', builtNative()]];
