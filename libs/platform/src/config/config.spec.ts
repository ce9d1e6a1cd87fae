import { ConfigError, loadConfig, redact } from './config';

describe('loadConfig', () => {
  it('defaults to the embedded infrastructure when nothing is set', () => {
    const c = loadConfig({}, '/srv/hf');
    expect(c.databaseUrl).toBeNull();
    expect(c.mqttUrl).toBeNull();
    expect(c.kafkaBrokers).toBeNull();
    expect(c.dataDir).toBe('/srv/hf/.hyperfleet');
    expect(c.http).toEqual({ host: '127.0.0.1', port: 3000 });
    expect(c.embedded.mqttPort).toBe(1884);
  });

  it('takes real infrastructure from the environment', () => {
    const c = loadConfig({
      DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/hf',
      MQTT_URL: 'mqtt://127.0.0.1:1883',
      KAFKA_BROKERS: '127.0.0.1:9092, kafka-2:9092',
      HTTP_PORT: '8080',
    });
    expect(c.databaseUrl).toBe('postgres://postgres@127.0.0.1:5432/hf');
    expect(c.kafkaBrokers).toEqual(['127.0.0.1:9092', 'kafka-2:9092']);
    expect(c.http.port).toBe(8080);
  });

  it('reports every bad value, one clear line each', () => {
    let err: unknown;
    try {
      loadConfig({
        DATABASE_URL: 'mysql://root@db/hf',
        MQTT_URL: 'not a url',
        KAFKA_BROKERS: '127.0.0.1,kafka:9092',
        HTTP_PORT: '70000',
        LOG_LEVEL: 'loud',
        MIGRATE_ON_START: 'maybe',
        DB_POOL_SIZE: '0',
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const problems = (err as ConfigError).problems;
    expect(problems).toHaveLength(7);
    expect(problems[0]).toMatch(
      /^DATABASE_URL: scheme must be postgres:\/\/ or postgresql:\/\/ \(got "mysql:\/\/"\)/,
    );
    expect(problems.join('\n')).toMatch(/MQTT_URL: not a URL/);
    expect(problems.join('\n')).toMatch(/KAFKA_BROKERS: .*bad: "127.0.0.1"/);
    expect(problems.join('\n')).toMatch(/HTTP_PORT: must be a port number/);
    expect(problems.join('\n')).toMatch(/LOG_LEVEL: must be one of/);
    expect(problems.join('\n')).toMatch(/MIGRATE_ON_START: must be true or false/);
    expect(problems.join('\n')).toMatch(/DB_POOL_SIZE/);
  });

  it('never prints a password', () => {
    expect(() => loadConfig({ DATABASE_URL: 'postgres://u:secret@' })).toThrow(ConfigError);
    try {
      loadConfig({ DATABASE_URL: 'postgres://u:secret@' });
    } catch (e) {
      expect((e as Error).message).not.toContain('secret');
    }
    expect(redact('postgres://u:secret@h:5432/d')).toBe('postgres://u:***@h:5432/d');
  });
});
