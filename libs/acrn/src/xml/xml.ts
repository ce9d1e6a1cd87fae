/** A parsed element: child elements are always arrays, attributes are `@_name`, text is `#text`. */
export type XmlElement = Record<string, unknown>;

/**
 * A small XML reader for ACRN's scenario and board files. It never throws: hostile or malformed input is an
 * error result with a code. It does not implement DTDs at all (ACRN's files have none), so no entity can
 * expand, fetch a file or recurse; only the five predefined entities and character references are read.
 */

/** Largest document accepted, in characters: 4 MiB. Board XMLs of ACRN's samples are under 300 KiB. */
export const MAX_XML_CHARS = 4 * 1024 * 1024;
/** Deepest element nesting accepted (ACRN's board XMLs nest about 12 deep). */
export const MAX_XML_DEPTH = 64;
/** Most elements accepted in one document. */
export const MAX_XML_ELEMENTS = 100_000;

export const XML_ERROR_CODES = [
  'XML_NOT_TEXT',
  'XML_TOO_LARGE',
  'XML_DTD_FORBIDDEN',
  'XML_ENTITY_FORBIDDEN',
  'XML_TOO_DEEP',
  'XML_TOO_MANY_ELEMENTS',
  'XML_MALFORMED',
  'XML_WRONG_ROOT',
] as const;
export type XmlErrorCode = (typeof XML_ERROR_CODES)[number];

/** An element in document order: attributes in order, children are elements or (trimmed) text. */
export interface XmlNode {
  name: string;
  attrs: Array<[string, string]>;
  children: Array<XmlNode | string>;
}

export type XmlDocumentResult =
  { ok: true; root: XmlNode } | { ok: false; code: XmlErrorCode; error: string };

// Sticky: matched at lastIndex without copying the rest of the document.
const NAME = /[A-Za-z_][-A-Za-z0-9_.:]*/y;
const ATTRIBUTE = /\s+([A-Za-z_][-A-Za-z0-9_.:]*)\s*=\s*("[^"<]*"|'[^'<]*')/y;

function matchAt(re: RegExp, xml: string, at: number): RegExpExecArray | null {
  re.lastIndex = at;
  return re.exec(xml);
}
const PREDEFINED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

class XmlFailure {
  constructor(
    readonly code: XmlErrorCode,
    readonly error: string,
  ) {}
}

function lineOf(xml: string, index: number): number {
  let line = 1;
  for (let i = 0; i < index && i < xml.length; i++) if (xml.charCodeAt(i) === 10) line++;
  return line;
}

function decode(raw: string, xml: string, at: number): string {
  if (!raw.includes('&')) return raw;
  return raw.replace(/&([^;&\s]{0,32});?/g, (match, name: string) => {
    if (!match.endsWith(';')) {
      throw new XmlFailure(
        'XML_MALFORMED',
        `malformed XML at line ${lineOf(xml, at)}: a bare "&" must be written &amp;`,
      );
    }
    if (name in PREDEFINED) return PREDEFINED[name];
    const code = /^#x[0-9a-fA-F]{1,6}$/.test(name)
      ? Number.parseInt(name.slice(2), 16)
      : /^#[0-9]{1,7}$/.test(name)
        ? Number.parseInt(name.slice(1), 10)
        : undefined;
    if (code !== undefined && code > 0 && code <= 0x10ffff && !(code >= 0xd800 && code <= 0xdfff)) {
      return String.fromCodePoint(code);
    }
    throw new XmlFailure(
      'XML_ENTITY_FORBIDDEN',
      `entity reference "${match}" at line ${lineOf(xml, at)}: only &lt; &gt; &amp; &quot; &apos; and character references are read`,
    );
  });
}

