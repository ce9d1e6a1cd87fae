import { readFixture } from '../../test/read-fixture';
import type { Board } from '../board/board';
import { sampleBoard } from '../fixtures';
import { parseBoardXml } from './board-xml';

function parsed(xml: string): Board {
  const result = parseBoardXml(xml);
  if (!result.ok) throw new Error(result.errors.join('\n'));
  return result.value;
}

describe('board XML', () => {
  const board = parsed(readFixture('tgl-i7-1185gre.board.xml'));

  it('reads the fixture into exactly sampleBoard()', () => {
    expect(board).toEqual(sampleBoard());
  });

  it('reads 8 pCPUs with APIC ids, cores and SMT siblings', () => {
    expect(board.name).toBe('tgl-i7-1185gre');
    expect(board.cpuModel).toBe('11th Gen Intel(R) Core(TM) i7-1185GRE @ 2.80GHz');
    expect(board.pcpus.map((p) => [p.id, p.apicId, p.coreId, p.threadSiblings])).toEqual([
      [0, 0, 0, [4]],
      [1, 2, 1, [5]],
      [2, 4, 2, [6]],
      [3, 6, 3, [7]],
      [4, 1, 0, [0]],
      [5, 3, 1, [1]],
      [6, 5, 2, [2]],
      [7, 7, 3, [3]],
    ]);
  });

  it('reads the L2 per core and the shared L3, leaving L1 out', () => {
    expect(board.caches.map((c) => [c.level, c.id, c.type, c.ways, c.sizeBytes, c.pcpus])).toEqual([
      [2, 0, 'unified', 20, 1310720, [0, 4]],
      [2, 1, 'unified', 20, 1310720, [1, 5]],
      [2, 2, 'unified', 20, 1310720, [2, 6]],
      [2, 3, 'unified', 20, 1310720, [3, 7]],
      [3, 0, 'unified', 12, 12582912, [0, 1, 2, 3, 4, 5, 6, 7]],
    ]);
  });

  it('reads CAT, CDP and Software SRAM of the L3', () => {
    const l3 = board.caches.find((c) => c.level === 3)!;
    expect(l3.cat).toEqual({ closNumber: 4, capacityMaskLength: 12, cdp: true });
    expect(l3.softwareSram).toEqual({ start: 0x40080000, end: 0x4017ffff, waymask: 0x800 });
    expect(board.caches.filter((c) => c.level === 2).map((c) => c.cat)).toEqual(
      Array(4).fill({ closNumber: 8, capacityMaskLength: 20, cdp: true }),
    );
  });

  it('sums the System RAM ranges and skips RTCT regions', () => {
    expect(board.memory.ranges).toHaveLength(3);
    expect(board.memory.totalBytes).toBe(15972802560);
  });

  it('lists PCI devices with kind and BDF, walking bridges to their secondary bus', () => {
    expect(board.devices.filter((d) => d.kind !== 'other').map((d) => [d.kind, d.bdf])).toEqual([
      ['storage', '00:17.0'],
      ['nic', '01:00.0'],
      ['can', '03:00.0'],
      ['nic', '04:00.0'],
      ['storage', '02:00.0'],
    ]);
  });

  it('maps core_type Core/Atom to performance/efficiency and finds CDP nested in CAT', () => {
    const xml = `<acrn-config board="adl">
      <processors>
        <die id="0x0">
          <core id="0x0"><thread id="0x0"><cpu_id>0</cpu_id><apic_id>0x0</apic_id><core_type>Core</core_type></thread></core>
          <module id="0x4"><core id="0x20"><thread id="0x40"><cpu_id>1</cpu_id><apic_id>0x40</apic_id><core_type>Atom</core_type></thread></core></module>
        </die>
      </processors>
      <caches>
        <cache level="3" id="0x0" type="3">
          <cache_size>25165824</cache_size><ways>12</ways>
          <processors><processor>0x0</processor><processor>0x40</processor></processors>
          <capability id="CAT"><capacity_mask_length>12</capacity_mask_length><clos_number>16</clos_number><capability id="CDP"/></capability>
        </cache>
      </caches>
      <memory><range start="0x100000000" end="0x1ffffffff" size="4294967296"/></memory>
      <PCI_DEVICE>
        00:1f.6 Ethernet controller: Intel Corporation Ethernet Connection (17) I219-LM (rev 11)
        00:17.0 SATA controller: Intel Corporation Alder Lake-S PCH SATA Controller [AHCI Mode] (rev 11)
      </PCI_DEVICE>
    </acrn-config>`;
    const adl = parsed(xml);
    expect(adl.pcpus.map((p) => [p.id, p.coreType, p.coreId])).toEqual([
      [0, 'performance', 0],
      [1, 'efficiency', 0x20],
    ]);
    expect(adl.caches[0].cat).toEqual({ closNumber: 16, capacityMaskLength: 12, cdp: true });
    expect(adl.devices).toEqual([
      {
        kind: 'nic',
        name: 'Ethernet controller: Intel Corporation Ethernet Connection (17) I219-LM',
        bdf: '00:1f.6',
      },
      {
        kind: 'storage',
        name: 'SATA controller: Intel Corporation Alder Lake-S PCH SATA Controller [AHCI Mode]',
        bdf: '00:17.0',
      },
    ]);
  });

  it('explains what is missing in a broken board', () => {
    const result = parseBoardXml('<acrn-config board=""><processors/><memory/></acrn-config>');
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.errors).toEqual(
        expect.arrayContaining([expect.stringMatching(/^name: /), expect.stringMatching(/^pcpus: /)]),
      );
    }
  });

  it('reports malformed XML', () => {
    expect(parseBoardXml('<acrn-config><caches></acrn-config>').ok).toBe(false);
  });
});
