import { parseBoard, type Board, type CacheType, type CoreType, type DeviceKind } from '../board/board';
import type { ParseResult } from '../parse-result';
import {
  allChildren,
  attr,
  child,
  childText,
  children,
  elements,
  int,
  parseXml,
  text,
  type XmlElement,
} from './xml';

/**
 * Reads the board XML the ACRN board inspector writes (misc/config_tools/board_inspector/extractors/):
 * processors/…/thread, caches/cache with CAT/CDP/Software SRAM capabilities, memory/range and the PCI tree.
 */

const CORE_TYPE: Record<string, CoreType> = { Core: 'performance', Atom: 'efficiency' };
const CACHE_TYPE: Record<string, CacheType> = { '1': 'data', '2': 'instruction', '3': 'unified' };

interface ThreadFound {
  cpuId: unknown;
  apicId: unknown;
  coreId: unknown;
  coreKey: string;
  coreType: CoreType;
}

/** Topology nests thread in core in module/tile/die: walk it and remember the enclosing core. */
function collectThreads(
  node: XmlElement,
  path: string,
  coreKey: string,
  coreId: unknown,
  out: ThreadFound[],
): void {
  for (const { tag, element } of allChildren(node)) {
    if (tag === 'model') continue;
    const here = `${path}/${tag}[${attr(element, 'id') ?? ''}]`;
    if (tag === 'thread') {
      out.push({
        cpuId: int(childText(element, 'cpu_id')),
        apicId: int(childText(element, 'apic_id')),
        coreId,
        coreKey,
        coreType: CORE_TYPE[childText(element, 'core_type') ?? ''] ?? 'unknown',
      });
    } else if (tag === 'core') {
      collectThreads(element, here, here, int(attr(element, 'id')), out);
    } else {
      collectThreads(element, here, coreKey, coreId, out);
    }
  }
}

function deviceKind(classCode: string | undefined, description: string): DeviceKind {
  const code = classCode ? Number.parseInt(classCode, 16) : Number.NaN;
  if (!Number.isNaN(code)) {
    if (code >> 16 === 0x02) return 'nic';
    if (code >> 8 === 0x0c09) return 'can';
    if (code >> 16 === 0x01) return 'storage';
    return 'other';
  }
  if (/ethernet|network controller/i.test(description)) return 'nic';
  if (/\bcan\s?bus\b|\bcan controller\b/i.test(description)) return 'can';
  if (/sata|nvme|non-volatile|storage|raid|scsi/i.test(description)) return 'storage';
  return 'other';
}

const hex2 = (n: number) => n.toString(16).padStart(2, '0');

interface DeviceFound {
  kind: DeviceKind;
  name: string;
  bdf: string;
  classCode?: string;
}

/**
 * 60-pci.py writes `bus[@type='pci']/@address` as the bus number and `device/@address` as
 * (device << 16 | function); a bridge holds its secondary bus. The root bus element is itself 00:00.0.
 */
function collectPciDevices(node: XmlElement, bus: number | undefined, out: DeviceFound[]): void {
  for (const { tag, element } of allChildren(node)) {
    if (tag === 'bus' && attr(element, 'type') === 'pci') {
      const number = int(attr(element, 'address'));
      const busNumber = typeof number === 'number' ? number : 0;
      if (bus === undefined && childText(element, 'class') !== undefined) {
        out.push(pciDevice(element, `${hex2(busNumber)}:00.0`));
      }
      collectPciDevices(element, busNumber, out);
    } else if (tag === 'device' && bus !== undefined) {
      const address = int(attr(element, 'address'));
      if (typeof address === 'number' && childText(element, 'class') !== undefined) {
        out.push(pciDevice(element, `${hex2(bus)}:${hex2(address >> 16)}.${address & 0x7}`));
      }
      collectPciDevices(element, bus, out);
    } else {
      collectPciDevices(element, bus, out);
    }
  }
}

function pciDevice(element: XmlElement, bdf: string): DeviceFound {
  const classCode = childText(element, 'class');
  const name = attr(element, 'description') ?? '';
  return { kind: deviceKind(classCode, name), name, bdf, ...(classCode ? { classCode } : {}) };
}

/** Older board XMLs only have the lspci text in <PCI_DEVICE>. */
function devicesFromLspci(textBlock: string | undefined): DeviceFound[] {
  if (!textBlock) return [];
  return textBlock
    .split('\n')
    .map((line) =>
      /^\s*([0-9a-fA-F]{2}:[0-1][0-9a-fA-F]\.[0-7])\s+(.+?)(?:\s+\(rev [0-9a-fA-F]+\))?\s*$/.exec(line),
    )
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ kind: deviceKind(undefined, m[2]), name: m[2], bdf: m[1].toLowerCase() }));
}

