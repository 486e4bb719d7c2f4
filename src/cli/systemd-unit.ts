/**
 * `gotorch systemd-unit` (issue 15, SPEC §11): a unit file that runs this installation's daemon in the
 * foreground under systemd, with the options `start` would take. README: "Running under systemd"
 * says what `systemctl stop`, `restart`, `reload` and a crash do with it.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DAEMON_NODE_FLAGS } from '../daemon/node-flags.js';
import type { CommonOptions } from './main.js';
import { daemonStartArgs, fleetOptions, type StartOptions } from './start.js';

/** What the unit runs: absolute paths and the arguments after the CLI. */
export interface UnitCommand {
  readonly node: string;
  readonly cli: string;
  /** Arguments of `start --foreground`, after it. */
  readonly startArgs: readonly string[];
  /** Arguments of `reload`, after it: the same task file and pidfile. */
  readonly reloadArgs: readonly string[];
}

/**
 * One word of ExecStart= as systemd splits it (systemd.service(5), "Command lines"): `%` starts a
 * specifier and `$` a variable, so both are doubled (`$` not in the executable, which systemd does
 * not expand); a word with blanks, quotes, backslashes or control characters, an empty one and a
 * lone `;` are double-quoted with C escapes.
 */
export function systemdWord(word: string, executable = false): string {
  const escaped = executable ? word.replaceAll('%', '%%') : word.replaceAll('%', '%%').replaceAll('$', '$$$$');
  if (word !== '' && word !== ';' && !/[\s"'\\\x00-\x1f\x7f]/.test(word)) return escaped;
  const quoted = escaped.replace(/[\\"\x00-\x1f\x7f]/g, (character) => C_ESCAPES[character] ?? `\\x${character.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return `"${quoted}"`;
}

const C_ESCAPES: Readonly<Record<string, string>> = { '\\': '\\\\', '"': '\\"', '\n': '\\n', '\t': '\\t', '\r': '\\r' };

function commandLine(executable: string, args: readonly string[]): string {
  return [systemdWord(executable, true), ...args.map((arg) => systemdWord(arg))].join(' ');
}

export function systemdUnit(command: UnitCommand): string {
  const { node, cli } = command;
  return [
    '# gotorch: written by `gotorch systemd-unit`. Install: save as /etc/systemd/system/gotorch.service,',
    '# then `systemctl daemon-reload` and `systemctl enable --now gotorch`; logs: `journalctl -u gotorch`.',
    '[Unit]',
    'Description=gotorch cron+ supervisor',
    // Host identity and the fleet's etcd want the network up; gotorch re-reads its addresses every 30 s anyway.
    'Wants=network-online.target',
    'After=network-online.target',
    '',
    '[Service]',
    // No sd_notify: exec is up once node runs; a task file it rejects makes it exit 1, and Restart= retries.
    'Type=exec',
    `ExecStart=${commandLine(node, [...DAEMON_NODE_FLAGS, cli, 'start', '--foreground', ...command.startArgs])}`,
    `ExecReload=${commandLine(node, [cli, 'reload', ...command.reloadArgs])}`,
    '# Signals go to the daemon alone. `systemctl stop`: SIGTERM, its stop terminates every job (TERM,',
    '# KILL after each task\'s grace). `systemctl restart`: SIGUSR1, it exits leaving the jobs running and',
    '# the next daemon re-adopts them, as it does after a crash.',
    'KillMode=process',
    'KillSignal=SIGTERM',
    'RestartKillSignal=SIGUSR1',
    'TimeoutStopSec=90s',
    'Restart=on-failure',
    'RestartSec=5s',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}

/** The `gotorch` of this installation: this module's folder holds main.js. */
export function installedCommand(): { node: string; cli: string } {
  return { node: process.execPath, cli: path.join(path.dirname(fileURLToPath(import.meta.url)), 'main.js') };
}

/**
 * Paths are made absolute (systemd starts the daemon in `/`); a pidfile or log folder not given stays
 * out, so the daemon, `reload` and an operator's `gotorch status` as root agree on root's defaults.
 */
export function unitCommand(common: CommonOptions, options: StartOptions, installed = installedCommand()): UnitCommand | { readonly usage: string } {
  const fleet = fleetOptions(options);
  if (fleet !== undefined && 'usage' in fleet) return fleet;
  const files = ['-c', path.resolve(common.tasks), ...(common.pidfile ? ['--pidfile', path.resolve(common.pidfile)] : [])];
  const startArgs = [...files, ...(common.logDir ? ['--log-dir', path.resolve(common.logDir)] : []), ...(common.hostId ? ['--host-id', common.hostId] : []), ...daemonStartArgs(options.metrics, fleet)];
  return { ...installed, startArgs, reloadArgs: files };
}

export function systemdUnitCommand(common: CommonOptions, options: StartOptions): number {
  const command = unitCommand(common, options);
  if ('usage' in command) {
    process.stderr.write(`gotorch: ${command.usage}\n`);
    return 2;
  }
  const tasks = path.resolve(common.tasks);
  // Written before the file is deployed is fine; said, since the unit would fail to start until it is.
  if (!existsSync(tasks)) process.stderr.write(`gotorch: warning: ${tasks} does not exist (yet): the daemon will not start until it does\n`);
  process.stdout.write(systemdUnit(command));
  return 0;
}
