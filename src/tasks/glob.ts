/** Expands an include pattern (`*`, `?`, `[...]` within path segments) into sorted existing paths. */
import { readdir } from 'node:fs/promises';
import path from 'node:path';

const MAGIC = /[*?[]/;

export function hasMagic(pattern: string): boolean {
  return MAGIC.test(pattern);
}

function segmentRegex(segment: string): RegExp {
  const source = segment.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]').replace(/\[!/g, '[^');
  return new RegExp(`^${source}$`);
}

/** `pattern` is absolute or relative to the working directory. Hidden entries match only a segment that starts with a dot, as in the shell. */
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
