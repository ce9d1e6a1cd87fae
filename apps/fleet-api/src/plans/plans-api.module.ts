import { Module, type MiddlewareConsumer, type NestModule } from '@nestjs/common';
import { BoardStore } from '../boards/board.store';
import { BoardsController } from '../boards/boards.controller';
import { DeviceFilterResolver } from '../fleet/device-filter';
import { PlansController } from './plans.controller';
import { PlansService } from './plans.service';
import { xmlBodyParser } from './xml-body';

/**
 * /api/v1/plans and /api/v1/boards: partition plans (create, revise, read, validate, scenario XML import
 * and export, assignment) and imported ACRN boards. Needs the command side (CqrsModule + DomainModule),
 * PlatformModule and AuthModule (DeviceScope, the guard that sets the actor) in the application, as
 * FleetApiModule does.
 */
@Module({
  controllers: [PlansController, BoardsController],
  providers: [PlansService, BoardStore, DeviceFilterResolver],
})
export class PlansApiModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    // XML bodies only here: the rest of the API stays JSON.
    consumer.apply(xmlBodyParser).forRoutes(PlansController, BoardsController);
  }
}
