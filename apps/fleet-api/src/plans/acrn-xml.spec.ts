import { exportScenarioXml, samplePlan } from '@hyperfleet/acrn';
import { ApiError } from '../http/api-error';
import {
  importBoardXml,
  importScenarioXml,
  isXmlContentType,
  withRootAttributes,
  xmlBodyText,
} from './acrn-xml';

function refusal(fn: () => unknown): ApiError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ApiError) return err;
    throw err;
  }
  throw new Error('expected an ApiError');
}

describe('acrn-xml (the API side of libs/acrn XML import)', () => {
  it('XML content types', () => {
    expect(isXmlContentType('application/xml')).toBe(true);
    expect(isXmlContentType('text/xml; charset=utf-8')).toBe(true);
    expect(isXmlContentType('application/vnd.acrn+xml')).toBe(true);
    expect(isXmlContentType('application/json')).toBe(false);
    expect(isXmlContentType(undefined)).toBe(false);
  });

  it('an XML body is text; anything else is 415, an empty one 400', () => {
    expect(xmlBodyText('<a/>', 'board')).toBe('<a/>');
    expect(refusal(() => xmlBodyText({}, 'board'))).toMatchObject({
      httpStatus: 415,
      code: 'UNSUPPORTED_MEDIA_TYPE',
    });
    expect(refusal(() => xmlBodyText('  ', 'board'))).toMatchObject({ httpStatus: 400, code: 'EMPTY_BODY' });
  });

  it('withRootAttributes adds only the attributes <acrn-config> lacks, escaped', () => {
    expect(withRootAttributes('<?xml version="1.0"?><acrn-config><x/></acrn-config>', { board: 'a"b' })).toBe(
      '<?xml version="1.0"?><acrn-config board="a&quot;b"><x/></acrn-config>',
    );
    expect(withRootAttributes('<acrn-config board="x"/>', { board: 'y', scenario: undefined })).toBe(
      '<acrn-config board="x"/>',
    );
    expect(withRootAttributes('<acrn-configx/>', { board: 'y' })).toBe('<acrn-configx/>');
  });

  it('scenario XML: the request names a board the XML lacks; libs/acrn codes become 400/413/422', () => {
    const xml = exportScenarioXml(samplePlan()).replace(/ board="[^"]*"/, '');
    expect(importScenarioXml(xml, { board: 'b1' }).value.board).toBe('b1');
    expect(importScenarioXml(exportScenarioXml(samplePlan()), { board: 'b1' }).value.board).toBe(
      'tgl-i7-1185gre',
    );

    expect(refusal(() => importScenarioXml('<acrn-config><vm>'))).toMatchObject({
      httpStatus: 400,
      code: 'XML_MALFORMED',
    });
    expect(refusal(() => importScenarioXml('<other/>'))).toMatchObject({
      httpStatus: 422,
      code: 'XML_WRONG_ROOT',
    });
    const invalid = refusal(() => importScenarioXml('<acrn-config board="b" scenario="s"/>'));
    expect(invalid).toMatchObject({ httpStatus: 422, code: 'SCENARIO_INVALID' });
    expect((invalid.details?.errors as string[]).length).toBeGreaterThan(0);
    expect(refusal(() => importBoardXml('<acrn-config board="b"/>'))).toMatchObject({
      httpStatus: 422,
      code: 'BOARD_INVALID',
    });
  });
});
