import type { LogPosition } from './types';

export function compareLogPositions(a: LogPosition, b: LogPosition): number {
  if (a.transactionId !== b.transactionId) return a.transactionId < b.transactionId ? -1 : 1;
  if (a.globalPosition !== b.globalPosition) return a.globalPosition < b.globalPosition ? -1 : 1;
  return 0;
}

/** `<transactionId>/<globalPosition>`: a single token for HTTP, CLI and Kafka headers. */
export function formatLogPosition(p: LogPosition): string {
  return `${p.transactionId}/${p.globalPosition}`;
}

export function parseLogPosition(s: string): LogPosition {
  const m = /^(\d+)\/(\d+)$/.exec(s.trim());
  if (!m)
    throw new Error(`Not a log position (expected <transactionId>/<globalPosition>): ${JSON.stringify(s)}`);
  return { transactionId: BigInt(m[1]), globalPosition: BigInt(m[2]) };
}
