/**
 * crontab(5)'s `%`: the first unescaped `%` ends the command, and the rest is the command's standard
 * input, each further `%` a newline; `\%` is a literal `%`. The translation follows Vixie cron's
 * do_command.c (as FreeBSD's copy of it reads; cronie keeps it), byte for byte, the final newline it
 * adds included; gotorch gets the same as a shell pipeline.
 */

export interface PercentSplit {
  /** The command the shell runs. */
  readonly command: string;
  /** Its standard input, when the line had an unescaped `%`. */
  readonly stdin?: string;
}

/** In the command part, `\%` becomes `%` and `\\` becomes `\`; every other backslash stays, and escapes the next character. */
export function splitPercent(line: string): PercentSplit {
  let command = '';
  let escaped = false;
  for (let at = 0; at < line.length; at++) {
    const char = line[at];
    if (escaped) {
      // do_command.c: `if (ch == '%' || ch == '\\') *--p = ch;` (the escaping backslash overwritten).
      command = char === '%' || char === '\\' ? command.slice(0, -1) + char : command + char;
      escaped = false;
    } else if (char === '\\') {
      command += char;
      escaped = true;
    } else if (char === '%') {
      return { command, stdin: translateInput(line.slice(at + 1)) };
    } else {
      command += char;
    }
  }
  return { command };
}

/**
 * Vixie's loop for the input: `%` → newline, `\%` → `%`, `\x` → `\x`; a final lone backslash is kept;
 * and "if some characters were written and the last one wasn't a newline, write a newline".
 */
function translateInput(data: string): string {
  let out = '';
  let escaped = false;
  let needNewline = false;
  for (const char of data) {
    let ch = char;
    if (escaped) {
      if (ch !== '%') out += '\\';
    } else if (ch === '%') {
      ch = '\n';
    }
    escaped = ch === '\\';
    if (!escaped) {
      out += ch;
      needNewline = ch !== '\n';
    }
  }
  if (escaped) out += '\\';
  return needNewline ? `${out}\n` : out;
}

/** `'text'` for the shell: a single quote inside becomes `'\''`. */
export function shellQuote(text: string): string {
  return `'${text.replaceAll("'", "'\\''")}'`;
}

/**
 * A printf format that prints `text` exactly: `\` and `%` doubled, newlines as `\n`, and a leading
 * `-` as `\055` so that printf never reads the format as an option.
 */
function printfFormat(text: string): string {
  const escaped = text.replaceAll('\\', '\\\\').replaceAll('%', '%%').replaceAll('\n', '\\n');
  return shellQuote(escaped.startsWith('-') ? `\\055${escaped.slice(1)}` : escaped);
}

/** Commands that are one simple command: a pipe into them needs no `eval` (no operators, quotes, comments). */
const SIMPLE_COMMAND = /^[A-Za-z0-9_./:=+,@ \t-]*$/;

/**
 * One shell command line equal to cron's run of `split`: the input printed into the command. A command
 * with shell syntax runs through `eval`, so that the whole of it (`a; b`, `cd x && y`) reads that input.
 */
export function pipedCommand(split: PercentSplit): string {
  if (split.stdin === undefined) return split.command;
  const command = split.command.trim();
  const target = SIMPLE_COMMAND.test(command) ? command : `eval ${shellQuote(command)}`;
  return `printf ${printfFormat(split.stdin)} | ${target}`;
}
