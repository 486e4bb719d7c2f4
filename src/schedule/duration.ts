/** Durations (SPEC §1.5): `500ms`, `90s`, `10m`, `2h`, `1d`, and sums of them such as `1h30m`. */

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const PART = /(\d+)(ms|s|m|h|d)/y;
const DECIMAL = /^(\d{1,9})\.(\d{1,6})(ms|s|m|h|d)$/;
const DURATION_EXAMPLES = '500ms, 90s, 10m, 2h, 1d';

export type DurationResult =
  | { ok: true; ms: number }
  /** `decimalMs`: what a decimal such as `1.5s` means, so the caller can suggest whole units it accepts. */
  | { ok: false; offset: number; message: string; decimalMs?: number };

/** `1.5s` → 1500, `2.5h` → 9,000,000 (exact: integer arithmetic on the digits); undefined if not a decimal. */
function decimalMs(text: string): number | undefined {
  const match = DECIMAL.exec(text);
  if (!match) return undefined;
  const [, whole, fraction, unit] = match;
  const scale = 10 ** fraction.length;
  return ((Number(whole) * scale + Number(fraction)) * UNIT_MS[unit]) / scale;
}

/** `examples` lists durations the caller accepts, for the message about a malformed one. */
export function parseDuration(text: string, examples = DURATION_EXAMPLES): DurationResult {
  if (text === '') return { ok: false, offset: 0, message: 'empty duration: write e.g. 90s, 10m, 2h' };
  if (/^\d+$/.test(text)) {
    return { ok: false, offset: text.length, message: `duration "${text}" has no unit: write ${text}s (units: ms, s, m, h, d)` };
  }
  const decimal = decimalMs(text);
  if (decimal !== undefined) {
    const instead = Number.isInteger(decimal) ? `write ${formatDuration(decimal)}` : 'write whole numbers, in a smaller unit if needed';
    return { ok: false, offset: 0, message: `duration "${text}" is not a whole number: ${instead}`, decimalMs: decimal };
  }
  let ms = 0;
  PART.lastIndex = 0;
  while (PART.lastIndex < text.length) {
    const at = PART.lastIndex;
    const match = PART.exec(text);
    if (!match) {
      return { ok: false, offset: at, message: `bad duration "${text}": write a number and a unit, e.g. ${examples}` };
    }
    ms += Number(match[1]) * UNIT_MS[match[2]];
  }
  if (!Number.isSafeInteger(ms)) return { ok: false, offset: 0, message: `duration "${text}" is too large` };
  return { ok: true, ms };
}

/** Formats milliseconds back into the shortest unit that represents them exactly. */
export function formatDuration(ms: number): string {
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}
