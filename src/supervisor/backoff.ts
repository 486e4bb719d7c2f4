/** SPEC §1.4: daemon restart back-off, 1 s doubling to 60 s, reset after an instance stayed up 60 s. */
export const BACKOFF_FIRST_MS = 1000;
export const BACKOFF_MAX_MS = 60_000;
export const BACKOFF_RESET_AFTER_MS = 60_000;

export interface Backoff {
  /** The delay the next unexpected exit will wait before the restart. */
  readonly nextDelayMs: number;
}

export const initialBackoff: Backoff = { nextDelayMs: BACKOFF_FIRST_MS };

/** The delay before restarting an instance that exited after `upMs`, and the state for the exit after. */
export function backoffAfterExit(state: Backoff, upMs: number): { delayMs: number; next: Backoff } {
  const delayMs = upMs >= BACKOFF_RESET_AFTER_MS ? BACKOFF_FIRST_MS : state.nextDelayMs;
  return { delayMs, next: { nextDelayMs: Math.min(delayMs * 2, BACKOFF_MAX_MS) } };
}
