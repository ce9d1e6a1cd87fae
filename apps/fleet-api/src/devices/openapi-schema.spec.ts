import { z } from 'zod';
import { deviceVmSchema } from '../fleet/fleet.schemas';
import { openApiSchema } from './devices.schemas';

describe('openApiSchema', () => {
  it('a nullable enum lists null, so a strict OpenAPI 3.0 client accepts the null it is promised', () => {
    const s = openApiSchema(z.object({ op: z.enum(['stop', 'reset']).nullable() })) as {
      properties: { op: { enum: unknown[]; nullable: boolean } };
    };
    expect(s.properties.op).toMatchObject({ nullable: true, enum: ['stop', 'reset', null] });
  });

  it('pendingOperation of a device VM view', () => {
    const s = JSON.stringify(openApiSchema(deviceVmSchema));
    expect(s).toContain('"enum":["stop","reset",null]');
  });
});
