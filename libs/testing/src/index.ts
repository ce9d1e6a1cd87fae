export * from './database';
export * from './services';
export * from './process';
export * from './mosquitto';
export * from './kafka-outage';
