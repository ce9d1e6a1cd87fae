import { EventSourcedAggregate } from '../shared/aggregate';
import { releaseDecider, type ReleaseState } from './release.decider';
import { releaseStreamId, type ReleaseEvent } from './release.events';

/** The Release aggregate root (stream `release-<id>`). */
export class ReleaseAggregate extends EventSourcedAggregate<ReleaseState, ReleaseEvent> {
  constructor(readonly releaseId: string) {
    super(releaseStreamId(releaseId), releaseDecider);
  }
}
