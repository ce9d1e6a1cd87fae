import { mulberry32 } from '@hyperfleet/fleet-sim';
import { topLevelMemberSpan } from './json-span';

const TRICKY_STRINGS = [
  '',
  '"',
  '\\',
  '\\"',
  '}',
  ']{',
  ',',
  ':',
  'payload',
  '"payload":',
  '\u2028',
  'é',
  '\u0000',
];

/** Random JSON values with strings that look like structure. */
function value(random: () => number, depth: number): unknown {
  const r = random();
  if (depth > 3 || r < 0.3) {
    const pick = random();
    if (pick < 0.25) return TRICKY_STRINGS[Math.floor(random() * TRICKY_STRINGS.length)];
    if (pick < 0.5) return Math.round(random() * 1e6) / 100;
    if (pick < 0.6) return null;
    if (pick < 0.7) return random() < 0.5;
    return `s${Math.floor(random() * 1000)}`;
  }
  if (r < 0.6) return Array.from({ length: Math.floor(random() * 4) }, () => value(random, depth + 1));
  const o: Record<string, unknown> = {};
  for (let i = Math.floor(random() * 4); i > 0; i--) {
    o[TRICKY_STRINGS[Math.floor(random() * TRICKY_STRINGS.length)] + i] = value(random, depth + 1);
  }
  return o;
}

/** JSON text with random whitespace between tokens (JSON.stringify with an indent, then spaces). */
function spaced(v: unknown, random: () => number): string {
  const indent = [0, 1, 2, '\t'][Math.floor(random() * 4)];
  return ` \n${JSON.stringify(v, null, indent)}\r\n `;
}

describe('topLevelMemberSpan', () => {
  it('finds the member JSON.parse finds, whatever the strings, nesting and spacing around it', () => {
    const random = mulberry32(1);
    for (let i = 0; i < 3000; i++) {
      const target = value(random, 0);
      const before = value(random, 1);
      const doc: Record<string, unknown> = {};
      if (random() < 0.5) doc.first = before;
      doc.payload = target;
      if (random() < 0.5) doc.last = value(random, 1);
      const text = spaced(doc, random);
      const span = topLevelMemberSpan(text, 'payload');
      expect(span).not.toBeNull();
      expect(JSON.parse(text.slice(span![0], span![1]))).toEqual(target);
    }
  });

  it('takes the last of a repeated key, as JSON.parse does, and reads escaped keys', () => {
    const text = '{"payload": {"a": 1}, "x": "}", "p\\u0061yload" : [2, "]"] }';
    const span = topLevelMemberSpan(text, 'payload')!;
    expect(JSON.parse(text.slice(span[0], span[1]))).toEqual(JSON.parse(text).payload);
    expect(JSON.parse(text.slice(span[0], span[1]))).toEqual([2, ']']);
  });

  it('null when there is no such member or the top level is not an object', () => {
    expect(topLevelMemberSpan('{"a": {"payload": 1}}', 'payload')).toBeNull();
    expect(topLevelMemberSpan('{}', 'payload')).toBeNull();
    expect(topLevelMemberSpan('[{"payload": 1}]', 'payload')).toBeNull();
    expect(topLevelMemberSpan('"payload"', 'payload')).toBeNull();
  });
});
