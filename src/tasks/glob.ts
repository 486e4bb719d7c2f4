/** Expands an include pattern (`*`, `?`, `[...]` within path segments) into sorted existing paths. */
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';

const MAGIC = /[*?[]/;

export function hasMagic(pattern: string): boolean {
  return MAGIC.test(pattern);
}

function segmentRegex(segment: string): RegExp {
  const source = segment.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]').replace(/\[!/g, '[^');
  return new RegExp(`^${source}$`);
}

/** Whether a path the glob built from literal segments can exist: under a plain file or a missing folder it cannot. */
async function mayExist(candidate: string): Promise<boolean> {
  const code = await stat(candidate).then(
    () => undefined,
    (error: NodeJS.ErrnoException) => error.code,
  );
  // Other failures (EACCES, ELOOP) stay candidates, so the loader names them instead of hiding them.
  return code !== 'ENOENT' && code !== 'ENOTDIR';
}

/**
 * `pattern` is absolute or relative to the working directory. Hidden entries match only a segment
 * that starts with a dot, as in the shell. Like the shell, a glob yields only paths that exist:
 * `conf.d/*\/tasks.conf` skips a plain file `conf.d/README` and a folder without `tasks.conf`.
 */
export async function expandGlob(pattern: string): Promise<string[]> {
  if (!hasMagic(pattern)) return [pattern];
  const segments = pattern.split('/').filter(Boolean);
  let current = [pattern.startsWith('/') ? '/' : '.'];
  for (const segment of segments) {
    const next: string[] = [];
    if (!hasMagic(segment)) {
      for (const dir of current) next.push(path.join(dir, segment));
    } else {
      const regex = segmentRegex(segment);
      for (const dir of current) {
        const names = await readdir(dir).catch(() => [] as string[]);
        for (const name of names) {
          if (name.startsWith('.') && !segment.startsWith('.')) continue;
          if (regex.test(name)) next.push(path.join(dir, name));
        }
      }
    }
    current = next;
  }
  // Paths from readdir exist; only those ending in literal segments need a look.
  if (!hasMagic(segments[segments.length - 1])) {
    const exists = await Promise.all(current.map(mayExist));
    current = current.filter((_, index) => exists[index]);
  }
  return current.sort();
}

/** Whether `file` (absolute) is one the absolute `pattern` would match: same depth, each segment matching. */
export function matchesGlob(pattern: string, file: string): boolean {
  const patternSegments = pattern.split('/');
  const fileSegments = file.split('/');
  if (patternSegments.length !== fileSegments.length) return false;
  return patternSegments.every((segment, index) => {
    const name = fileSegments[index];
    if (!hasMagic(segment)) return segment === name;
    return !(name.startsWith('.') && !segment.startsWith('.')) && segmentRegex(segment).test(name);
  });
}
