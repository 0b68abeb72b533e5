// Back-pressure for a worker thread that produces for the main thread: it may be at most
// `window` messages ahead; an acknowledgement from the main thread (a number) gives that many
// credits back.

import type { MessagePort } from "node:worker_threads";

export function creditGate(port: MessagePort, window: number): { take(): Promise<void> } {
  let unacked = 0;
  let wake: (() => void) | null = null;
  port.on("message", (m: unknown) => {
    if (typeof m !== "number") return;
    unacked -= m;
    wake?.();
    wake = null;
  });
  return {
    async take() {
      while (unacked >= window) await new Promise<void>((r) => (wake = r));
      unacked++;
    },
  };
}
