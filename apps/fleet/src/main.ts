import { runApp } from '@hyperfleet/platform';
import { FleetModule } from './fleet.module';

void runApp({
  title: 'Hyperfleet (all-in-one)',
  module: (infra) => FleetModule.forRoot(infra),
  needsMqtt: true,
});
