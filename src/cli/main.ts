#!/usr/bin/env -S node --max-semi-space-size=1 --v8-pool-size=1
/**
 * gotorch's command line (SPEC §4): each command a thin wrapper over the daemon or the task file, loaded
 * only when it runs (`status` need not load the scheduler, the supervisor and their packages).
 */
import { Command, CommanderError, InvalidArgumentError, Option, type HelpContext } from 'commander';
import { DEFAULT_FLEET, parseAnswerTimeout, parseEndpoints, parseFleetTtl, validateFleetName } from '../fleet/etcd/fleet-options.js';
import { parseListenAddress, type ListenAddress } from '../metrics/listen-address.js';
import type { CheckOptions } from './check.js';
import type { FleetCliOptions, FleetTaskOptions } from './fleet.js';
import type { HistoryOptions } from './history.js';
import type { ImportOptions } from './import.js';
import type { LogsOptions } from './logs.js';
import type { StartOptions } from './start.js';

// `gotorch status | head -1`: a reader that went away ends nothing but the output; the command still
// finishes and exits with its own code (SPEC §4), without a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
  });
}

export interface CommonOptions {
  readonly tasks: string;
  /** `-c` was given: `tasks` is the user's choice, not the default `tasks.conf` (which `reload` and `restart` replace by the daemon's file). */
  readonly tasksGiven?: boolean;
  readonly pidfile?: string;
  readonly logDir?: string;
  readonly hostId?: string;
}

/**
 * Commander answers a missing command with its help on stderr and exit 1. Bare `gotorch` asked for
 * nothing else: help on stdout, exit 0. Options without a command (`gotorch --pidfile stop`, where
 * `stop` became the pidfile) are a usage error (SPEC §4: exit 2) that says so.
 */
class GotorchProgram extends Command {
  override help(context?: HelpContext | ((text: string) => string)): never {
    if (typeof context !== 'object' || !context.error || this.args.length > 0) return super.help(context as HelpContext);
    const given = this.options.filter((option) => this.getOptionValueSource(option.attributeName()) === 'cli');
    if (given.length === 0) return super.help();
    const swallowed = given.flatMap((option) => {
      const value: unknown = this.getOptionValue(option.attributeName());
      return this.commands.some((command) => command.name() === value) ? [`${option.long} took "${String(value)}" as its value`] : [];
    });
    return this.error(`error: no command given${swallowed.length > 0 ? ` (${swallowed.join('; ')})` : ''}`, { exitCode: 2, code: 'gotorch.noCommand' });
  }
}

const program = new GotorchProgram('gotorch')
  .description('cron+ supervisor: second-level schedules, kept-alive daemons, one task file for a fleet')
  .version(process.env.npm_package_version ?? '0.1.0')
  .addOption(new Option('-c, --tasks <file>', 'task file').default('tasks.conf'))
  .addOption(new Option('--pidfile <file>', 'pidfile (default: <runtime folder>/gotorch.pid)'))
  .addOption(new Option('--log-dir <dir>', 'log directory (default: <runtime folder>/log)'))
  .addOption(new Option('--host-id <list>', 'this host identity as a comma list of names and addresses').env('GOTORCH_HOST'))
  .showHelpAfterError()
  .exitOverride();

/** SPEC §9: a bad address is a usage error (exit 2) saying what to write, given as an option or in the environment. */
const metricsOption = (): Option =>
  new Option('--metrics <[host:]port>', 'serve Prometheus /metrics and /healthz over HTTP (host 127.0.0.1 unless given; IPv6 as [::1]:9100)')
    .env('GOTORCH_METRICS')
    .argParser((value): ListenAddress => {
      try {
        return parseListenAddress(value);
      } catch (error) {
        throw new InvalidArgumentError((error as Error).message);
      }
    });

/** A value parser whose error is a usage error (exit 2) with the parser's message. */
const usage =
  <T>(parse: (value: string) => T) =>
  (value: string): T => {
    try {
      return parse(value);
    } catch (error) {
      throw new InvalidArgumentError((error as Error).message);
    }
  };

/** SPEC §10: where the fleet's etcd is and how to reach it (user and password only from GOTORCH_ETCD_USER / GOTORCH_ETCD_PASSWORD). */
const etcdOptions = (command: Command): Command =>
  command
    .addOption(new Option('--etcd <urls>', "the fleet's etcd: comma-separated http(s)://host:port (SPEC §10)").env('GOTORCH_ETCD').argParser(usage(parseEndpoints)))
    .addOption(new Option('--etcd-ca <file>', 'CA certificate (PEM) that signed the etcd server certificates'))
    .addOption(new Option('--etcd-cert <file>', 'client certificate (PEM) for etcd'))
    .addOption(new Option('--etcd-key <file>', 'client private key (PEM) for etcd'))
    .addOption(new Option('--fleet <name>', `fleet name: letters, digits, -_. (default: ${DEFAULT_FLEET})`).env('GOTORCH_FLEET').argParser(usage(validateFleetName)));

