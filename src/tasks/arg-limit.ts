/**
 * Linux refuses to exec with one argument or environment string longer than MAX_ARG_STRLEN (32 pages,
 * its NUL included): the job's `$SHELL -c <command>` would fail with E2BIG at every run.
 */
export const MAX_ARG_STRLEN = 131_072;

/** The error for a string the kernel would refuse at every exec, or undefined. `what` names it. */
export function argumentTooLong(text: string, what: string): string | undefined {
  // A UTF-16 unit is at most 3 bytes of UTF-8: shorter strings need no counting (compile speed).
  if (text.length * 3 < MAX_ARG_STRLEN) return undefined;
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes < MAX_ARG_STRLEN) return undefined;
  return (
    `${what} is ${bytes} bytes; Linux passes at most ${MAX_ARG_STRLEN - 1} bytes in one argument or environment string ` +
    `(MAX_ARG_STRLEN, 128 KiB with the NUL), so every run would fail with E2BIG: move it into a script and run that`
  );
}
