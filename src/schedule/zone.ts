import { readlinkSync } from 'node:fs';
import { daysFromCivil, fillCivil, SECONDS_PER_DAY } from './calendar.js';
import { closest } from './suggest.js';
import type { WallTime } from './types.js';

/** The zone name that stands for the machine's own time zone (a task with neither `tz=` nor `TZ=`). */
export const LOCAL_ZONE = 'local';

/** Offsets are looked up with Intl once per chunk of this many seconds (about 388 days) and zone. */
const CHUNK_SECONDS = 2 ** 25;
/** Sampling step inside a chunk: the tz database never changes an offset twice within a day. */
const SAMPLE_SECONDS = SECONDS_PER_DAY;

/** The UTC offsets of one chunk: offsets[0] from its start, offsets[i + 1] from transitions[i]. */
interface Chunk {
  readonly start: number;
  readonly transitions: readonly number[];
  readonly offsets: readonly number[];
}

/**
 * The names Intl resolves to UTC (the tz database's links to Etc/UTC, and GMT, whose offset is 0 for all
 * time), without digits: ICU ignores a TZ variable holding digits (`GMT0`), so only these are read as UTC.
 */
const UTC_NAMES: ReadonlySet<string> = new Set(['UTC', 'Etc/UTC', 'Etc/UCT', 'UCT', 'Etc/Universal', 'Universal', 'Etc/Zulu', 'Zulu', 'Etc/GMT', 'GMT', 'Etc/Greenwich', 'Greenwich']);

/**
 * The machine's zone when it is UTC, told as ICU tells it (TZ, else the zone /etc/localtime links to)
 * without asking Intl: the first Intl.DateTimeFormat maps ICU's zone data, 6-8 MiB of a daemon's RSS, which a
 * host on UTC (most servers) never needs. Undefined for any other zone or any doubt: Intl answers then.
 */
export function localUtcName(env: NodeJS.ProcessEnv = process.env, localtime = '/etc/localtime'): 'UTC' | undefined {
  let name = env.TZ;
  if (name === undefined) {
    try {
      name = readlinkSync(localtime).split('/zoneinfo/')[1];
    } catch {
      return undefined; // no link (a copied file, none at all): Intl reads the file
    }
  } else if (name.startsWith(':')) name = name.slice(1);
  return name !== undefined && UTC_NAMES.has(name) ? 'UTC' : undefined;
}

/** Says what is wrong with a time zone name and what to write instead, or undefined if it is valid. */
let zoneNames: { readonly names: readonly string[]; readonly lowerCase: readonly string[] } | undefined;
/** Answers by name: a file that repeats a bad zone (or a fuzzer) must not pay for the suggestion each time. */
const zoneAnswers = new Map<string, string | undefined>();
const ZONE_ANSWERS_LIMIT = 1000;

export function zoneError(name: string): string | undefined {
  if (name === LOCAL_ZONE || UTC_NAMES.has(name)) return undefined;
  if (zoneAnswers.has(name)) return zoneAnswers.get(name);
  let answer: string | undefined;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
  } catch {
    if (zoneNames === undefined) {
      const names = [...Intl.supportedValuesOf('timeZone'), 'UTC'];
      zoneNames = { names, lowerCase: names.map((zoneName) => zoneName.toLowerCase()) };
    }
    const suggestion = name.length > 64 ? undefined : closest(name.toLowerCase(), zoneNames.lowerCase);
    const example = suggestion === undefined ? 'Europe/Berlin' : zoneNames.names[zoneNames.lowerCase.indexOf(suggestion)];
    answer = `unknown time zone "${name.length > 64 ? `${name.slice(0, 64)}…` : name}": use an IANA name such as ${example}`;
  }
  if (zoneAnswers.size >= ZONE_ANSWERS_LIMIT) zoneAnswers.clear();
  zoneAnswers.set(name, answer);
  return answer;
}

/**
 * An IANA time zone with cached UTC offsets. A hit (the offset in force around the last second asked
 * for) is two comparisons; Intl is used only to fill a chunk. UTC never touches Intl.
 */
export class Zone {
  private static readonly zones = new Map<string, Zone>();

  /** The resolved IANA name, e.g. `Europe/Berlin` (for `local`, the machine's zone). */
  readonly name: string;
  /** Never made for a UTC name (see localUtcName): one per other zone, from its constructor. */
  private format?: Intl.DateTimeFormat;
  private readonly isUtc: boolean;
  private readonly chunks = new Map<number, Chunk>();
  private cachedFrom = -Infinity;
  private cachedUntil = Infinity;
  private cachedOffset = 0;

  /** The shared instance for `name` (an IANA name or `local`); throws a RangeError for an unknown name. */
  static for(name: string): Zone {
    let zone = Zone.zones.get(name);
    if (zone === undefined) {
      const error = zoneError(name);
      if (error !== undefined) throw new RangeError(error);
      zone = new Zone(name === LOCAL_ZONE ? (localUtcName() ?? new Intl.DateTimeFormat().resolvedOptions().timeZone) : name);
      Zone.zones.set(name, zone);
    }
    return zone;
  }

