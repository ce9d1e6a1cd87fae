import { runApp } from '@hyperfleet/platform';
import { ProjectorAppModule } from './projector.module';

void runApp({
  title: 'Hyperfleet projector',
  module: (infra) => ProjectorAppModule.forRoot(infra),
  needsMqtt: false,
});
