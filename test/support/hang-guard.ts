/**
 * How long a test's wait gives up on a condition that never comes.
 *
 * This is a hang guard, not an expectation of speed: no test depends on how
 * fast something happens, only on whether it happens. A wait polls its
 * condition and returns as soon as it holds; this bound only turns a hang
 * into a failure with a message. It is generous on purpose, so that a loaded
 * 2-core machine (load average 30+) never fails a wait that would succeed;
 * per-test timeouts (vitest `it(..., 600_000)`) stay above it.
 */
export const HANG_GUARD_MS = 300_000;
