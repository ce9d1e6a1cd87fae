import {
  EXAMPLE_DEVICE_ID,
  decodeDeviceMessage,
  deviceTopic,
  exampleDeviceMessage,
  type DecodedDeviceMessage,
} from '@hyperfleet/contracts';
import { effectOf } from './effects';

const OPTIONS = { defaultLatencyBudgetUs: 50 };

function decode(kind: 'telemetry' | 'health', text: string): DecodedDeviceMessage {
  const d = decodeDeviceMessage(deviceTopic(EXAMPLE_DEVICE_ID, kind), text, {
    authenticatedDeviceId: EXAMPLE_DEVICE_ID,
  });
  if (!d.ok) throw new Error(`${d.code}: ${d.message}`);
  return d;
}

describe('telemetry-channel records', () => {
  // The same message written in different ways: the record's JSON must always parse to its event.
  const writings = (kind: 'telemetry' | 'health'): [string, string][] => {
    const m = exampleDeviceMessage(kind);
    const { payload, ...envelope } = m;
    return [
      ['compact, payload last', JSON.stringify(m)],
      ['indented, payload first', JSON.stringify({ payload, ...envelope }, null, 2)],
      ['tabs and CRLF', JSON.stringify(m, null, '\t').replace(/\n/g, '\r\n')],
      ['an escaped key', JSON.stringify(m).replace('"payload"', '"p\\u0061yload"')],
      ['the payload repeated (the last counts)', `{"payload":{"x":1},${JSON.stringify(m).slice(1)}`],
      [
        'numbers written long',
        JSON.stringify(m).replace(/"cpuPercent":(\d+(?:\.\d+)?)/g, '"cpuPercent":$1e0'),
      ],
    ];
  };

  it.each(['telemetry', 'health'] as const)('%s: the spliced JSON parses to the record', (kind) => {
    for (const [how, text] of writings(kind)) {
      const decoded = decode(kind, text);
      const [record] = effectOf(decoded, OPTIONS).telemetry;
      expect({ how, spliced: record.json !== undefined }).toEqual({ how, spliced: true });
      expect(JSON.parse(record.json!)).toEqual(record.event);
      expect(record.event.data).toMatchObject({ epoch: decoded.message.epoch, seq: decoded.message.seq });
    }
  });

  it('a message zod rebuilt (a field stripped) is serialised from the event', () => {
    const m = exampleDeviceMessage('telemetry');
    const decoded = decode('telemetry', JSON.stringify({ ...m, payload: { ...m.payload, note: 'x' } }));
    expect(decoded.text).toBeUndefined();
    const [record] = effectOf(decoded, OPTIONS).telemetry;
    expect(record.json).toBeUndefined();
    expect(record.event.data).not.toHaveProperty('note');
  });
});

describe('VM effects', () => {
  const decodeAny = (kind: 'birth' | 'vm-state', message: object): DecodedDeviceMessage => {
    const d = decodeDeviceMessage(deviceTopic(EXAMPLE_DEVICE_ID, kind), JSON.stringify(message), {
      authenticatedDeviceId: EXAMPLE_DEVICE_ID,
    });
    if (!d.ok) throw new Error(`${d.code}: ${d.message}`);
    return d;
  };

  it('a birth registers every VM that is not an RTVM, and the Service VM, as Vm', () => {
    const birth = exampleDeviceMessage('birth');
    const effect = effectOf(decodeAny('birth', birth), OPTIONS);
    const rt = birth.payload.vms.filter((v) => v.vmType === 'RTVM').map((v) => v.name);
    const other = birth.payload.vms.filter((v) => v.vmType !== 'RTVM').map((v) => v.name);
    expect(effect.rtVms?.map((v) => v.vmName)).toEqual(rt);
    expect(effect.vms?.map((c) => [c.props.vmName, c.props.loadOrder])).toEqual([
      [birth.payload.serviceVm.name, 'SERVICE_VM'],
      ...other.map((n) => [n, expect.any(String)]),
    ]);
  });

  it('a vm-state without observedAt is as old as its message', () => {
    const m = exampleDeviceMessage('vm-state');
    const { observedAt: _dropped, ...payload } = m.payload;
    const effect = effectOf(decodeAny('vm-state', { ...m, payload }), OPTIONS);
    expect(effect.vmState?.rtVm.props).toMatchObject({ at: m.sentAt });
    expect(effect.vmState?.vm.props).toMatchObject({ at: m.sentAt, vmName: m.payload.vmName });
  });
});
