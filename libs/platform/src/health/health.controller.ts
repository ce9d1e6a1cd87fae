import { Controller, Get, HttpStatus, Res, SetMetadata } from '@nestjs/common';
import type { Response } from 'express';
import { HealthService, type HealthReport } from './health.service';

// Needs no credential: the operator API's auth guard reads this key (its `@Public()`, which a lib cannot import).
@SetMetadata('hf:public-route', true)
@Controller('health')
export class HealthController {
  constructor(private readonly health: HealthService) {}

  /** 200 when the service works (`ok`, or `degraded`: e.g. Kafka away, ingest spooling); 503 when it cannot. */
  @Get()
  async get(@Res({ passthrough: true }) res: Response): Promise<HealthReport> {
    const report = await this.health.check();
    res.status(report.status === 'down' ? HttpStatus.SERVICE_UNAVAILABLE : HttpStatus.OK);
    return report;
  }
}
