import { Column, DataSource, Entity, PrimaryColumn, PrimaryGeneratedColumn } from 'typeorm';
import type { EventToAppend } from '@hyperfleet/event-store';

// The same append written with TypeORM, to measure what the ORM would cost on the hot path.
@Entity({ schema: 'hf', name: 'streams' })
class StreamRow {
  @PrimaryColumn({ name: 'stream_id', type: 'text' }) streamId!: string;
  @Column({ type: 'bigint' }) version!: string;
}

@Entity({ schema: 'hf', name: 'events' })
class EventRow {
  @PrimaryGeneratedColumn('identity', {
    name: 'global_position',
    type: 'bigint',
    generatedIdentity: 'ALWAYS',
  })
  globalPosition!: string;
  @Column({ name: 'stream_id', type: 'text' }) streamId!: string;
  @Column({ name: 'stream_position', type: 'bigint' }) streamPosition!: string;
  @Column({ name: 'event_type', type: 'text' }) eventType!: string;
  @Column({ type: 'jsonb' }) data!: object;
  @Column({ type: 'jsonb' }) metadata!: object;
  @Column({ name: 'message_id', type: 'text' }) messageId!: string;
}

export class TypeOrmAppender {
  private constructor(private readonly ds: DataSource) {}

  static async connect(url: string): Promise<TypeOrmAppender> {
    const ds = new DataSource({ type: 'postgres', url, entities: [StreamRow, EventRow], poolSize: 10 });
    await ds.initialize();
    return new TypeOrmAppender(ds);
  }

  async append(streamId: string, expected: bigint | 'no-stream', events: EventToAppend[]): Promise<bigint> {
    return this.ds.transaction(async (m) => {
      const n = BigInt(events.length);
      let version: bigint;
      if (expected === 'no-stream') {
        await m.insert(StreamRow, { streamId, version: n.toString() });
        version = n;
      } else {
        const res = await m.update(
          StreamRow,
          { streamId, version: expected.toString() },
          { version: (expected + n).toString() },
        );
        if (res.affected !== 1) throw new Error(`wrong expected version on ${streamId}`);
        version = expected + n;
      }
      await m.insert(
        EventRow,
        events.map((e, i) => ({
          streamId,
          streamPosition: (version - n + BigInt(i) + 1n).toString(),
          eventType: e.type,
          data: e.data,
          metadata: e.metadata ?? {},
          messageId: e.messageId!,
        })),
      );
      return version;
    });
  }

  close(): Promise<void> {
    return this.ds.destroy();
  }
}
