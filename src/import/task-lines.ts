/**
 * Crontabs of one or several hosts → one gotorch task file (SPEC §11). Pure. A task line equal on several
 * hosts (schedule, user, command and the environment in force) becomes one task listing those hosts.
 * gotorch's environment lines hold for every line below them and cannot be unset, so tasks are written
 * in groups of one environment each, ordered so that each group only adds or changes variables.
 */
import { parseTaskFile } from '../tasks/task-file.js';
import { lateOptionsWarning } from '../tasks/late-options.js';
import { deriveIdentity } from '../tasks/task-line.js';
import type { ImportProblem, ParsedCrontab, CrontabTask } from './crontab.js';

export interface ImportSource {
  readonly file: string;
  /** The hosts column item of its tasks: `*`, `--host`'s value, or the NAME of NAME=FILE. */
  readonly host: string;
  readonly parsed: ParsedCrontab;
}

export interface ImportOptions {
  /** The max column of every task. */
  readonly max: number;
}

export interface ImportResult {
  readonly text: string;
  readonly problems: readonly ImportProblem[];
}

type Env = readonly (readonly [string, string])[];

interface MergedTask {
  readonly key: string;
  readonly task: CrontabTask;
  readonly hosts: string[];
  readonly sources: { readonly file: string; readonly line: number }[];
  /** The comments above it in every crontab it comes from, each once. */
  readonly comments: string[];
}

interface EnvGroup {
  readonly env: Env;
  readonly names: ReadonlySet<string>;
  readonly tasks: MergedTask[];
}

