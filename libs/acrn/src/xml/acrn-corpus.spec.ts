import { acrnBoards, acrnSamples, ACRN_SCHEMA, readTestData } from '../../test/acrn-samples';
import { readRepoFile } from '../../test/read-fixture';
import type { Board } from '../board/board';
import { VM_ELEMENT_KINDS } from '../scenario/vm-elements';
import { ACRN_CHECKS, RULES, type AcrnCheck, type RuleCode } from '../validation/rules';
import { validatePartitionPlan } from '../validation/validate';
import { parseBoardXml } from './board-xml';
import { exportScenarioXml, importScenarioXml } from './scenario-xml';
// eslint-disable-next-line no-restricted-imports
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * ACRN v3.3's own sample data against ACRN's own validator: expected-verdicts.json is what
 * test-data/validate.py (ACRN's validator.py under python3-xmlschema) says about each sample.
 */

interface Verdict {
  board: string;
  scenario: string;
  syntax: Array<{ path: string; message: string }>;
  checks: Array<{ check: string; severity: 'error' | 'warning'; message: string; paths: string[] }>;
}

const verdicts = JSON.parse(readTestData('acrn-v3.3/expected-verdicts.json')) as Verdict[];
const samples = acrnSamples();
const boards = new Map<string, Board>(
  acrnBoards().map(({ board, xml }) => {
    const parsed = parseBoardXml(xml);
    if (!parsed.ok) throw new Error(`board ${board}: ${parsed.errors.join('; ')}`);
    return [board, parsed.value];
  }),
);

/** config.xsd (syntax) findings and the rule that reports the same thing. */
function syntaxCode(message: string): RuleCode | `UNMAPPED: ${string}` {
  if (/vmNameUnique/.test(message)) return 'VM_NAME_DUPLICATE';
  if (/Unexpected child with tag/.test(message)) return 'VM_ELEMENT_NOT_APPLICABLE';
  return `UNMAPPED: ${message}`;
}

const MIRRORED = new Set<string>([
  ...Object.values(ACRN_CHECKS).flat(),
  'VM_NAME_DUPLICATE',
  'VM_ELEMENT_NOT_APPLICABLE',
]);

/**
 * Findings of rules ACRN's validator does not have (build checks, Hyperfleet additions) on a sample.
 * Each is listed here so a new one shows up in review.
 */
const EXTRA: Record<string, string[]> = {
  // The vUART connection names POST_RT_VM1, but the RT VM of this sample is (also) named POST_STD_VM1, the
  // duplicate ACRN rejects; ACRN's checks do not look up endpoint names, Hyperfleet's do.
  'whl-ipc-i5/shared_launch_1user_vm_hardrt.xml': ['UNKNOWN_VM_REFERENCE'],
};

describe("ACRN v3.3's sample data", () => {
  it('has the 23 scenario files and 7 boards of misc/config_tools/data', () => {
    expect(samples).toHaveLength(23);
    expect(boards.size).toBe(7);
    expect(verdicts.map((v) => v.scenario)).toEqual(samples.map((s) => s.id));
  });

  describe.each(samples.map((s) => [s.id, s] as const))('%s', (id, sample) => {
    const verdict = verdicts.find((v) => v.scenario === id)!;
    const imported = importScenarioXml(sample.xml, { board: sample.board });

    it('imports', () => {
      expect(imported.ok ? [] : imported.errors).toEqual([]);
    });

    it("gets ACRN's verdict, check by check, errors and warnings", () => {
      if (!imported.ok) throw new Error('not imported');
      const board = boards.get(sample.board)!;
      const found = validatePartitionPlan(imported.value, board);
      const mirrored = found.filter((v) => MIRRORED.has(v.code));

      const acrnChecks = verdict.checks.map((c) => c.check as AcrnCheck);
      const expectedCodes = new Set<string>([
        ...acrnChecks.flatMap((c) => ACRN_CHECKS[c] ?? [`UNMAPPED: ${c}`]),
        ...verdict.syntax.map((s) => syntaxCode(s.message)),
      ]);
      // Every ACRN finding is reported by one of its rules, with ACRN's severity…
      for (const check of acrnChecks) {
        const codes: readonly string[] = ACRN_CHECKS[check];
        const ours = mirrored.filter((v) => codes.includes(v.code));
        expect({ check, reported: ours.length > 0 }).toEqual({ check, reported: true });
        const severity = verdict.checks.find((c) => c.check === check)!.severity;
        for (const v of ours) expect({ check, severity: v.severity }).toEqual({ check, severity });
      }
      for (const s of verdict.syntax) {
        const code = syntaxCode(s.message);
        expect(found.filter((v) => v.code === code && v.severity === 'error').map((v) => v.code)).toContain(
          code,
        );
      }
      // …and nothing ACRN's checks would have said is reported where ACRN is silent.
      expect(mirrored.map((v) => v.code).filter((c) => !expectedCodes.has(c))).toEqual([]);
      // Rules ACRN's validator does not have stay quiet, except where listed.
      expect(found.filter((v) => !MIRRORED.has(v.code)).map((v) => v.code)).toEqual(EXTRA[id] ?? []);
      // Hence the same overall verdict.
      const acrnRejects = verdict.syntax.length > 0 || verdict.checks.some((c) => c.severity === 'error');
      expect(found.some((v) => v.severity === 'error')).toBe(acrnRejects);
    });

    it('round-trips import → export → import to the same plan, keeping what the model does not read', () => {
      if (!imported.ok) throw new Error('not imported');
      const xml = exportScenarioXml(imported.value);
      const again = importScenarioXml(xml);
      expect(again).toEqual(imported);
      expect(exportScenarioXml(again.ok ? again.value : imported.value)).toBe(xml);
      expect(imported.kept.length).toBeGreaterThan(0);
      for (const k of imported.kept) expect(xml).toContain(k.xml.replace(/>.*$/s, '>'));
    });
  });

  it('every board XML imports', () => {
    expect([...boards.keys()]).toEqual([
      'adl-asrock',
      'cfl-k700-i7',
      'generic_board',
      'nuc11tnbi5',
      'qemu',
      'tgl-vecow-spc-7100-Corei7',
      'whl-ipc-i5',
    ]);
  });

  it('keeps what the model does not read and lists it (hv/MEMORY, MISC_CFG, log levels, os_type, vbootloader, epc_section)', () => {
    const sample = samples.find((s) => s.id === 'generic_board/hybrid.xml')!;
    const imported = importScenarioXml(sample.xml);
    if (!imported.ok) throw new Error(imported.errors.join('\n'));
    const paths = imported.kept.map((k) => k.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        '/acrn-config/hv/MEMORY',
        '/acrn-config/hv/MISC_CFG',
        '/acrn-config/hv/DEBUG_OPTIONS/MEM_LOGLEVEL',
        '/acrn-config/vm[@id=0]/epc_section',
        '/acrn-config/vm[@id=2]/os_type',
        '/acrn-config/vm[@id=2]/vbootloader',
      ]),
    );
    const xml = exportScenarioXml(imported.value);
    expect(xml).toMatch(/<MEMORY>\s*<STACK_SIZE>0x2000<\/STACK_SIZE>/);
  });
});

