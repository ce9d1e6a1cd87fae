import { readFixture } from '../../test/read-fixture';
import { sampleBoard, samplePlan, smallBoard } from '../fixtures';
import { buildPlan, modifyPlan, postLaunchedVm, preLaunchedRtvm, serviceVm } from '../testing/builders';
import { exportScenarioXml, parseScenarioXml, toScenarioXml } from './scenario-xml';
import type { PartitionPlan } from '../scenario/plan';

function roundTrip(plan: PartitionPlan): PartitionPlan {
  const parsed = parseScenarioXml(exportScenarioXml(plan));
  if (!parsed.ok) throw new Error(parsed.errors.join('\n'));
  return parsed.value;
}

/** A plan that sets every field the model has, so the round trip covers all element names. */
function everythingPlan(): PartitionPlan {
  return buildPlan(
    [
      preLaunchedRtvm(0, 'RT_VM0', [3, 7], {
        ownPcpu: true,
        memory: { sizeMb: 1024, hpaRegions: [{ startHpa: '0x100000000', sizeHpaMb: 512 }] },
        consoleVuart: 'COM Port 2',
        osConfig: {
          kernType: 'KERNEL_ELF',
          kernMod: 'Zephyr',
          ramdiskMod: 'rootfs',
          bootargs: 'a=1 b="x & y"',
        },
        pciDevs: [{ bdf: '01:00.0' }, { bdf: '03:00.0', description: 'CANbus: PEAK <FD>' }],
        mmioResources: { tpm2: true, p2sb: false },
        priority: 'PRIO_HIGH',
        companionVmid: 2,
      }),
      serviceVm(1, 'Service_VM', {
        cpuAffinity: [{ pcpuId: 0 }, { pcpuId: 4 }],
        nestedVirtualization: true,
        lapicPassthrough: true,
      }),
      postLaunchedVm(2, 'HMI', [1, 2], {
        virtualCatSupport: true,
        virtioDevices: {
          console: [
            { useType: 'Virtio serial port', backendType: 'file', outputFilePath: '/var/log/hmi.log' },
          ],
          network: [{ interfaceName: 'tap0' }],
          input: [{ backendDeviceFile: '/dev/input/event0', id: 'kbd' }],
          block: ['/data/a.img', '/data/b.img'],
          vsock: [3, 4],
          gpu: {
            displayType: 'Window',
            displays: [{ windowResolution: '1920x1080', horizontalOffset: 0, verticalOffset: 0 }],
          },
        },
      }),
      postLaunchedVm(3, 'Kiosk', [5], {
        virtioDevices: {
          gpu: { displayType: 'Full screen', displays: [{ monitorId: 0 }, { monitorId: 1 }] },
        },
      }),
    ],
    {
      board: 'tgl-i7-1185gre',
      scenario: 'everything',
      hv: {
        buildType: 'debug',
        serialConsole: '/dev/ttyS0',
        scheduler: 'SCHED_PRIO',
        rdt: { rdtEnabled: true, cdpEnabled: false, vcatEnabled: true },
        maxVmNum: 8,
        ssramEnabled: true,
        hiddenPdevs: ['00:1f.1'],
        cacheAllocations: [
          {
            cacheId: 0,
            cacheLevel: 3,
            policies: [
              { vm: 'RT_VM0', vcpu: 0, type: 'Unified', closMask: '0x700' },
              { vm: 'HMI', vcpu: 1, type: 'Unified', closMask: '0x00F' },
            ],
          },
        ],
        vuartConnections: [
          {
            name: 'ctl',
            type: 'pci',
            endpoints: [
              { vmName: 'Service_VM', ioPort: '0x9200', vbdf: '00:10.0' },
              { vmName: 'HMI', ioPort: '0x9200', vbdf: '00:10.0' },
            ],
          },
        ],
        ivshmemRegions: [
          {
            name: 'dm_shm',
            providedBy: 'Device Model',
            sizeMb: 64,
            vms: [
              { vmName: 'Service_VM', vbdf: '00:08.0' },
              { vmName: 'HMI', vbdf: '00:08.0' },
            ],
          },
        ],
      },
    },
  );
}