/** Parses board XML into the board model; errors are sentences naming the path of each problem. */
export function parseBoardXml(xml: string): ParseResult<Board> {
  try {
    return readBoard(xml);
  } catch (e) {
    // Nothing below should throw; if it does, the caller still gets a result, not a crash.
    return { ok: false, code: 'BOARD_INVALID', errors: [`the board XML could not be read: ${String(e)}`] };
  }
}

function readBoard(xml: string): ParseResult<Board> {
  const parsed = parseXml(xml);
  if (!parsed.ok) return { ok: false, code: parsed.code, errors: [parsed.error] };
  if (parsed.document.name !== 'acrn-config') {
    return {
      ok: false,
      code: 'XML_WRONG_ROOT',
      errors: [`the root element must be <acrn-config>, not <${parsed.document.name}>`],
    };
  }
  const root = child(parsed.root, 'acrn-config');

  const processors = elements(root, 'processors')[0] ?? {};
  const threads: ThreadFound[] = [];
  collectThreads(processors, '', '', undefined, threads);
  const cpuByApic = new Map(threads.map((t) => [t.apicId, t.cpuId]));
  const pcpus = threads
    .map((t) => ({
      id: t.cpuId,
      apicId: t.apicId,
      coreId: t.coreId ?? t.cpuId,
      threadSiblings: threads
        .filter((o) => o !== t && t.coreKey !== '' && o.coreKey === t.coreKey)
        .map((o) => o.cpuId)
        .sort(byNumber),
      coreType: t.coreType,
    }))
    .sort((a, b) => byNumber(a.id, b.id));

  const caches = elements(child(root, 'caches'), 'cache')
    .filter((c) => attr(c, 'level') === '2' || attr(c, 'level') === '3')
    .map((c) => {
      const capabilities = elements(c, 'capability');
      const cat = capabilities.find((cap) => attr(cap, 'id') === 'CAT');
      // The inspector writes CDP next to CAT, or inside it when the user added LLC CAT by hand.
      const cdp =
        capabilities.some((cap) => attr(cap, 'id') === 'CDP') ||
        elements(cat, 'capability').some((cap) => attr(cap, 'id') === 'CDP');
      const ssram = capabilities.find((cap) => attr(cap, 'id') === 'Software SRAM');
      const waymask = ssram ? childText(ssram, 'waymask') : undefined;
      return {
        level: int(attr(c, 'level')),
        id: int(attr(c, 'id')),
        type: CACHE_TYPE[attr(c, 'type') ?? ''] ?? attr(c, 'type'),
        ways: int(childText(c, 'ways')),
        sizeBytes: int(childText(c, 'cache_size')),
        pcpus: children(child(c, 'processors'), 'processor')
          .map((p) => cpuByApic.get(int(text(p))))
          .filter((id) => id !== undefined)
          .sort(byNumber),
        ...(cat
          ? {
              cat: {
                closNumber: int(childText(cat, 'clos_number')),
                capacityMaskLength: int(childText(cat, 'capacity_mask_length')),
                cdp,
              },
            }
          : {}),
        ...(ssram
          ? {
              softwareSram: {
                start: int(childText(ssram, 'start')),
                end: int(childText(ssram, 'end')),
                ...(waymask !== undefined ? { waymask: int(waymask) } : {}),
              },
            }
          : {}),
      };
    });

  // Ranges with an id are RTCT regions (CRL binary, TCC error log), not System RAM.
  const ranges = elements(child(root, 'memory'), 'range')
    .filter((r) => attr(r, 'id') === undefined)
    .map((r) => ({
      start: int(attr(r, 'start')),
      end: int(attr(r, 'end')),
      sizeBytes: int(attr(r, 'size')),
    }));
  const totalBytes = ranges.reduce((sum, r) => sum + (typeof r.sizeBytes === 'number' ? r.sizeBytes : 0), 0);

  const devices: DeviceFound[] = [];
  collectPciDevices(elements(root, 'devices')[0] ?? {}, undefined, devices);
  const cpuModel = attr(elements(processors, 'model')[0], 'description');

  const board = parseBoard({
    name: attr(root, 'board') ?? '',
    ...(cpuModel ? { cpuModel } : {}),
    pcpus,
    caches,
    memory: { totalBytes, ranges },
    devices: devices.length > 0 ? devices : devicesFromLspci(childText(root, 'PCI_DEVICE')),
  });
  return board.ok ? board : { ...board, code: 'BOARD_INVALID' };
}

function byNumber(a: unknown, b: unknown): number {
  return Number(a) - Number(b);
}
