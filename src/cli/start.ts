/** `gotorch start` (SPEC §4): validate first, then run the daemon. */
import { Daemon } from '../daemon/daemon.js';
import { runtimePaths } from '../daemon/paths.js';
import type { CommonOptions } from './main.js';

export async function startCommand(common: CommonOptions, options: { foreground?: boolean }): Promise<number> {
  if (!options.foreground) {
    process.stderr.write('gotorch: start needs --foreground in this version (run it under systemd, a container or nohup)\n');
    return 2;
  }
  const started = await Daemon.start({ tasksFile: common.tasks, paths: runtimePaths(common), hostId: common.hostId, foreground: true });
  if (!(started instanceof Daemon)) {
    process.stderr.write(`gotorch: ${started.reason}\n`);
    return started.exitCode;
  }
  return new Promise<number>((resolve) => {
    const stop = (signal: NodeJS.Signals): void => {
      void started.stop(signal).then(() => resolve(0));
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
}