describe("ACRN's checks/*.xsd", () => {
  const checksDir = join(ACRN_SCHEMA, 'checks');
  const asserts = readdirSync(checksDir)
    .filter((f) => f.endsWith('.xsd'))
    .sort()
    .flatMap((file) =>
      [...readFileSync(join(checksDir, file), 'utf8').matchAll(/<xs:assert\s[\s\S]*?<\/xs:assert>/g)].map(
        (m, i) => ({
          check: `${file}#${i + 1}`,
          severity: /acrn:severity="(\w+)"/.exec(m[0])?.[1],
        }),
      ),
    );

  it('each assert maps to rules of the same severity (ACRN_CHECKS)', () => {
    expect(asserts.map((a) => a.check)).toEqual(Object.keys(ACRN_CHECKS).sort());
    for (const { check, severity } of asserts) {
      for (const code of ACRN_CHECKS[check as AcrnCheck]) {
        expect({ check, code, severity: RULES[code].severity }).toEqual({ check, code, severity });
      }
    }
  });

  it('each assert has a row in docs/acrn-rules.md naming its file', () => {
    const doc = readRepoFile('docs/acrn-rules.md');
    expect(asserts.map((a) => a.check).filter((c) => !doc.includes(`\`${c}\``))).toEqual([]);
  });
});

describe("config.xsd's acrn:applicable-vms", () => {
  it('is what VM_ELEMENT_KINDS says for every modelled VM element', () => {
    const xsd = readFileSync(join(ACRN_SCHEMA, 'config.xsd'), 'utf8');
    const vmType = /<xs:complexType name="VMConfigType">([\s\S]*?)\n<\/xs:complexType>/.exec(xsd)![1];
    const applicable = new Map(
      [
        ...vmType.matchAll(
          /<xs:element name="(\w+)"[^>]*>\s*<xs:annotation[^>]*?acrn:applicable-vms="([^"]*)"/g,
        ),
      ].map((m) => [
        m[1],
        m[2]
          .split(',')
          .map((k) => k.trim())
          .sort(),
      ]),
    );
    for (const [element, kinds] of Object.entries(VM_ELEMENT_KINDS)) {
      expect({ element, kinds: applicable.get(element) }).toEqual({ element, kinds: [...kinds].sort() });
    }
  });
});
