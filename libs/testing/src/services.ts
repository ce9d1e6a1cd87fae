/**
 * Kafka suites run only where a broker is configured. Under CI=true a missing broker is an error,
 * never a silent skip.
 */
export function kafkaBrokers(): string[] | null {
  const raw = process.env.KAFKA_BROKERS;
  if (!raw) {
    if (process.env.CI === 'true')
      throw new Error('CI=true but KAFKA_BROKERS is not set: Kafka suites may not skip');
    return null;
  }
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** `describe` that skips loudly when Kafka is not configured. */
export const describeKafka = (name: string, fn: () => void): void => {
  const brokers = kafkaBrokers();
  if (brokers) {
    describe(name, fn);
  } else {
    console.warn(`SKIPPED (no KAFKA_BROKERS): ${name}`);
    describe.skip(`${name} [SKIPPED: KAFKA_BROKERS not set]`, fn);
  }
};
