import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { acrnBoards, acrnSamples, readTestData } from '../../test/acrn-samples';
import { findAcrnPython, runAcrnValidator, type AcrnVerdict } from '../../test/acrn-validator';
import { randomValidPlans } from '../../test/random-plan';
import type { Board } from '../board/board';
import type { PartitionPlan } from '../scenario/plan';
import { modifyPlan } from '../testing/builders';
import { ACRN_CHECKS, type AcrnCheck } from '../validation/rules';
import { validatePartitionPlan } from '../validation/validate';
import { parseBoardXml } from './board-xml';
import { exportScenarioXml, importScenarioXml } from './scenario-xml';

/**
 * Our exports against ACRN's own validator (test-data/validate.py: validator.py, config.xsd + datachecks.xsd
 * under Debian's python3-xmlschema). Needs python3-xmlschema and python3-lxml; without them the suite is
 * skipped with a warning, and fails under CI=true.
 */

const python = findAcrnPython();
if (!python) {
  const message =
    'python3-xmlschema / python3-lxml are not installed (apt-get install -y python3-xmlschema python3-lxml): ' +
    "the ACRN validator suite can't run";
  if (process.env.CI === 'true') throw new Error(`CI=true: ${message}`);
  console.warn(`\n\x1b[33m!!! ${message} and is SKIPPED.\x1b[0m\n`);
}
const describeWithPython = python ? describe : describe.skip;

/** Property test size: random valid plans exported and checked by ACRN (each takes ACRN about a second). */
const RANDOM_PLANS = Number(process.env.HF_ACRN_RANDOM_PLANS ?? 16);

const expected = JSON.parse(readTestData('acrn-v3.3/expected-verdicts.json')) as AcrnVerdict[];
const checkSet = (v: AcrnVerdict) => [...new Set(v.checks.map((c) => `${c.check} ${c.severity}`))].sort();

describeWithPython("ACRN's validator on Hyperfleet's exports", () => {
  jest.setTimeout(900_000);
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'hf-acrn-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('gives every exported ACRN sample the verdict it gives the original (so accepts the 21 it accepts)', () => {
    const samples = acrnSamples();
    const verdicts: AcrnVerdict[] = [];
    for (const { board, path } of acrnBoards()) {
      const files = samples
        .filter((s) => s.board === board)
        .map((s) => {
          const imported = importScenarioXml(s.xml, { board });
          if (!imported.ok) throw new Error(`${s.id}: ${imported.errors.join('; ')}`);
          const file = join(dir, s.id.replace('/', '__'));
          writeFileSync(file, exportScenarioXml(imported.value));
          return file;
        });
      if (files.length > 0) verdicts.push(...runAcrnValidator(python!, path, files));
    }
    expect(verdicts).toHaveLength(samples.length);
    const accepted = verdicts.filter(
      (v) => v.syntax.length === 0 && !v.checks.some((c) => c.severity === 'error'),
    );
    expect(accepted).toHaveLength(21);
    samples.forEach((sample, i) => {
      const original = expected.find((e) => e.scenario === sample.id)!;
      const got = verdicts[i];
      expect({ sample: sample.id, syntax: got.syntax.map((s) => s.message), checks: checkSet(got) }).toEqual({
        sample: sample.id,
        syntax: original.syntax.map((s) => s.message),
        checks: checkSet(original),
      });
    });
  });

  it('rejects an element on a VM kind config.xsd does not allow, as Hyperfleet does', () => {
    const sample = acrnSamples().find((s) => s.id === 'generic_board/hybrid.xml')!;
    const boardSample = acrnBoards().find((b) => b.board === sample.board)!;
    const parsed = parseBoardXml(boardSample.xml);
    const imported = importScenarioXml(sample.xml);
    if (!parsed.ok || !imported.ok) throw new Error('sample does not import');
    const byLoadOrder = (p: PartitionPlan, loadOrder: string) =>
      p.vms.find((vm) => vm.loadOrder === loadOrder)!;
    const mutations: Array<[string, (p: PartitionPlan) => void]> = [
      [
        'cpu_affinity',
        (p) => (byLoadOrder(p, 'SERVICE_VM').cpuAffinity = [{ pcpuId: 0, realTimeVcpu: false }]),
      ],
      ['io_completion_polling', (p) => (byLoadOrder(p, 'SERVICE_VM').ioCompletionPolling = true)],
      ['virtual_cat_support', (p) => (byLoadOrder(p, 'SERVICE_VM').virtualCatSupport = true)],
      [
        'nested_virtualization_support',
        (p) => (byLoadOrder(p, 'POST_LAUNCHED_VM').nestedVirtualization = true),
      ],
      ['mmio_resources', (p) => (byLoadOrder(p, 'POST_LAUNCHED_VM').mmioResources.tpm2 = true)],
      ['virtio_devices', (p) => byLoadOrder(p, 'PRE_LAUNCHED_VM').virtioDevices.block.push('/disk.img')],
    ];
    const files = mutations.map(([element, change]) => {
      const plan = modifyPlan(imported.value, change);
      expect({ element, ours: validatePartitionPlan(plan, parsed.value).map((v) => v.code) }).toEqual({
        element,
        ours: expect.arrayContaining(['VM_ELEMENT_NOT_APPLICABLE']),
      });
      const file = join(dir, `wrong-kind-${element}.xml`);
      writeFileSync(file, exportScenarioXml(plan));
      return file;
    });
    const verdicts = runAcrnValidator(python!, boardSample.path, files);
    mutations.forEach(([element], i) => {
      expect({ element, acrn: verdicts[i].syntax.map((s) => s.message).join('\n') }).toEqual({
        element,
        acrn: expect.stringMatching(new RegExp(`Unexpected child with tag '${element}'`)),
      });
    });
  });

  it(`accepts ${RANDOM_PLANS} random valid plans, with the warnings Hyperfleet's validator gives`, () => {
    const boardSample = acrnBoards().find((b) => b.board === 'tgl-vecow-spc-7100-Corei7')!;
    const parsed = parseBoardXml(boardSample.xml);
    if (!parsed.ok) throw new Error(parsed.errors.join('; '));
    const board: Board = parsed.value;
    const plans = randomValidPlans(board, RANDOM_PLANS, 1);
    expect(plans).toHaveLength(RANDOM_PLANS);
    const files = plans.map(({ seed, plan }) => {
      const file = join(dir, `random-${seed}.xml`);
      writeFileSync(file, exportScenarioXml(plan));
      return file;
    });
    const verdicts = runAcrnValidator(python!, boardSample.path, files);
    plans.forEach(({ seed, plan }, i) => {
      const acrn = verdicts[i];
      const ours = validatePartitionPlan(plan, board);
      const mirroredCodes = new Set<string>(Object.values(ACRN_CHECKS).flat());
      expect({
        seed,
        syntax: acrn.syntax.map((s) => `${s.path}: ${s.message}`),
        errors: acrn.checks.filter((c) => c.severity === 'error').map((c) => c.message),
        // every ACRN warning is one of ours, and every ACRN-mirrored warning of ours is ACRN's
        warnings: [
          ...new Set(acrn.checks.flatMap((c) => ACRN_CHECKS[c.check as AcrnCheck] ?? [c.check])),
        ].sort(),
      }).toEqual({
        seed,
        syntax: [],
        errors: [],
        warnings: [...new Set(ours.filter((v) => mirroredCodes.has(v.code)).map((v) => v.code))].sort(),
      });
    });
  });
});
