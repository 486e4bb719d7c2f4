#!/usr/bin/env node
/** gotorch's command line (SPEC §4): each command a thin wrapper over the daemon or the task file. */
import { Command, CommanderError, Option } from 'commander';
import { checkCommand } from './check.js';
import { startCommand } from './start.js';

export interface CommonOptions {
  readonly tasks: string;
  readonly pidfile?: string;
  readonly logDir?: string;
  readonly hostId?: string;
}

const program = new Command('gotorch')
  .description('cron+ supervisor: second-level schedules, kept-alive daemons, one task file for a fleet')
  .version(process.env.npm_package_version ?? '0.1.0')
  .addOption(new Option('-c, --tasks <file>', 'task file').default('tasks.conf'))
  .addOption(new Option('--pidfile <file>', 'pidfile (default: <runtime folder>/gotorch.pid)'))
  .addOption(new Option('--log-dir <dir>', 'log directory (default: <runtime folder>/log)'))
  .addOption(new Option('--host-id <list>', 'this host identity as a comma list of names and addresses').env('GOTORCH_HOST'))
  .showHelpAfterError()
  .exitOverride();

const common = (): CommonOptions => program.opts<CommonOptions>();

program
  .command('check')
  .description('validate the task file (like nginx -t) and list the tasks that apply to this host with their next fire times')
  .option('--next <n>', 'how many next fire times to show per task', '3')
  .option('--json', 'print JSON')
  .action(async (options: { next: string; json?: boolean }) => {
    process.exitCode = await checkCommand(common(), options);
  });

program
  .command('start')
  .description('validate the task file, then run the daemon')
  .option('-f, --foreground', 'stay in the foreground (for systemd and containers); logs to stdout')
  .action(async (options: { foreground?: boolean }) => {
    process.exitCode = await startCommand(common(), options);
  });

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    // SPEC §4: 2 for a usage error; help and version are successes.
    process.exitCode = error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help' ? 0 : 2;
  } else {
    process.stderr.write(`gotorch: ${(error as Error).message}\n`);
    process.exitCode = 1;
  }
}
