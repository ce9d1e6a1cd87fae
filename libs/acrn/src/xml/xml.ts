import { XMLBuilder, XMLParser, XMLValidator } from 'fast-xml-parser';

/** A parsed element: child elements are always arrays, attributes are `@_name`, text is `#text`. */
export type XmlElement = Record<string, unknown>;

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  // Keep every value a string: ids like "0x0" and names like "007" must not turn into numbers.
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  isArray: (_name: string, _jpath: unknown, _isLeaf: boolean, isAttribute: boolean) => !isAttribute,
});

const builder = new XMLBuilder({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  format: true,
  indentBy: '  ',
  suppressEmptyNode: true,
});

/** Parses XML text into elements, or says where the XML is malformed. */
export function parseXml(xml: string): { ok: true; root: XmlElement } | { ok: false; error: string } {
  const valid = XMLValidator.validate(xml);
  if (valid !== true) {
    return { ok: false, error: `malformed XML at line ${valid.err.line}: ${valid.err.msg}` };
  }
  return { ok: true, root: parser.parse(xml) as XmlElement };
}

export function buildXml(document: XmlElement): string {
  return `<?xml version="1.0" encoding="utf-8"?>\n${builder.build(document) as string}`;
}

function isElement(value: unknown): value is XmlElement {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Child elements with the tag; text-only children come back as strings. */
export function children(node: unknown, tag: string): unknown[] {
  if (!isElement(node)) return [];
  const value = node[tag];
  return Array.isArray(value) ? value : [];
}

export function child(node: unknown, tag: string): unknown {
  return children(node, tag)[0];
}

export function elements(node: unknown, tag: string): XmlElement[] {
  return children(node, tag).map((c) => (isElement(c) ? c : { '#text': c }));
}

/** Text content of a parsed element (or undefined when the element is absent). */
export function text(node: unknown): string | undefined {
  if (node === undefined) return undefined;
  if (typeof node === 'string') return node;
  if (isElement(node)) {
    const t = node['#text'];
    return typeof t === 'string' ? t : t === undefined ? '' : String(t);
  }
  return String(node);
}

export function childText(node: unknown, tag: string): string | undefined {
  return text(child(node, tag));
}

export function attr(node: unknown, name: string): string | undefined {
  if (!isElement(node)) return undefined;
  const value = node[`@_${name}`];
  return typeof value === 'string' ? value : undefined;
}

/** Every child element of a node with its tag, in document order per tag. */
export function allChildren(node: unknown): Array<{ tag: string; element: XmlElement }> {
  if (!isElement(node)) return [];
  return Object.entries(node)
    .filter(([key]) => !key.startsWith('@_') && key !== '#text')
    .flatMap(([tag, value]) =>
      (Array.isArray(value) ? value : [value]).map((v) => ({
        tag,
        element: isElement(v) ? v : { '#text': v },
      })),
    );
}

/**
 * A decimal or 0x-prefixed integer. Anything else is returned unchanged so the schema reports it with
 * its path instead of this layer guessing.
 */
export function int(value: string | undefined): number | string | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (/^0[xX][0-9a-fA-F]+$/.test(v)) return Number.parseInt(v.slice(2), 16);
  if (/^\d+$/.test(v)) return Number.parseInt(v, 10);
  return value;
}

/** ACRN Boolean: `y` / `n`. */
export function yn(value: string | undefined): boolean | string | undefined {
  if (value === undefined) return undefined;
  if (value === 'y') return true;
  if (value === 'n') return false;
  return value;
}
