// The one way tests wait for something that happens elsewhere (another
// process, another connection, a file being written): poll a condition until
// it holds, bounded, and fail saying what never happened. Never a fixed sleep.

export interface WaitOptions {
  /** Give up after this long (default 15 s, under mocha's 20 s test timeout). */
  timeoutMs?: number;
  /** Poll this often (default 20 ms). */
  everyMs?: number;
}

/**
 * Polls `check` (sync or async) until it returns a truthy value, and returns that value. Fails with
 * "timed out after N ms waiting for WHAT"; `what` may be a function, read at that moment (to show
 * output so far). `check` may throw to give up early (a process that exited).
 */
export async function waitFor<T>(
  what: string | (() => string),
  check: () => T | Promise<T>,
  { timeoutMs = 15_000, everyMs = 20 }: WaitOptions = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() >= deadline)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${typeof what === "string" ? what : what()}`,
      );
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
