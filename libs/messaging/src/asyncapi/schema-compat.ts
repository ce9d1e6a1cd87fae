/**
 * Whether a published event type's `data` schema changed in a way that breaks its consumers or the
 * events already on the topic (and in the event store). Breaking: a field removed, a field's type
 * changed, a new required field, a required field made optional, an enum value or a const changed
 * away. Compatible: a new optional field, a new enum value (consumers must tolerate unknown ones),
 * descriptions. A breaking change ships as a new `schemaVersion` of the type instead.
 */
type Schema = Record<string, unknown>;

const types = (s: Schema): string[] => {
  const t = s.type;
  return (Array.isArray(t) ? t : t === undefined ? [] : [t]).map(String).sort();
};

export function breakingChanges(before: Schema, after: Schema, path = 'data'): string[] {
  const problems: string[] = [];
  const tb = types(before);
  const ta = types(after);
  if (tb.join('|') !== ta.join('|')) {
    problems.push(`${path}: type changed from ${tb.join('|') || 'any'} to ${ta.join('|') || 'any'}`);
    return problems;
  }
  if ('const' in before && JSON.stringify(before.const) !== JSON.stringify(after.const)) {
    problems.push(
      `${path}: const changed from ${JSON.stringify(before.const)} to ${JSON.stringify(after.const)}`,
    );
  }
  if (Array.isArray(before.enum)) {
    const now = new Set((Array.isArray(after.enum) ? after.enum : []).map((v) => JSON.stringify(v)));
    const gone = before.enum.filter((v) => !now.has(JSON.stringify(v)));
    if (!Array.isArray(after.enum) && after.enum === undefined) {
      // an enum widened to any value of its type: consumers may see anything
      problems.push(`${path}: enum ${JSON.stringify(before.enum)} became unrestricted`);
    } else if (gone.length) {
      problems.push(`${path}: enum values removed: ${gone.map((v) => JSON.stringify(v)).join(', ')}`);
    }
  }
  const pb = (before.properties ?? {}) as Record<string, Schema>;
  const pa = (after.properties ?? {}) as Record<string, Schema>;
  const rb = new Set((before.required as string[] | undefined) ?? []);
  const ra = new Set((after.required as string[] | undefined) ?? []);
  for (const [name, schema] of Object.entries(pb)) {
    if (!(name in pa)) problems.push(`${path}.${name}: field removed`);
    else problems.push(...breakingChanges(schema, pa[name], `${path}.${name}`));
    if (rb.has(name) && !ra.has(name) && name in pa)
      problems.push(`${path}.${name}: required field became optional`);
  }
  for (const name of ra) {
    if (!rb.has(name)) problems.push(`${path}.${name}: new required field`);
  }
  if (before.items && typeof before.items === 'object' && after.items && typeof after.items === 'object') {
    problems.push(...breakingChanges(before.items as Schema, after.items as Schema, `${path}[]`));
  }
  const ab = before.additionalProperties;
  const aa = after.additionalProperties;
  if (ab && typeof ab === 'object' && aa && typeof aa === 'object') {
    problems.push(...breakingChanges(ab as Schema, aa as Schema, `${path}{}`));
  }
  for (const k of ['anyOf', 'oneOf', 'allOf'] as const) {
    if (JSON.stringify(before[k]) !== JSON.stringify(after[k])) {
      problems.push(`${path}: ${k} changed`);
    }
  }
  return problems;
}