function parseTree(xml: string): XmlNode {
  const malformed = (at: number, what: string) =>
    new XmlFailure('XML_MALFORMED', `malformed XML at line ${lineOf(xml, at)}: ${what}`);
  const stack: XmlNode[] = [];
  const texts: string[][] = [];
  let root: XmlNode | undefined;
  let count = 0;
  let i = xml.charCodeAt(0) === 0xfeff ? 1 : 0;
  while (i < xml.length) {
    const lt = xml.indexOf('<', i);
    const textEnd = lt < 0 ? xml.length : lt;
    if (textEnd > i) {
      const raw = xml.slice(i, textEnd);
      if (stack.length === 0) {
        if (raw.trim() !== '') {
          throw root || lt >= 0 ? malformed(i, 'text outside the root element') : notXml();
        }
      } else {
        texts[texts.length - 1].push(decode(raw, xml, i));
      }
    }
    if (lt < 0) break;
    i = lt;
    if (xml.startsWith('<?', i)) {
      const end = xml.indexOf('?>', i + 2);
      if (end < 0) throw malformed(i, 'unterminated processing instruction');
      i = end + 2;
    } else if (xml.startsWith('<!--', i)) {
      const end = xml.indexOf('-->', i + 4);
      if (end < 0) throw malformed(i, 'unterminated comment');
      i = end + 3;
    } else if (xml.startsWith('<![CDATA[', i)) {
      const end = xml.indexOf(']]>', i + 9);
      if (end < 0) throw malformed(i, 'unterminated CDATA section');
      if (stack.length === 0) throw malformed(i, 'CDATA outside the root element');
      texts[texts.length - 1].push(xml.slice(i + 9, end));
      i = end + 3;
    } else if (xml.startsWith('<!', i)) {
      if (/^<!DOCTYPE/i.test(xml.slice(i, i + 9)) || /^<!ENTITY/i.test(xml.slice(i, i + 8))) {
        throw new XmlFailure(
          'XML_DTD_FORBIDDEN',
          `a document type declaration at line ${lineOf(xml, i)}: DTDs and entity declarations are not accepted`,
        );
      }
      throw malformed(i, 'unexpected "<!"');
    } else if (xml.startsWith('</', i)) {
      const name = matchAt(NAME, xml, i + 2)?.[0];
      const end = xml.indexOf('>', i);
      const open = stack.pop();
      if (!name || end < 0 || xml.slice(i + 2 + name.length, end).trim() !== '') {
        throw malformed(i, 'malformed end tag');
      }
      if (!open || open.name !== name) {
        throw malformed(i, open ? `</${name}> closes <${open.name}>` : `</${name}> has no start tag`);
      }
      finish(open, texts.pop() ?? []);
      i = end + 1;
    } else {
      const name = matchAt(NAME, xml, i + 1)?.[0];
      if (!name) throw lt === 0 && !root ? notXml() : malformed(i, 'a "<" that starts no tag');
      let j = i + 1 + name.length;
      const attrs: Array<[string, string]> = [];
      for (;;) {
        const m = matchAt(ATTRIBUTE, xml, j);
        if (!m) break;
        if (attrs.some(([n]) => n === m[1])) throw malformed(j, `attribute "${m[1]}" repeated`);
        attrs.push([m[1], decode(m[2].slice(1, -1), xml, j)]);
        j += m[0].length;
      }
      while (j < xml.length && /\s/.test(xml[j])) j++;
      const selfClosing = xml.startsWith('/>', j);
      if (!selfClosing && xml[j] !== '>') throw malformed(j, `malformed start tag <${name}>`);
      if (stack.length === 0 && root) throw malformed(i, 'a second root element');
      if (++count > MAX_XML_ELEMENTS) {
        throw new XmlFailure('XML_TOO_MANY_ELEMENTS', `more than ${MAX_XML_ELEMENTS} elements`);
      }
      if (stack.length >= MAX_XML_DEPTH) {
        throw new XmlFailure(
          'XML_TOO_DEEP',
          `elements nest deeper than ${MAX_XML_DEPTH} levels at line ${lineOf(xml, i)}`,
        );
      }
      const node: XmlNode = { name, attrs, children: [] };
      if (stack.length > 0) stack[stack.length - 1].children.push(node);
      else root = node;
      if (selfClosing) {
        i = j + 2;
      } else {
        stack.push(node);
        texts.push([]);
        i = j + 1;
      }
    }
  }
  if (stack.length > 0) throw malformed(xml.length, `<${stack[stack.length - 1].name}> is not closed`);
  if (!root) throw notXml();
  return root;
}

function notXml(): XmlFailure {
  return new XmlFailure('XML_MALFORMED', 'the text is not XML: it has no root element');
}

