import {
  decodeDeviceMessage,
  encodeDeviceMessage,
  type DeviceMessageInputMap,
  type DeviceMessageKind,
} from '@hyperfleet/contracts';
import type { TransportRecord } from '@hyperfleet/messaging';
import { effectOf } from '../../../apps/device-gateway/src/ingress/effects';

/**
 * The telemetry-channel records the gateway publishes for a device message, made by its own code
 * path (encode, decode as it receives, effectOf), so the read models' tests consume what it sends.
 */
export function asGateway<K extends DeviceMessageKind>(
  deviceId: string,
  kind: K,
  message: DeviceMessageInputMap[K],
): TransportRecord[] {
  const out = encodeDeviceMessage(deviceId, kind, message);
  const decoded = decodeDeviceMessage(out.topic, out.payload, { authenticatedDeviceId: deviceId });
  if (!decoded.ok) throw new Error(decoded.message);
  return [...effectOf(decoded, { defaultLatencyBudgetUs: 50 }).telemetry];
}