/** The host lease TTL (SPEC §10: 10 s); shorter ones make the fleet tests quick. */
const fleetTtlOption = (): Option =>
  new Option('--fleet-ttl <duration>', 'host lease TTL with --etcd, whole seconds (default 10s): a dead host leaves the registry within it').env('GOTORCH_FLEET_TTL').argParser(usage(parseFleetTtl));

const common = (): CommonOptions => ({ ...program.opts<CommonOptions>(), tasksGiven: program.getOptionValueSource('tasks') !== 'default' });

program
  .command('check')
  .description('validate the task file (like nginx -t) and list the tasks that apply to this host with their next fire times')
  .option('--next <n>', 'how many next fire times to show per task', '3')
  .option('--json', 'print JSON')
  .option('--hosts <list>', 'fleet view: a task x host matrix, hosts given as "web-1=10.0.1.5,web-2=10.0.1.6"')
  .option('--hosts-file <file>', 'fleet view for the hosts in a file, one "name address ..." per line')
  .action(async (options: CheckOptions) => {
    process.exitCode = await (await import('./check.js')).checkCommand(common(), options);
  });

etcdOptions(program.command('start'))
  .description('validate the task file, then start the daemon in the background (returns once it runs)')
  .option('-f, --foreground', 'stay in the foreground (for systemd and containers); logs to stdout')
  .addOption(metricsOption())
  .addOption(fleetTtlOption())
  .addOption(new Option('--daemon-child', 'internal: the daemonized process').hideHelp())
  .addOption(new Option('--take-over', 'internal: the next daemon of a handover (issue 17)').hideHelp())
  .action(async (options: StartOptions) => {
    process.exitCode = await (await import('./start.js')).startCommand(common(), options);
  });

etcdOptions(program.command('systemd-unit'))
  .description('print a systemd unit that runs this gotorch in the foreground with these options (save it as /etc/systemd/system/gotorch.service)')
  .addOption(metricsOption())
  .addOption(fleetTtlOption())
  .action(async (options: StartOptions) => {
    process.exitCode = (await import('./systemd-unit.js')).systemdUnitCommand(common(), options);
  });

program
  .command('stop')
  .description('SIGTERM: stop scheduling, terminate every job, wait until the daemon is gone')
  .action(async () => {
    process.exitCode = await (await import('./start.js')).signalCommand(common(), 'SIGTERM');
  });

program
  .command('quit')
  .description('SIGQUIT: stop scheduling and daemon tasks, let running cron jobs finish, then exit')
  .action(async () => {
    process.exitCode = await (await import('./start.js')).signalCommand(common(), 'SIGQUIT');
  });

etcdOptions(program.command('restart'))
  .description('validate the task file, stop the daemon, start it again (with its metrics address and fleet options unless given anew)')
  .addOption(metricsOption())
  .addOption(fleetTtlOption())
  .action(async (options: Omit<StartOptions, 'foreground' | 'daemonChild'>) => {
    process.exitCode = await (await import('./start.js')).restartCommand(common(), options);
  });

program
  .command('upgrade')
  .description('hand over to a new daemon running the gotorch now installed, with the same options; jobs keep running (needs the job keeper, the default: not with GOTORCH_KEEPER=off)')
  .action(async () => {
    process.exitCode = await (await import('./start.js')).handoverCommand(common(), 'upgrade');
  });

program
  .command('reload')
  .description('apply the task file now and print what changed (file edits are picked up by themselves too)')
  .action(async () => {
    process.exitCode = await (await import('./control-commands.js')).reloadCommand(common());
  });

program
  .command('status')
  .description('is the daemon running; per task: running pids, last exit, next run (exit 3 when not running)')
  .option('--json', 'print JSON')
  .action(async (options: { json?: boolean }) => {
    process.exitCode = await (await import('./control-commands.js')).statusCommand(common(), options);
  });

program
  .command('kill')
  .description('terminate every running instance of a task (TERM, then KILL after its grace)')
  .argument('<name>', 'task name')
  .action(async (name: string) => {
    process.exitCode = await (await import('./control-commands.js')).taskCommand(common(), 'kill', name);
  });

program
  .command('run')
  .description('start one instance of a task now, respecting its max')
  .argument('<name>', 'task name')
  .action(async (name: string) => {
    process.exitCode = await (await import('./control-commands.js')).taskCommand(common(), 'run', name);
  });

