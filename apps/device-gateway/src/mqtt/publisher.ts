import type { OutboundMessage } from '@hyperfleet/contracts';

/** How the gateway sends to devices (replies, desired state, commands), whatever the broker. */
export interface DevicePublisher {
  publish(message: OutboundMessage): Promise<void>;
}

export const DEVICE_PUBLISHER = Symbol('DevicePublisher');
