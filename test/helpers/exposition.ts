/** Reads the Prometheus text format back: each sample by `name{label="value",...}` (labels sorted), for the assertions. */

const SAMPLE = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/;
const LABEL = /(\w+)="((?:[^"\\]|\\.)*)"/g;

/** The key of a series as samples() names it. */
export function seriesKey(name: string, labels: Record<string, string> = {}): string {
  const pairs = Object.entries(labels).sort(([a], [b]) => a.localeCompare(b));
  return pairs.length === 0 ? name : `${name}{${pairs.map(([key, value]) => `${key}="${value}"`).join(',')}}`;
}

/** Every sample of the text; a malformed line or a series given twice throws. */
export function samples(text: string): Map<string, number> {
  const found = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = SAMPLE.exec(line);
    if (!match) throw new Error(`not a sample line: ${line}`);
    const labels = Object.fromEntries([...(match[2] ?? '').matchAll(LABEL)].map(([, key, value]) => [key, value]));
    const key = seriesKey(match[1], labels);
    if (found.has(key)) throw new Error(`series given twice: ${key}`);
    found.set(key, Number(match[3]));
  }
  return found;
}

/** The series of one task (any family): what a task's removal must leave none of. */
export function seriesOfTask(found: Map<string, number>, task: string): string[] {
  return [...found.keys()].filter((key) => key.includes(`task="${task}"`));
}
