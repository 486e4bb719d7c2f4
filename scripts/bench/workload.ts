/** Deterministic task-file workloads for the benchmarks: varied expressions, almost none due. */

/** A small seeded PRNG (mulberry32) so every run measures the same files. */
export function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

/** Six-field expressions in the mix people write: fixed times, steps, ranges, lists, names. */
export function expressions(count: number, seed = 1): string[] {
  const next = random(seed);
  const pick = (n: number): number => Math.floor(next() * n);
  const result: string[] = [];
  for (let index = 0; index < count; index++) {
    const second = pick(60);
    const minute = pick(60);
    switch (index % 6) {
      case 0:
        result.push(`${second} ${minute} ${pick(24)} * * *`);
        break;
      case 1:
        result.push(`${second} ${minute} ${pick(12)}-${12 + pick(12)} * * ${DAYS[1 + pick(3)]}-${DAYS[4 + pick(2)]}`);
        break;
      case 2:
        result.push(`${second} */${5 + pick(26)} * * * *`);
        break;
      case 3: {
        const month = pick(12);
        result.push(`${second} ${minute} ${pick(24)} ${1 + pick(28)} ${MONTHS[month]},${MONTHS[(month + 1 + pick(11)) % 12]} *`);
        break;
      }
      case 4:
        result.push(`${second} ${minute},${(minute + 30) % 60} ${pick(24)} * * ${pick(7)}`);
        break;
      default:
        result.push(`${second} ${minute} ${pick(24)} 1-${10 + pick(18)}/3 * *`);
    }
  }
  return result;
}

export function taskFile(count: number, seed = 1): string {
  return expressions(count, seed)
    .map((expression, index) => `${expression} * 1 cron name=t${index} echo task ${index}`)
    .join('\n');
}
