/**
 * Spaces MQTT CONNECTs out to a rate, so that starting (or reconnecting) thousands of simulated devices
 * does not stampede the broker and the gateway. Every CONNECT of every device of a fleet takes a slot,
 * reconnects included.
 */
export class ConnectLimiter {
  private nextSlot = 0;
  private readonly waiting = new Set<{ timer: NodeJS.Timeout; resolve: () => void }>();

  /** `perSecond` ≤ 0 or not finite: no limit. */
  constructor(private readonly perSecond: number) {}

  /** Resolves when this caller may connect. */
  acquire(): Promise<void> {
    if (!(this.perSecond > 0) || !Number.isFinite(this.perSecond)) return Promise.resolve();
    const now = Date.now();
    const slot = Math.max(now, this.nextSlot);
    this.nextSlot = slot + 1000 / this.perSecond;
    if (slot <= now) return Promise.resolve();
    return new Promise((resolve) => {
      const entry = {
        resolve,
        timer: setTimeout(() => {
          this.waiting.delete(entry);
          resolve();
        }, slot - now),
      };
      this.waiting.add(entry);
    });
  }

  /** Lets every waiting caller go now (on shutdown, so that nothing waits on a timer). */
  releaseAll(): void {
    for (const entry of this.waiting) {
      clearTimeout(entry.timer);
      entry.resolve();
    }
    this.waiting.clear();
  }
}