describe('scenario XML', () => {
  it('round-trips the sample plan: export then parse gives the same plan', () => {
    expect(roundTrip(samplePlan())).toEqual(samplePlan());
  });

  it('round-trips a plan that uses every modelled element', () => {
    const plan = everythingPlan();
    expect(roundTrip(plan)).toEqual(plan);
  });

  it('round-trips a minimal shared plan', () => {
    const plan = buildPlan([serviceVm(0), postLaunchedVm(1, 'UOS', [1])]);
    expect(roundTrip(plan)).toEqual(plan);
  });

  it('writes the sample plan exactly as the fixture scenario', () => {
    expect(exportScenarioXml(samplePlan())).toBe(readFixture('hybrid_rt.scenario.xml'));
  });

  it('parses the fixture scenario into the sample plan', () => {
    expect(parseScenarioXml(readFixture('hybrid_rt.scenario.xml'))).toEqual({
      ok: true,
      value: samplePlan(),
      kept: [],
    });
  });

  it("uses the configurator's element names", () => {
    const xml = exportScenarioXml(samplePlan());
    expect(xml).toMatch(
      /^<\?xml version="1.0" encoding="utf-8"\?>\n<acrn-config board="tgl-i7-1185gre" scenario="hybrid_rt">/,
    );
    for (const path of [
      '<hv>',
      '<FEATURES>',
      '<SCHEDULER>SCHED_BVT</SCHEDULER>',
      '<RDT_ENABLED>y</RDT_ENABLED>',
      '<CAPACITIES>',
      '<MAX_VM_NUM>16</MAX_VM_NUM>',
      '<CACHE_REGION>',
      '<CACHE_ALLOCATION>',
      '<CACHE_ID>0x0</CACHE_ID>',
      '<CACHE_LEVEL>3</CACHE_LEVEL>',
      '<CLOS_MASK>0x700</CLOS_MASK>',
      '<vm id="0">',
      '<load_order>PRE_LAUNCHED_VM</load_order>',
      '<vm_type>RTVM</vm_type>',
      '<pcpu_id>3</pcpu_id>',
      '<real_time_vcpu>y</real_time_vcpu>',
      '<lapic_passthrough>y</lapic_passthrough>',
      '<vuart_connection>',
    ]) {
      expect(xml).toContain(path);
    }
  });

  it('reads the ACRN 2.x cpu_affinity form (pcpu_id directly under cpu_affinity)', () => {
    const xml = `<acrn-config board="b" scenario="s">
      <hv><FEATURES><SCHEDULER>SCHED_NOOP</SCHEDULER></FEATURES></hv>
      <vm id="0"><load_order>PRE_LAUNCHED_VM</load_order><name>VM0</name>
        <cpu_affinity><pcpu_id>1</pcpu_id><pcpu_id>2</pcpu_id></cpu_affinity></vm>
    </acrn-config>`;
    const parsed = parseScenarioXml(xml);
    expect(parsed.ok && parsed.value.vms[0].cpuAffinity).toEqual([
      { pcpuId: 1, realTimeVcpu: false },
      { pcpuId: 2, realTimeVcpu: false },
    ]);
    expect(parsed.ok && parsed.value.kind).toBe('partitioned');
    expect(parsed.ok && parsed.value.hv.scheduler).toBe('SCHED_NOOP');
  });

  it('reports malformed XML with its line', () => {
    expect(parseScenarioXml('<acrn-config>\n<hv>\n</acrn-config>')).toEqual({
      ok: false,
      code: 'XML_MALFORMED',
      errors: [expect.stringMatching(/^malformed XML at line \d+: /)],
    });
  });

  it('reports values outside the schema with their path', () => {
    const xml = exportScenarioXml(samplePlan())
      .replace('<vm_type>RTVM</vm_type>', '<vm_type>HARD_RT</vm_type>')
      .replace('<pcpu_id>7</pcpu_id>', '<pcpu_id>seven</pcpu_id>');
    const parsed = parseScenarioXml(xml);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) {
      expect(parsed.errors).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/^vms\.0\.vmType: /),
          expect.stringMatching(/^vms\.0\.cpuAffinity\.1\.pcpuId: /),
        ]),
      );
    }
  });

  it('refuses a different root element', () => {
    expect(parseScenarioXml('<scenario/>')).toEqual({
      ok: false,
      code: 'XML_WRONG_ROOT',
      errors: ['the root element must be <acrn-config>, not <scenario>'],
    });
  });

  describe('toScenarioXml', () => {
    it('exports a plan that validates', () => {
      const result = toScenarioXml(samplePlan(), sampleBoard());
      expect(result).toEqual({ ok: true, xml: exportScenarioXml(samplePlan()), warnings: [] });
    });

    it('refuses a plan with errors and returns them', () => {
      const result = toScenarioXml(samplePlan(), smallBoard());
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.errors.every((v) => v.severity === 'error')).toBe(true);
    });

    it('exports despite warnings and hands them back', () => {
      const plan = modifyPlan(samplePlan(), (p) => (p.kind = 'shared'));
      const result = toScenarioXml(plan, sampleBoard());
      expect(result.ok && result.warnings.map((w) => w.code)).toEqual(['SCENARIO_KIND_MISMATCH']);
    });
  });
});
