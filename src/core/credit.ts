// Back-pressure for a producer (a worker thread, or the fetch loop of core/split-source.ts): it
// may be at most `window` pages ahead; an acknowledgement from the consumer (for a worker, a
// number posted by the main thread) gives that many credits back.

import type { MessagePort } from "node:worker_threads";

/** At most `window` taken and not yet given back; `take` waits for a credit. */
export function credits(window: number): { take(): Promise<void>; give(n: number): void } {
  let unacked = 0;
  let wake: (() => void) | null = null;
  return {
    async take() {
      while (unacked >= window) await new Promise<void>((r) => (wake = r));
      unacked++;
    },
    give(n) {
      unacked -= n;
      const w = wake;
      wake = null;
      w?.();
    },
  };
}

export function creditGate(port: MessagePort, window: number): { take(): Promise<void> } {
  const gate = credits(window);
  port.on("message", (m: unknown) => {
    if (typeof m === "number") gate.give(m);
  });
  return gate;
}