program
  .command('history')
  .description('finished runs and skipped fires, newest first, from the run log (the daemon need not run)')
  .argument('[name]', 'only this task')
  .option('--limit <n>', 'at most this many rows', '20')
  .option('--failed', 'only failed runs')
  .option('--since <when>', 'only what was scheduled since: a duration ago (90s, 2h, 1d) or an ISO time (2026-12-01T09:00)')
  .option('--json', 'one JSON object per line')
  .action(async (name: string | undefined, options: HistoryOptions) => {
    process.exitCode = (await import('./history.js')).historyCommand(common(), name, options);
  });

program
  .command('logs')
  .description("the output lines of a task's latest run (or of --run ID), from the run log (the daemon need not run)")
  .argument('<name>', 'task name')
  .option('--run <id>', 'this run instead of the latest')
  .option('-f, --follow', 'go on printing new lines of the task, across log rotation, until Ctrl-C')
  .option('--json', 'one JSON object per line')
  .action(async (name: string, options: LogsOptions) => {
    process.exitCode = await (await import('./logs.js')).logsCommand(common(), name, options);
  });

program
  .command('import')
  .description('turn crontabs into task-file lines (SPEC §11): FILE... for one host, NAME=FILE... for several hosts at once')
  .argument('<files...>', 'crontab files (- for stdin), or NAME=FILE for each host')
  .option('--host <host>', 'the hosts column of every task (default: * for every host)')
  .option('--system', 'the files are /etc/crontab or cron.d files: a user column after the schedule')
  .option('-o, --output <file>', 'write the task lines to this file instead of stdout')
  .option('--max <n>', 'the max column of every task (0 = unlimited, as cron)', '1')
  .action(async (files: string[], options: ImportOptions) => {
    process.exitCode = (await import('./import.js')).importCommand(files, options);
  });

/**
 * Commander takes a program option wherever it appears, so `fleet status --tasks` would give the
 * global `-c, --tasks <file>` the next word. After the `fleet` command, `--tasks` is the matrix flag.
 */
const FLEET_TASKS_FLAG = '--tasks-matrix';
const WITH_VALUE = new Set(['-c', '--tasks', '--pidfile', '--log-dir', '--host-id']);
function fleetArgv(argv: readonly string[]): string[] {
  let at = 2;
  while (at < argv.length && argv[at].startsWith('-')) at += WITH_VALUE.has(argv[at]) ? 2 : 1;
  if (argv[at] !== 'fleet') return [...argv];
  return argv.map((arg, index) => (index > at && arg === '--tasks' ? FLEET_TASKS_FLAG : arg));
}

const fleet = etcdOptions(program.command('fleet')).description('the fleet through etcd (SPEC §10): status of every live host, kill and run on every host');
const fleetOptions = (): FleetCliOptions => fleet.opts<FleetCliOptions>();

fleet
  .command('status')
  .description('every live host: pid, version, uptime, task-file digest (drift flagged), tasks, running jobs, last reload')
  .option('--tasks', 'a task x host matrix: running pids and last result')
  .addOption(new Option(FLEET_TASKS_FLAG).hideHelp())
  .option('--json', 'print JSON')
  .action(async (options: { tasks?: boolean; tasksMatrix?: boolean; json?: boolean }) => {
    process.exitCode = await (await import('./fleet.js')).fleetStatusCommand(fleetOptions(), { tasks: options.tasks === true || options.tasksMatrix === true, json: options.json });
  });

for (const cmd of ['kill', 'run'] as const) {
  fleet
    .command(cmd)
    .description(cmd === 'kill' ? 'terminate every running instance of a task on every host that runs it (or on --host)' : 'start one instance of a task now on every host that runs it (or on --host), respecting max')
    .argument('<name>', 'task name')
    .option('--host <name>', 'only this host (its name in fleet status)')
    .addOption(new Option('--timeout <duration>', 'how long to wait for the answers').default(10_000, '10s').argParser(usage(parseAnswerTimeout)))
    .action(async (name: string, options: FleetTaskOptions) => {
      process.exitCode = await (await import('./fleet.js')).fleetTaskCommand(fleetOptions(), cmd, name, options);
    });
}

try {
  await program.parseAsync(fleetArgv(process.argv));
} catch (error) {
  if (error instanceof CommanderError) {
    // SPEC §4: 2 for a usage error; help and version (commander's exit code 0) are successes.
    process.exitCode = error.exitCode === 0 ? 0 : 2;
  } else {
    process.stderr.write(`gotorch: ${(error as Error).message}\n`);
    process.exitCode = 1;
  }
}
