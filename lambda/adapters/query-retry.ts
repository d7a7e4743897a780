/**
 * Backoff shared by the flow sources (Logs Insights, Athena): a call that fails with one of the
 * service's retryable errors is tried again after an exponential delay with "equal jitter" (at
 * least half the delay, so retries do spread out), capped at 20 s, for as long as the next try
 * can start before the query's deadline (and at most `maxAttempts` tries, when given); then
 * `giveUp` says what to throw.
 */
export interface RetryClock {
  now(): number;
  sleep(ms: number): Promise<void>;
  /** In [0, 1). */
  random(): number;
}

export async function retryWithBackoff<T>(
  call: () => Promise<T>,
  options: {
    retryable: ReadonlySet<string>;
    baseDelayMs: number;
    deadline: number;
    clock: RetryClock;
    giveUp: (attempt: number, error: unknown) => Error;
    maxAttempts?: number;
  },
): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await call();
    } catch (error) {
      const name = error instanceof Error ? error.name : '';
      if (!options.retryable.has(name)) throw error;
      const ceiling = Math.min(20_000, options.baseDelayMs * 2 ** (attempt - 1));
      const delay = ceiling / 2 + options.clock.random() * (ceiling / 2);
      if (attempt >= (options.maxAttempts ?? Infinity) || options.clock.now() + delay >= options.deadline)
        throw options.giveUp(attempt, error);
      await options.clock.sleep(delay);
    }
  }
}
