import { parseBoardXml } from './board-xml';
import { exportScenarioXml, importScenarioXml, parseScenarioXml } from './scenario-xml';
import { MAX_XML_CHARS, MAX_XML_DEPTH, parseXmlDocument, serializeNode } from './xml';
import { samplePlan } from '../fixtures';
import { parsePartitionPlan, partitionPlan } from '../scenario/plan';

const valid = exportScenarioXml(samplePlan());
/** The sample scenario with `extra` inserted right after the root's start tag. */
const withRoot = (extra: string) => valid.replace(/(<acrn-config[^>]*>)/, `$1${extra}`);

const BILLION_LAUGHS = `<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<acrn-config>&lol9;</acrn-config>`;

/** Hostile or malformed input → the code every XML reader answers with; none may throw. */
const HOSTILE: Array<{ what: string; input: () => unknown; code: string }> = [
  {
    what: 'a DTD',
    input: () => `<!DOCTYPE acrn-config [<!ELEMENT acrn-config ANY>]>${valid.replace(/^<\?xml[^>]*>/, '')}`,
    code: 'XML_DTD_FORBIDDEN',
  },
  {
    what: 'an external entity (XXE)',
    input: () =>
      '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><acrn-config>&xxe;</acrn-config>',
    code: 'XML_DTD_FORBIDDEN',
  },
  {
    what: 'an external parameter entity',
    input: () => '<!DOCTYPE x [<!ENTITY % p SYSTEM "http://evil/x.dtd"> %p;]><acrn-config/>',
    code: 'XML_DTD_FORBIDDEN',
  },
  { what: 'billion laughs', input: () => BILLION_LAUGHS, code: 'XML_DTD_FORBIDDEN' },
  {
    what: 'an oversized internal entity',
    input: () => `<!DOCTYPE x [<!ENTITY big "${'A'.repeat(1_000_000)}">]><acrn-config>&big;</acrn-config>`,
    code: 'XML_DTD_FORBIDDEN',
  },
  {
    what: 'a bare entity declaration',
    input: () => '<!ENTITY x "y"><acrn-config/>',
    code: 'XML_DTD_FORBIDDEN',
  },
  {
    what: 'an undeclared entity reference',
    input: () => withRoot('<hv>&xxe;</hv>'),
    code: 'XML_ENTITY_FORBIDDEN',
  },
  {
    what: 'an entity reference in an attribute',
    input: () => '<acrn-config board="&xxe;"/>',
    code: 'XML_ENTITY_FORBIDDEN',
  },
  {
    what: 'a NUL character reference',
    input: () => '<acrn-config>&#0;</acrn-config>',
    code: 'XML_ENTITY_FORBIDDEN',
  },
  { what: 'a bare ampersand', input: () => '<acrn-config>a & b</acrn-config>', code: 'XML_MALFORMED' },
  {
    what: `nesting deeper than ${MAX_XML_DEPTH}`,
    input: () => `${'<a>'.repeat(MAX_XML_DEPTH + 1)}${'</a>'.repeat(MAX_XML_DEPTH + 1)}`,
    code: 'XML_TOO_DEEP',
  },
  {
    what: '100 000 nested elements',
    input: () => `${'<a>'.repeat(100_000)}${'</a>'.repeat(100_000)}`,
    code: 'XML_TOO_DEEP',
  },
  {
    what: '150 000 sibling elements',
    input: () => `<acrn-config>${'<a/>'.repeat(150_000)}</acrn-config>`,
    code: 'XML_TOO_MANY_ELEMENTS',
  },
  {
    what: 'huge text over the size limit',
    input: () => `<acrn-config>${'x'.repeat(MAX_XML_CHARS)}</acrn-config>`,
    code: 'XML_TOO_LARGE',
  },
  {
    what: 'a huge attribute over the size limit',
    input: () => `<acrn-config board="${'x'.repeat(MAX_XML_CHARS)}"/>`,
    code: 'XML_TOO_LARGE',
  },
  { what: 'the wrong root element', input: () => '<scenario><hv/></scenario>', code: 'XML_WRONG_ROOT' },
  {
    what: 'an XSD instead of a scenario',
    input: () => '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"/>',
    code: 'XML_WRONG_ROOT',
  },
  { what: 'plain text', input: () => 'hello, world', code: 'XML_MALFORMED' },
  { what: 'JSON', input: () => '{"acrn-config": {}}', code: 'XML_MALFORMED' },
  { what: 'an empty string', input: () => '', code: 'XML_MALFORMED' },
  { what: 'only a declaration', input: () => '<?xml version="1.0"?>', code: 'XML_MALFORMED' },
  { what: 'an unclosed element', input: () => '<acrn-config><hv>', code: 'XML_MALFORMED' },
  {
    what: 'a mismatched end tag',
    input: () => '<acrn-config><hv></vm></acrn-config>',
    code: 'XML_MALFORMED',
  },
  { what: 'two root elements', input: () => '<acrn-config/><acrn-config/>', code: 'XML_MALFORMED' },
  { what: 'a repeated attribute', input: () => '<acrn-config board="a" board="b"/>', code: 'XML_MALFORMED' },
  { what: 'text after the root', input: () => '<acrn-config/>trailing', code: 'XML_MALFORMED' },
  { what: 'an unterminated comment', input: () => '<acrn-config><!-- ', code: 'XML_MALFORMED' },
  { what: 'an unterminated CDATA section', input: () => '<acrn-config><![CDATA[ ', code: 'XML_MALFORMED' },
  { what: 'a number instead of text', input: () => 42, code: 'XML_NOT_TEXT' },
  { what: 'null instead of text', input: () => null, code: 'XML_NOT_TEXT' },
];

