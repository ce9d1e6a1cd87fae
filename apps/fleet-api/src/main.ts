import { runApp } from '@hyperfleet/platform';
import { FleetApiAppModule } from './fleet-api.module';

void runApp({
  title: 'Hyperfleet fleet API',
  module: (infra) => FleetApiAppModule.forRoot(infra),
  // The API talks to PostgreSQL only; devices connect to the gateway's broker.
  needsMqtt: false,
});
