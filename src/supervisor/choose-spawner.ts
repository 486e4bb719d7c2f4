/**
 * Which Spawner the daemon runs (issue 16): the posix_spawn addon when it is built and works here,
 * else child_process. `GOTORCH_SPAWNER=child_process` forces the fallback; `=native` requires the addon.
 * The addon and its spawner load only when chosen (STYLE: optional engines load lazily).
 */
import { jobSpawner, type Spawner } from './spawner.js';

export type SpawnerName = 'native' | 'child_process';

export interface ChosenSpawner {
  readonly spawner: Spawner;
  readonly name: SpawnerName;
  /** Why the native spawner is not the one running, when it was not forced off. */
  readonly fallbackReason?: string;
}

export async function chooseSpawner(env: NodeJS.ProcessEnv = process.env): Promise<ChosenSpawner | { error: string }> {
  const wanted = env.GOTORCH_SPAWNER ?? '';
  if (wanted === 'child_process') return { spawner: jobSpawner, name: 'child_process' };
  if (wanted !== '' && wanted !== 'native') return { error: `GOTORCH_SPAWNER=${wanted} is not a spawner: write GOTORCH_SPAWNER=native or GOTORCH_SPAWNER=child_process, or leave it unset (native when built, else child_process)` };
  const loaded = (await import('./native-addon.js')).loadNativeAddon(env);
  if ('reason' in loaded) {
    if (wanted === 'native') return { error: `GOTORCH_SPAWNER=native, but ${loaded.reason}; unset GOTORCH_SPAWNER to run on child_process` };
    return { spawner: jobSpawner, name: 'child_process', fallbackReason: loaded.reason };
  }
  const { nativeSpawner } = await import('./native-spawner.js');
  return { spawner: nativeSpawner(loaded.addon), name: 'native' };
}