describe('hostile and malformed XML', () => {
  it.each(HOSTILE)('$what → $code, from every reader, without throwing', ({ input, code }) => {
    const xml = input() as string;
    const started = Date.now();
    for (const read of [parseScenarioXml, parseBoardXml]) {
      const result = read(xml);
      expect(result).toMatchObject({ ok: false, code });
      if (!result.ok) expect(result.errors.length).toBeGreaterThan(0);
    }
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it.each([
    ['99 000 unmodelled elements', withRoot('<x/>'.repeat(99_000))],
    [
      '99 000 unmodelled elements in one VM',
      valid.replace('<vm_type>RTVM</vm_type>', `<vm_type>RTVM</vm_type>${'<x/>'.repeat(99_000)}`),
    ],
    [
      '20 000 VMs',
      valid.replace('</acrn-config>', `${'<vm id="9"><name>x</name></vm>'.repeat(20_000)}</acrn-config>`),
    ],
  ])('refuses a scenario with %s quickly (SCENARIO_INVALID)', (_what, xml) => {
    const started = Date.now();
    expect(importScenarioXml(xml)).toMatchObject({ ok: false, code: 'SCENARIO_INVALID' });
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('reads __proto__ and constructor as ordinary element names and keeps them', () => {
    const xml = withRoot('<__proto__><polluted>y</polluted></__proto__><constructor>z</constructor>').replace(
      '<vm_type>RTVM</vm_type>',
      '<vm_type>RTVM</vm_type><__proto__><polluted>y</polluted></__proto__><prototype/>',
    );
    const imported = importScenarioXml(xml);
    expect(imported.ok).toBe(true);
    if (!imported.ok) return;
    expect(imported.kept.map((k) => k.path)).toEqual(
      expect.arrayContaining([
        '/acrn-config/__proto__',
        '/acrn-config/constructor',
        '/acrn-config/vm[@id=0]/__proto__',
        '/acrn-config/vm[@id=0]/prototype',
      ]),
    );
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
    expect(importScenarioXml(exportScenarioXml(imported.value))).toEqual(imported);
    const board =
      '<acrn-config board="b"><__proto__><x/></__proto__><constructor/><processors/></acrn-config>';
    expect(parseBoardXml(board)).toMatchObject({
      ok: false,
      code: 'BOARD_INVALID',
    });
  });

  it('reads a scenario with text just under the size limit', () => {
    const bootargs = 'x'.repeat(MAX_XML_CHARS - valid.length - 100);
    const xml = valid.replace(/<bootargs>[^<]*<\/bootargs>/, `<bootargs>${bootargs}</bootargs>`);
    expect(xml.length).toBeLessThanOrEqual(MAX_XML_CHARS);
    const imported = importScenarioXml(xml);
    expect(imported.ok && imported.value.vms.some((vm) => vm.osConfig?.bootargs === bootargs)).toBe(true);
  });

  it('ignores processing instructions and comments, reads CDATA and character references', () => {
    const parsed = parseXmlDocument(
      '<?xml-stylesheet href="http://evil/x.xsl"?><!-- c --><a b="&#x41;&amp;"><![CDATA[<x> & y]]>&#65;&lt;</a>',
    );
    expect(parsed).toEqual({ ok: true, root: { name: 'a', attrs: [['b', 'A&']], children: ['<x> & yA<'] } });
    if (parsed.ok) expect(serializeNode(parsed.root)).toBe('<a b="A&amp;">&lt;x&gt; &amp; yA&lt;</a>');
  });

  it('refuses a kept element that is not one well-formed element (the plan schema gates kept XML from an API)', () => {
    const plan = { ...samplePlan(), kept: [{ path: 'hv', after: null, xml: '<a><b></a>' }] };
    expect(parsePartitionPlan(plan)).toMatchObject({ ok: false });
    const fine = { ...samplePlan(), kept: [{ path: 'hv', after: 'BUILD_TYPE', xml: '<MISC_CFG/>' }] };
    expect(exportScenarioXml(partitionPlan(fine))).toMatch(
      /<BUILD_TYPE>release<\/BUILD_TYPE>\n {4}<MISC_CFG\/>/,
    );
  });
});