  private constructor(name: string) {
    if (!UTC_NAMES.has(name)) this.format = zoneFormat(name);
    this.name = this.format?.resolvedOptions().timeZone ?? 'UTC';
    this.isUtc = this.name === 'UTC';
    // UTC keeps the initial cache (offset 0 for all time) forever; other zones start empty.
    if (!this.isUtc) this.cachedUntil = -Infinity;
  }

  /** Seconds to add to a Unix time to get this zone's wall clock at that instant. */
  offsetSeconds(unixSec: number): number {
    if (unixSec >= this.cachedFrom && unixSec < this.cachedUntil) return this.cachedOffset;
    return this.lookUpOffset(unixSec);
  }

  /** Fills every field of `out` with the wall clock at `unixSec`: integer work on a cache hit. */
  fillWallTime(unixSec: number, out: WallTime): void {
    fillCivil(unixSec + this.offsetSeconds(unixSec), out);
  }

  /** The first instant in (afterUnixSec, untilUnixSec] at which the offset changes, or Infinity. */
  nextTransition(afterUnixSec: number, untilUnixSec: number): number {
    if (this.isUtc) return Infinity;
    for (let index = chunkIndex(afterUnixSec); index <= chunkIndex(untilUnixSec); index++) {
      for (const transition of this.chunk(index).transitions) {
        if (transition > afterUnixSec) return transition <= untilUnixSec ? transition : Infinity;
      }
    }
    return Infinity;
  }

  /** The last instant in (sinceUnixSec, atUnixSec] at which the offset changed, or -Infinity. */
  previousTransition(atUnixSec: number, sinceUnixSec: number): number {
    if (this.isUtc) return -Infinity;
    for (let index = chunkIndex(atUnixSec); index >= chunkIndex(sinceUnixSec); index--) {
      const { transitions } = this.chunk(index);
      for (let i = transitions.length - 1; i >= 0; i--) {
        if (transitions[i] <= atUnixSec) return transitions[i] > sinceUnixSec ? transitions[i] : -Infinity;
      }
    }
    return -Infinity;
  }

  private lookUpOffset(unixSec: number): number {
    const chunk = this.chunk(chunkIndex(unixSec));
    let i = 0;
    while (i < chunk.transitions.length && chunk.transitions[i] <= unixSec) i++;
    this.cachedFrom = i === 0 ? chunk.start : chunk.transitions[i - 1];
    this.cachedUntil = i === chunk.transitions.length ? chunk.start + CHUNK_SECONDS : chunk.transitions[i];
    this.cachedOffset = chunk.offsets[i];
    return this.cachedOffset;
  }

  private chunk(index: number): Chunk {
    let chunk = this.chunks.get(index);
    if (chunk === undefined) {
      chunk = this.scanChunk(index * CHUNK_SECONDS);
      this.chunks.set(index, chunk);
    }
    return chunk;
  }

  /** Samples the offset daily and bisects each change down to the second it happens. */
  private scanChunk(start: number): Chunk {
    const end = start + CHUNK_SECONDS;
    const transitions: number[] = [];
    // Sampling starts one second early so that a transition exactly at `start` is seen.
    let sampled = start - 1;
    const offsets = [this.intlOffset(sampled)];
    while (sampled < end - 1) {
      const next = Math.min(sampled + SAMPLE_SECONDS, end - 1);
      const offsetAtNext = this.intlOffset(next);
      let from = sampled;
      while (offsets[offsets.length - 1] !== offsetAtNext) {
        from = this.bisectTransition(from, offsets[offsets.length - 1], next);
        transitions.push(from);
        offsets.push(this.intlOffset(from));
      }
      sampled = next;
    }
    return { start, transitions, offsets };
  }

  /** The first second in (from, to] whose offset differs from `offsetAtFrom`. */
  private bisectTransition(from: number, offsetAtFrom: number, to: number): number {
    let [low, high] = [from, to];
    while (high - low > 1) {
      const middle = Math.floor((low + high) / 2);
      if (this.intlOffset(middle) === offsetAtFrom) low = middle;
      else high = middle;
    }
    return high;
  }

  private intlOffset(unixSec: number): number {
    this.format ??= zoneFormat(this.name);
    const parts = this.format.formatToParts(unixSec * 1000);
    const field = (type: string) => Number(parts.find((part) => part.type === type)?.value);
    const wallDays = daysFromCivil(field('year'), field('month'), field('day'));
    return wallDays * SECONDS_PER_DAY + field('hour') * 3600 + field('minute') * 60 + field('second') - unixSec;
  }
}

function zoneFormat(name: string): Intl.DateTimeFormat {
  return new Intl.DateTimeFormat('en-US', {
    timeZone: name,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  });
}

function chunkIndex(unixSec: number): number {
  return Math.floor(unixSec / CHUNK_SECONDS);
}
