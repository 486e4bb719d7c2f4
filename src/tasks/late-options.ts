/**
 * Options written after the command (`... cron name=x echo hi timeout=5s`) are words of the command
 * (SPEC §1.5: options come right after the type), which is rarely what was meant: `check` warns.
 */
import { isOptionKey } from './options.js';

const OPTION_WORD = /^([a-z_][a-z0-9_]*)=/;
/** A line naming more late options than this lists the first ones and counts the rest. */
const LISTED = 3;

const isBlank = (code: number): boolean => code === 0x20 || code === 0x09;

/**
 * The command's words outside quotes, roughly as the shell splits them (blanks, quotes, backslashes),
 * so `echo "a timeout=5s"` has no word `timeout=5s`. A word starting with `#` starts a comment.
 */
function commandWords(text: string, from: number): { at: number; text: string }[] {
  const words: { at: number; text: string }[] = [];
  let at = from;
  while (at < text.length) {
    while (at < text.length && isBlank(text.charCodeAt(at))) at++;
    if (at >= text.length || text[at] === '#') break;
    const start = at;
    while (at < text.length && !isBlank(text.charCodeAt(at))) {
      const char = text[at];
      if (char === '\\') at += 2;
      else if (char === "'") at = closingQuote(text, at, "'");
      else if (char === '"') at = closingQuote(text, at, '"');
      else at++;
    }
    words.push({ at: start, text: text.slice(start, Math.min(at, text.length)) });
  }
  return words;
}

/** Offset just past the quote closing the one at `open` (a backslash escapes inside double quotes only). */
function closingQuote(text: string, open: number, quote: string): number {
  for (let at = open + 1; at < text.length; at++) {
    if (quote === '"' && text[at] === '\\') at++;
    else if (text[at] === quote) return at + 1;
  }
  return text.length;
}

/** One warning for the gotorch options among the command's words after its first, or undefined. */
export function lateOptionsWarning(text: string, commandAt: number): { at: number; message: string } | undefined {
  // Most commands have no `=` at all: skip the split for them (compile speed, 200,000 lines/s).
  if (text.indexOf('=', commandAt) < 0) return undefined;
  const late = commandWords(text, commandAt)
    .slice(1)
    .filter((word) => {
      const key = OPTION_WORD.exec(word.text)?.[1];
      return key !== undefined && isOptionKey(key);
    });
  if (late.length === 0) return undefined;
  const listed = late.slice(0, LISTED).map((word) => `"${word.text.length > 40 ? `${word.text.slice(0, 40)}...` : word.text}"`);
  const more = late.length > LISTED ? ` and ${late.length - LISTED} more` : '';
  const them = late.length === 1 ? 'it' : 'them';
  return {
    at: late[0].at,
    message:
      `${listed.join(', ')}${more} after the command ${late.length === 1 ? 'is' : 'are'} part of the command, not ${late.length === 1 ? 'an option' : 'options'}: ` +
      `put ${them} before the command, or use -- to keep ${them} as part of the command`,
  };
}