/** Text goes into a leaf element (trimmed, like the configurator); whitespace between elements is dropped. */
function finish(node: XmlNode, texts: string[]): void {
  const content = texts.join('');
  if (node.children.length === 0) {
    if (content.trim() !== '') node.children.push(content.trim());
  } else if (content.trim() !== '') {
    node.children.push(content.trim());
  }
}

/** Parses XML into an ordered element tree, or says with a code why the text is refused. Never throws. */
export function parseXmlDocument(xml: unknown): XmlDocumentResult {
  if (typeof xml !== 'string') return { ok: false, code: 'XML_NOT_TEXT', error: 'the XML must be text' };
  if (xml.length > MAX_XML_CHARS) {
    return {
      ok: false,
      code: 'XML_TOO_LARGE',
      error: `the XML is ${xml.length} characters; at most ${MAX_XML_CHARS} (4 MiB) are accepted`,
    };
  }
  try {
    return { ok: true, root: parseTree(xml) };
  } catch (e) {
    if (e instanceof XmlFailure) return { ok: false, code: e.code, error: e.error };
    // A bug here must still not crash a request; say so with the generic code.
    return { ok: false, code: 'XML_MALFORMED', error: `unreadable XML: ${String(e)}` };
  }
}

/** Text of a leaf node (undefined for an element with element children). */
export function nodeText(node: XmlNode): string {
  return node.children.filter((c): c is string => typeof c === 'string').join('');
}

export function childNodes(node: XmlNode): XmlNode[] {
  return node.children.filter((c): c is XmlNode => typeof c !== 'string');
}

/**
 * The element-object view the readers below use (child elements are arrays by tag, `@_name` attributes,
 * `#text` text, a leaf without attributes is its text). Objects have no prototype, so an element named
 * `__proto__` or `constructor` is an ordinary key.
 */
export function toElement(node: XmlNode): XmlElement | string {
  const kids = childNodes(node);
  if (kids.length === 0 && node.attrs.length === 0) return nodeText(node);
  const element = Object.create(null) as XmlElement;
  for (const [name, value] of node.attrs) element[`@_${name}`] = value;
  const content = nodeText(node);
  if (content !== '') element['#text'] = content;
  for (const kid of kids) {
    const list = Object.prototype.hasOwnProperty.call(element, kid.name)
      ? (element[kid.name] as unknown[])
      : (element[kid.name] = []);
    (list as unknown[]).push(toElement(kid));
  }
  return element;
}

/** Parses XML into elements, or says with a code where and why it is refused. Never throws. */
export function parseXml(
  xml: string,
): { ok: true; root: XmlElement; document: XmlNode } | { ok: false; code: XmlErrorCode; error: string } {
  const parsed = parseXmlDocument(xml);
  if (!parsed.ok) return parsed;
  const root = Object.create(null) as XmlElement;
  root[parsed.root.name] = [toElement(parsed.root)];
  return { ok: true, root, document: parsed.root };
}

function escapeText(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function escapeAttribute(value: string): string {
  return escapeText(value).replace(/"/g, '&quot;');
}

/** Writes an element; `indent` undefined writes it on one line (the form kept elements are listed in). */
export function serializeNode(node: XmlNode, indent?: string, depth = 0): string {
  const pad = indent === undefined ? '' : indent.repeat(depth);
  const newline = indent === undefined ? '' : '\n';
  const attrs = node.attrs.map(([n, v]) => ` ${n}="${escapeAttribute(v)}"`).join('');
  const kids = childNodes(node);
  const content = nodeText(node);
  if (kids.length === 0) {
    return content === ''
      ? `${pad}<${node.name}${attrs}/>`
      : `${pad}<${node.name}${attrs}>${escapeText(content)}</${node.name}>`;
  }
  const inner = node.children
    .map((c) =>
      typeof c === 'string'
        ? `${indent === undefined ? '' : indent.repeat(depth + 1)}${escapeText(c)}`
        : serializeNode(c, indent, depth + 1),
    )
    .join(newline);
  return `${pad}<${node.name}${attrs}>${newline}${inner}${newline}${pad}</${node.name}>`;
}

/** A whole document as ACRN's configurator writes it: declaration, two-space indentation. */
export function serializeDocument(root: XmlNode): string {
  return `<?xml version="1.0" encoding="utf-8"?>\n${serializeNode(root, '  ')}\n`;
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
