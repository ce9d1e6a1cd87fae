/**
 * The API's door to @hyperfleet/acrn's XML import/export. libs/acrn owns the parsing (and is being
 * reworked for ACRN fidelity); this file only turns its results into HTTP answers, reading the parts of
 * a result that may or may not be there (error codes, what the importer kept verbatim) loosely, so a
 * richer result from libs/acrn shows up in the API without a change here.
 */
import { createHash } from 'node:crypto';
import {
  exportScenarioXml,
  parseBoardXml,
  parseScenarioXml,
  type Board,
  type PartitionPlan,
} from '@hyperfleet/acrn';
import { ApiError } from '../http/api-error';

/** Largest scenario or board XML the API reads (ACRN's board XMLs are 100–300 KiB). */
export const MAX_XML_BYTES = 2 * 1024 * 1024;
export const MAX_XML_LIMIT = '2mb';
export const XML_CONTENT_TYPES = ['application/xml', 'text/xml'];

export interface XmlImported<T> {
  readonly value: T;
  /** What libs/acrn says it could not model (kept verbatim or dropped), when it says so. */
  readonly unmodelled: string[];
}

/** True when the request's Content-Type is one of the XML types. */
export function isXmlContentType(contentType: string | undefined): boolean {
  const type = (contentType ?? '').split(';')[0].trim().toLowerCase();
  return XML_CONTENT_TYPES.includes(type) || type.endsWith('+xml');
}

/**
 * The XML text of a request body, as the XML body parser left it (a string). Anything else means the
 * body was not sent with an XML content type: 415.
 */
export function xmlBodyText(body: unknown, what: string): string {
  if (typeof body !== 'string') {
    throw new ApiError(
      415,
      'UNSUPPORTED_MEDIA_TYPE',
      `Send the ${what} XML with Content-Type: application/xml (or text/xml)`,
    );
  }
  if (body.trim() === '')
    throw new ApiError(400, 'EMPTY_BODY', `The request body is empty; send the ${what} XML`);
  return body;
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/**
 * Adds the attributes `<acrn-config>` does not have, and only those: a board XML without `board` gets
 * the name of the board it is imported as.
 */
export function withRootAttributes(xml: string, attributes: Record<string, string | undefined>): string {
  const match = /<acrn-config(?=[\s/>])([^>]*)>/.exec(xml);
  if (!match) return xml;
  const present = match[1];
  const added = Object.entries(attributes)
    .filter(([name, value]) => value !== undefined && !new RegExp(`\\s${name}\\s*=`).test(present))
    .map(([name, value]) => ` ${name}="${escapeAttribute(value as string)}"`)
    .join('');
  if (!added) return xml;
  const at = match.index + '<acrn-config'.length;
  return xml.slice(0, at) + added + xml.slice(at);
}

function escapeAttribute(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/"/g, '&quot;');
}

/**
 * Scenario XML → plan, or 400/422 with libs/acrn's code and every error it gave. ACRN's own samples leave
 * `board` and `scenario` off `<acrn-config>`; the request's names fill them in (the XML's win).
 */
export function importScenarioXml(
  xml: string,
  names: { board?: string; scenario?: string } = {},
): XmlImported<PartitionPlan> {
  const options = Object.fromEntries(Object.entries(names).filter(([, v]) => v !== undefined));
  return imported(parseScenarioXml(xml, options), 'scenario');
}

/** Board XML → board model, or 400/422 with libs/acrn's code and every error it gave. */
export function importBoardXml(xml: string): XmlImported<Board> {
  return imported(parseBoardXml(xml), 'board');
}

export function scenarioXmlOf(plan: PartitionPlan): string {
  const out: unknown = exportScenarioXml(plan);
  // A richer export result ({ xml, ... }) is read for its XML.
  if (typeof out === 'string') return out;
  if (out && typeof out === 'object' && typeof (out as { xml?: unknown }).xml === 'string') {
    return (out as { xml: string }).xml;
  }
  throw new Error('exportScenarioXml returned no XML');
}

const UNMODELLED_KEYS = ['unmodelled', 'unmodeled', 'kept', 'verbatim', 'preserved', 'unknown', 'dropped'];

function imported<T>(result: unknown, what: 'scenario' | 'board'): XmlImported<T> {
  const r = result as Record<string, unknown>;
  if (r.ok === true) {
    return { value: r.value as T, unmodelled: unmodelledOf(r) };
  }
  const errors = (Array.isArray(r.errors) ? r.errors : [r.error ?? 'the XML could not be read']).map(
    describe,
  );
  const libCode = typeof r.code === 'string' ? r.code : firstCode(r.errors);
  const code = libCode ?? codeOf(errors, what);
  // Unreadable or refused XML is the client's malformed request (400); XML that reads but is no ACRN
  // scenario/board (wrong root, invalid content) is 422.
  const status = code === 'XML_TOO_LARGE' ? 413 : /^XML_/.test(code) && code !== 'XML_WRONG_ROOT' ? 400 : 422;
  throw new ApiError(
    status,
    code,
    `The ${what} XML cannot be imported: ${errors.slice(0, 3).join('; ')}${errors.length > 3 ? ` (and ${errors.length - 3} more)` : ''}`,
    { errors },
  );
}

/** A code for a result that brings none (libs/acrn before its XML codes). */
function codeOf(errors: string[], what: 'scenario' | 'board'): string {
  if (errors.some((e) => /^malformed XML/i.test(e))) return 'XML_MALFORMED';
  if (errors.some((e) => /root element/.test(e))) return 'XML_WRONG_ROOT';
  return what === 'scenario' ? 'SCENARIO_INVALID' : 'BOARD_INVALID';
}

function unmodelledOf(r: Record<string, unknown>): string[] {
  for (const key of UNMODELLED_KEYS) {
    const list = r[key];
    if (Array.isArray(list)) return list.map(describe);
  }
  return [];
}

function firstCode(errors: unknown): string | undefined {
  if (!Array.isArray(errors)) return undefined;
  const withCode = errors.find(
    (e): e is { code: string } => typeof e === 'object' && e !== null && typeof e.code === 'string',
  );
  return withCode?.code;
}

function describe(item: unknown): string {
  if (typeof item === 'string') return item;
  if (item && typeof item === 'object') {
    const o = item as Record<string, unknown>;
    const text = [o.path, o.message ?? o.element ?? o.tag].filter((p) => typeof p === 'string').join(': ');
    if (text) return typeof o.code === 'string' ? `${o.code} ${text}` : text;
  }
  return JSON.stringify(item);
}