const envKey = (env: Env): string => JSON.stringify([...env].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

/** Tasks in first appearance across the sources, each equal line once with every host it is on. */
function mergeTasks(sources: readonly ImportSource[]): MergedTask[] {
  const merged: MergedTask[] = [];
  const byKey = new Map<string, MergedTask[]>();
  for (const source of sources) {
    for (const task of source.parsed.tasks) {
      const key = JSON.stringify([task.schedule, task.user, task.zone, task.command, envKey(task.env)]);
      const same = byKey.get(key) ?? [];
      // The same line twice in one host's crontab runs twice there: two tasks.
      const other = same.find((candidate) => !candidate.hosts.includes(source.host));
      const location = { file: source.file, line: task.line };
      if (other) {
        other.hosts.push(source.host);
        other.sources.push(location);
        other.comments.push(...task.comments.filter((comment) => !other.comments.includes(comment)));
        continue;
      }
      const fresh = { key, task, hosts: [source.host], sources: [location], comments: [...task.comments] };
      merged.push(fresh);
      byKey.set(key, [...same, fresh]);
    }
  }
  return merged;
}

/**
 * Groups in an order where each one's variables include the previous one's (a variable cannot be
 * unset): the earliest group that no other remaining one must precede. Groups left over have
 * variable sets that exclude each other; each is a problem at its first task.
 */
function orderGroups(tasks: readonly MergedTask[]): { ordered: EnvGroup[]; conflicts: ImportProblem[] } {
  const groups = new Map<string, EnvGroup>();
  for (const merged of tasks) {
    const key = envKey(merged.task.env);
    const group = groups.get(key) ?? { env: merged.task.env, names: new Set(merged.task.env.map(([name]) => name)), tasks: [] };
    group.tasks.push(merged);
    groups.set(key, group);
  }
  const remaining = [...groups.values()];
  const ordered: EnvGroup[] = [];
  let current = new Set<string>();
  const includes = (outer: ReadonlySet<string>, inner: ReadonlySet<string>) => [...inner].every((name) => outer.has(name));
  for (;;) {
    const candidates = remaining.filter((group) => includes(group.names, current));
    const next = candidates.find((group) => !candidates.some((other) => other !== group && includes(group.names, other.names) && group.names.size > other.names.size));
    if (next === undefined) break;
    ordered.push(next);
    remaining.splice(remaining.indexOf(next), 1);
    current = new Set(next.names);
  }
  const conflicts = remaining.map((group): ImportProblem => {
    const missing = [...current].filter((name) => !group.names.has(name));
    const [first] = group.tasks[0].sources;
    return {
      ...first,
      column: 1,
      message:
        `its environment has no ${missing.join(', ')}, which the environment of other imported lines sets, and a gotorch environment line cannot be unset: ` +
        'import these crontabs into separate files and include each from one task file (README: Importing crontabs)',
    };
  });
  return { ordered, conflicts };
}

/** gotorch strips blanks and one pair of matching quotes around a value: quote a value those would change. */
function envLine(name: string, value: string): string {
  const plain = value === value.trim() && !/^(["']).*\1$/s.test(value) && !value.endsWith('\\');
  return plain ? `${name}=${value}` : `${name}="${value}"`;
}

/** Words a gotorch line would read as options, or `--`, at the command's start or after it: write `--` first. */
const LOOKS_LIKE_OPTION = /^(?:[a-z_][a-z0-9_]*=|--(?:[ \t]|$))/;
const needsDashes = (command: string): boolean => LOOKS_LIKE_OPTION.test(command) || lateOptionsWarning(command, 0) !== undefined;

function taskLine(merged: MergedTask, name: string | undefined, options: ImportOptions): string {
  const { task } = merged;
  const words = [...task.schedule, merged.hosts.join(','), String(options.max), 'cron'];
  if (task.user !== undefined) words.push(`user=${task.user}`);
  if (task.zone !== undefined) words.push(`tz=${task.zone}`);
  if (name !== undefined) words.push(`name=${name}`);
  if (needsDashes(task.command)) words.push('--');
  return `${words.join(' ')} ${task.command}`;
}

function header(sources: readonly ImportSource[]): string[] {
  const lines = ['# Task lines made by gotorch import (SPEC §11) from these crontabs, by host:'];
  for (const source of sources) lines.push(`#   ${source.host}: ${source.file}`);
  for (const source of sources) {
    for (const dropped of source.parsed.dropped) lines.push(`# dropped ${source.file}:${dropped.line}: ${dropped.source.trim()} (${dropped.why})`);
  }
  lines.push('# sec min hour dom mon dow  hosts  max  type  options  command');
  return lines;
}

export function importCrontabs(sources: readonly ImportSource[], options: ImportOptions): ImportResult {
  const problems: ImportProblem[] = sources.flatMap((source) => source.parsed.problems);
  const { ordered, conflicts } = orderGroups(mergeTasks(sources));
  problems.push(...conflicts);
  const lines = header(sources);
  /** The source of each task line of the output, by its line number there. */
  const origins = new Map<number, { file: string; line: number }>();
  const names = new Set<string>();
  let env = new Map<string, string>();
  for (const group of ordered) {
    for (const [name, value] of group.env) if (env.get(name) !== value) lines.push(envLine(name, value));
    env = new Map(group.env);
    for (const merged of group.tasks) {
      const derived = deriveIdentity(merged.task.command);
      let name: string | undefined;
      for (let n = 2; names.has(name ?? derived); n++) name = `${derived}-${n}`;
      names.add(name ?? derived);
      lines.push('', ...merged.comments);
      const from = merged.sources.map((source) => `${source.file}:${source.line}`).join(', ');
      lines.push(`# from ${from}: ${merged.task.source.trim()}`);
      lines.push(taskLine(merged, name, options));
      origins.set(lines.length, merged.sources[0]);
    }
  }
  for (const source of sources) {
    if (source.parsed.trailingComments.length > 0) lines.push('', `# from the end of ${source.file}:`, ...source.parsed.trailingComments);
  }
  const text = `${lines.join('\n')}\n`;
  // gotorch's own parser has the last word: a line it would reject is a problem of its crontab line.
  const parsed = parseTaskFile(text, 'import', { env: {}, shell: '/bin/sh', zone: 'UTC', asRoot: true, baseDir: '/' });
  for (const error of [...parsed.errors, ...parsed.warnings]) {
    const origin = origins.get(error.line) ?? { file: sources[0]?.file ?? 'import', line: 0 };
    problems.push({ ...origin, column: 1, message: `gotorch would read its task line as: ${error.message}` });
  }
  return { text, problems };
}
