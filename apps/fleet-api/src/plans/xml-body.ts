import { text } from 'express';
import { isXmlContentType, MAX_XML_LIMIT } from './acrn-xml';

/**
 * Scenario and board XML uploads: the body as text for `application/xml`, `text/xml` and `*+xml`, up to
 * MAX_XML_BYTES (beyond: body-parser's 413, answered as PAYLOAD_TOO_LARGE by BodyParserErrors). Applied
 * to the plan and board routes only; JSON bodies keep the app's JSON parser.
 */
export const xmlBodyParser = text({
  type: (req) => isXmlContentType(req.headers['content-type']),
  limit: MAX_XML_LIMIT,
  defaultCharset: 'utf-8',
});
