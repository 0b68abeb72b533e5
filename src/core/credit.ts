// Back-pressure for a worker thread that produces for the main thread: it may be at most
// `window` messages ahead; every "ack" from the main thread gives one credit back.

import type { MessagePort } from "node:worker_threads";

export const ACK = "ack";

export function creditGate(port: MessagePort, window: number): { take(): Promise<void> } {
  let unacked = 0;
  let wake: (() => void) | null = null;
  port.on("message", (m: unknown) => {
    if (m !== ACK) return;
    unacked--;
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
