import { Controller, Get, HttpStatus, Res, SetMetadata } from '@nestjs/common';
import { ApiOperation, ApiResponse } from '@nestjs/swagger';
import type { Response } from 'express';
import { HealthService, type HealthReport } from './health.service';

const check = {
  type: 'object',
  required: ['status', 'detail'],
  properties: {
    status: { type: 'string', enum: ['up', 'degraded', 'down'] },
    detail: {
      type: 'object',
      additionalProperties: { oneOf: [{ type: 'string' }, { type: 'number' }, { type: 'boolean' }] },
    },
    error: { type: 'string' },
  },
};
const healthReportSchema = {
  type: 'object',
  required: ['status', 'checks'],
  properties: {
    status: { type: 'string', enum: ['ok', 'degraded', 'down'] },
    checks: {
      type: 'object',
      required: ['postgres', 'mqtt', 'eventTransport'],
      properties: { postgres: check, mqtt: check, eventTransport: check },
    },
  },
};

// Needs no credential: the operator API's auth guard reads this key (its `@Public()`, which a lib cannot import).
@SetMetadata('hf:public-route', true)
@Controller('health')
export class HealthController {
  constructor(private readonly health: HealthService) {}

  /** 200 when the service works (`ok`, or `degraded`: e.g. Kafka away, ingest spooling); 503 when it cannot. */
  @Get()
  @ApiOperation({ summary: 'Liveness and dependencies; needs no credential' })
  @ApiResponse({
    status: 200,
    description:
      '`ok`, or `degraded`: a dependency is away but the service still does its job (Kafka down: ingest commits to PostgreSQL, the relays publish later; eventTransport.detail has the backlogs)',
    schema: healthReportSchema,
  })
  @ApiResponse({
    status: 503,
    description: '`down`: a dependency the service cannot work without (PostgreSQL, the MQTT broker) is down',
    schema: healthReportSchema,
  })
  async get(@Res({ passthrough: true }) res: Response): Promise<HealthReport> {
    const report = await this.health.check();
    res.status(report.status === 'down' ? HttpStatus.SERVICE_UNAVAILABLE : HttpStatus.OK);
    return report;
  }
}
