import { acrnBoards } from '../../test/acrn-samples';
import { randomValidPlans } from '../../test/random-plan';
import { sampleBoard, samplePlan } from '../fixtures';
import { VM_ELEMENT_KINDS, vmElementAllowed } from '../scenario/vm-elements';
import { modifyPlan, vmNamed } from '../testing/builders';
import { validatePartitionPlan } from '../validation/validate';
import { parseBoardXml } from './board-xml';
import { exportScenarioXml, importScenarioXml } from './scenario-xml';
import { childNodes, parseXmlDocument, type XmlNode } from './xml';
import type { LoadOrder } from '../scenario/plan';

/** The VM elements of exported XML that config.xsd does not allow on the VM's kind. */
function misplaced(xml: string): string[] {
  const parsed = parseXmlDocument(xml);
  if (!parsed.ok) throw new Error(parsed.error);
  return childNodes(parsed.root)
    .filter((c) => c.name === 'vm')
    .flatMap((vm: XmlNode) => {
      const loadOrder = childNodes(vm).find((c) => c.name === 'load_order')?.children[0] as LoadOrder;
      return childNodes(vm)
        .filter((c) => c.name in VM_ELEMENT_KINDS && !vmElementAllowed(loadOrder, c.name))
        .map((c) => `${loadOrder}/${c.name}`);
    });
}

describe('exported scenario XML', () => {
  it('puts each VM element only on the kinds config.xsd allows', () => {
    const xml = exportScenarioXml(samplePlan());
    expect(misplaced(xml)).toEqual([]);
    const service = /<vm id="1">[\s\S]*?<\/vm>/.exec(xml)![0];
    for (const element of [
      'io_completion_polling',
      'virtual_cat_support',
      'mmio_resources',
      'virtio_devices',
      'cpu_affinity',
    ]) {
      expect(service).not.toContain(`<${element}>`);
    }
    expect(service).toContain('<nested_virtualization_support>n</nested_virtualization_support>');
  });

  it('writes an element on the wrong kind only when it carries a value, and the validator reports it as ACRN does', () => {
    const plan = modifyPlan(samplePlan(), (p) => {
      vmNamed(p, 'ACRN_Service_VM').cpuAffinity = [{ pcpuId: 0, realTimeVcpu: false }];
      vmNamed(p, 'HMI_VM').nestedVirtualization = true;
    });
    expect(misplaced(exportScenarioXml(plan)).sort()).toEqual([
      'POST_LAUNCHED_VM/nested_virtualization_support',
      'SERVICE_VM/cpu_affinity',
    ]);
    expect(
      validatePartitionPlan(plan, sampleBoard())
        .filter((v) => v.code === 'VM_ELEMENT_NOT_APPLICABLE')
        .map((v) => [v.severity, v.vms]),
    ).toEqual([
      ['error', ['ACRN_Service_VM']],
      ['error', ['HMI_VM']],
    ]);
  });

  describe('random valid plans (property)', () => {
    const parsed = parseBoardXml(acrnBoards().find((b) => b.board === 'tgl-vecow-spc-7100-Corei7')!.xml);
    if (!parsed.ok) throw new Error(parsed.errors.join('; '));
    const plans = randomValidPlans(parsed.value, 100, 1000);

    it('are generated', () => expect(plans).toHaveLength(100));

    it('export with every element on a kind config.xsd allows, and import back to the same plan', () => {
      for (const { seed, plan } of plans) {
        const xml = exportScenarioXml(plan);
        expect({ seed, misplaced: misplaced(xml) }).toEqual({ seed, misplaced: [] });
        const again = importScenarioXml(xml);
        expect({ seed, plan: again.ok ? again.value : again }).toEqual({ seed, plan });
      }
    });
  });
});
