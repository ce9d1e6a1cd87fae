/**
 * /api/v1/plans and /api/v1/boards over real HTTP on PostgreSQL, with the projector: ACRN's own sample
 * board and scenario XMLs (libs/acrn/test-data, ACRN v3.3) imported, validated, exported and re-imported;
 * plans assigned to devices provisioned through the API, the scheduling read model showing the result.
 * The device's side (its board report) is the domain command the gateway would run for it.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CommandBus } from '@nestjs/cqrs';
import type { Pool } from 'pg';
import { modifyPlan, parseBoardXml, samplePlan, type Board } from '@hyperfleet/acrn';
import { ReportBoardInventory } from '@hyperfleet/domain';
import { PG_POOL } from '@hyperfleet/platform';
import { ProjectorService } from '@hyperfleet/projector';
import { schedulingPolicyProjection } from '@hyperfleet/read-models';
import { projected } from '../../../../libs/read-models/src/framework/testing';
import { startFleetApi, type ApiHarness, type Body } from '../../test/api-harness';
import { MAX_XML_BYTES } from './acrn-xml';

const ROOT = path.resolve(__dirname, '../../../..');
const ACRN_DATA = path.join(ROOT, 'libs/acrn/test-data/acrn-v3.3/config_tools/data');
const BOARD = 'whl-ipc-i5';
const boardXml = fs.readFileSync(path.join(ACRN_DATA, BOARD, `${BOARD}.xml`), 'utf8');
const scenarioXml = fs.readFileSync(path.join(ACRN_DATA, BOARD, 'partitioned.xml'), 'utf8');
const XML = { 'content-type': 'application/xml' };

describe('/api/v1/plans and /api/v1/boards (HTTP, PostgreSQL, projector)', () => {
  let h: ApiHarness;
  const post = (url: string, body?: unknown, headers?: Record<string, string>) =>
    h.request('POST', url, body, headers);
  const codes = (violations: Body[]) => violations.map((v) => v.code as string);

  beforeAll(async () => {
    h = await startFleetApi('hf_api_plans', { projector: true });
  });

  afterAll(async () => {
    await h?.close();
  });

  describe('boards', () => {
    it('PUT imports a board XML (201, ETag), the same XML again changes nothing, other XML replaces it', async () => {
      const created = await h.request('PUT', `/api/v1/boards/${BOARD}`, boardXml, XML);
      expect(created.status).toBe(201);
      expect(created.headers.get('etag')).toBe('"1"');
      expect(created.body).toMatchObject({
        name: BOARD,
        outcome: 'created',
        revision: 1,
        cpuModel: expect.stringContaining('i5-8265U'),
        pcpuCount: 4,
        xmlSha256: expect.stringMatching(/^[0-9a-f]{64}$/),
        xmlBytes: Buffer.byteLength(boardXml),
        importedBy: expect.objectContaining({ subject: expect.any(String) }),
        board: expect.objectContaining({ name: BOARD, pcpus: expect.any(Array) }),
      });
      expect(created.body.caches.length).toBeGreaterThan(0);

      const again = await h.request('PUT', `/api/v1/boards/${BOARD}`, boardXml, XML);
      expect(again).toMatchObject({ status: 200, body: { outcome: 'unchanged', revision: 1 } });

      const edited = boardXml.replace('</acrn-config>', '<!-- edited --></acrn-config>');
      expect(
        await h.request('PUT', `/api/v1/boards/${BOARD}`, edited, { ...XML, 'if-match': '"7"' }),
      ).toMatchObject({
        status: 412,
        body: { code: 'PRECONDITION_FAILED', details: { actualRevision: 1 } },
      });
      const replaced = await h.request('PUT', `/api/v1/boards/${BOARD}`, edited, {
        ...XML,
        'if-match': '"1"',
      });
      expect(replaced).toMatchObject({ status: 200, body: { outcome: 'replaced', revision: 2 } });
    });

    it('GET lists boards and shows one; an unknown board is 404', async () => {
      const list = await h.get('/api/v1/boards');
      expect(list.status).toBe(200);
      expect(list.body.items).toEqual([
        expect.objectContaining({ name: BOARD, pcpuCount: 4, importedAt: expect.any(String) }),
      ]);
      expect(list.body.items[0].board).toBeUndefined();
      const one = await h.get(`/api/v1/boards/${BOARD}`);
      expect(one).toMatchObject({ status: 200, body: { name: BOARD, revision: 2 } });
      expect(one.headers.get('etag')).toBe('"2"');
      expect(await h.get('/api/v1/boards/nope')).toMatchObject({
        status: 404,
        body: { code: 'BOARD_NOT_FOUND', details: { boardName: 'nope' } },
      });
      expect(await h.get('/api/v1/boards/%2Bbad')).toMatchObject({
        status: 400,
        body: { code: 'VALIDATION_FAILED' },
      });
    });

    it('PUT refuses malformed XML (400), a JSON body (415), an oversized body (413), another board’s XML (422)', async () => {
      const malformed = await h.request(
        'PUT',
        '/api/v1/boards/b1',
        '<acrn-config board="b1"><processors>',
        XML,
      );
      expect(malformed).toMatchObject({
        status: 400,
        body: { code: 'XML_MALFORMED', message: expect.any(String) },
      });
      expect(malformed.body.details.errors.length).toBeGreaterThan(0);
      const dtd = '<!DOCTYPE acrn-config [<!ENTITY x SYSTEM "file:///etc/passwd">]><acrn-config board="b1"/>';
      expect(await h.request('PUT', '/api/v1/boards/b1', dtd, XML)).toMatchObject({
        status: 400,
        body: { code: 'XML_DTD_FORBIDDEN' },
      });
      expect(await h.request('PUT', '/api/v1/boards/b1', '<board/>', XML)).toMatchObject({
        status: 422,
        body: { code: 'XML_WRONG_ROOT' },
      });

      expect(await h.request('PUT', '/api/v1/boards/b1', { board: 'x' })).toMatchObject({
        status: 415,
        body: { code: 'UNSUPPORTED_MEDIA_TYPE' },
      });
      const huge = `<acrn-config board="b1"><!--${'x'.repeat(MAX_XML_BYTES)}--></acrn-config>`;
      expect(await h.request('PUT', '/api/v1/boards/b1', huge, XML)).toMatchObject({
        status: 413,
        body: { code: 'PAYLOAD_TOO_LARGE' },
      });
      expect(await h.request('PUT', '/api/v1/boards/other-name', boardXml, XML)).toMatchObject({
        status: 422,
        body: { code: 'BOARD_NAME_MISMATCH', details: { xmlBoardName: BOARD } },
      });
      expect(await h.request('PUT', '/api/v1/boards/b1', '', XML)).toMatchObject({ status: 400 });
    });
  });

  describe('plans', () => {
    let exported: string;

    it('POST imports ACRN’s sample scenario XML, checked against the imported board; GET has the ETag', async () => {
      const res = await post(
        `/api/v1/plans?planId=whl-part&deviceClass=industrial-pc&board=${BOARD}&description=ACRN%20sample`,
        scenarioXml,
        XML,
      );
      expect(res.status).toBe(201);
      expect(res.headers.get('etag')).toBe('"1"');
      expect(res.headers.get('location')).toBe('/api/v1/plans/whl-part');
      expect(res.body).toMatchObject({
        planId: 'whl-part',
        deviceClass: 'industrial-pc',
        description: 'ACRN sample',
        revision: 1,
        latestRevision: 1,
        board: BOARD,
        kind: 'partitioned',
        changed: true,
        validation: { valid: true, board: { name: BOARD, revision: 2 } },
        unmodelled: expect.any(Array),
      });

      // What the model does not read is kept verbatim, and the import says where.
      expect(res.body.unmodelled).toContain('/acrn-config/hv/FEATURES/RELOC_ENABLED');

      const got = await h.get('/api/v1/plans/whl-part');
      expect(got.status).toBe(200);
      expect(got.headers.get('etag')).toBe('"1"');
      expect(got.body.plan).toEqual(res.body.plan);
      expect(got.body.revisions).toEqual([{ revision: 1, at: expect.any(String) }]);
    });

    it('exports a revision as scenario XML, and the export imports to the same plan', async () => {
      const res = await fetch(`${h.base}/api/v1/plans/whl-part/revisions/1/scenario.xml`, {
        headers: h.auth,
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^application\/xml/);
      exported = await res.text();
      expect(exported).toContain('<acrn-config');
      expect(exported).toContain('RELOC_ENABLED');

      const checked = await post('/api/v1/plans:validate', exported, XML);
      expect(checked).toMatchObject({ status: 200, body: { valid: true, board: { name: BOARD } } });
      // The export as the next revision: equal to revision 1, so nothing is written.
      const same = await post('/api/v1/plans/whl-part/revisions', exported, XML);
      expect(same).toMatchObject({ status: 200, body: { changed: false, revision: 1, latestRevision: 1 } });

      expect((await h.get('/api/v1/plans/whl-part/revisions/1/scenario.xml')).status).toBe(200);
      expect(await h.get('/api/v1/plans/whl-part/revisions/5/scenario.xml')).toMatchObject({
        status: 404,
        body: { code: 'PARTITION_PLAN_REVISION_NOT_FOUND' },
      });
    });

    it('POST creates from plan JSON; a second create is 409; bad input is 400/415/422', async () => {
      const created = await post('/api/v1/plans', {
        planId: 'json-plan',
        deviceClass: 'vehicle',
        plan: samplePlan(),
      });
      // samplePlan's board (tgl-i7-1185gre) was not imported: nothing to check it against.
      expect(created).toMatchObject({
        status: 201,
        body: { planId: 'json-plan', revision: 1, validation: null },
      });
      expect(
        await post('/api/v1/plans', { planId: 'json-plan', deviceClass: 'vehicle', plan: samplePlan() }),
      ).toMatchObject({ status: 409, body: { code: 'PARTITION_PLAN_ALREADY_EXISTS' } });

      expect(
        await post('/api/v1/plans', '{"planId": "x",', { 'content-type': 'application/json' }),
      ).toMatchObject({
        status: 400,
        body: { code: 'MALFORMED_JSON' },
      });
      expect(await post('/api/v1/plans', { deviceClass: 'vehicle', plan: samplePlan() })).toMatchObject({
        status: 400,
        body: {
          code: 'VALIDATION_FAILED',
          details: { issues: [expect.objectContaining({ path: 'planId' })] },
        },
      });
      const invalid = await post('/api/v1/plans', {
        planId: 'broken',
        deviceClass: 'vehicle',
        plan: { ...samplePlan(), vms: [] },
      });
      expect(invalid).toMatchObject({ status: 422, body: { code: 'INVALID_PARTITION_PLAN' } });
      expect(invalid.body.details.errors[0]).toMatch(/vms/);

      // XML without the ids a JSON body would carry; malformed XML; XML that is not a scenario.
      expect(await post('/api/v1/plans', scenarioXml, XML)).toMatchObject({
        status: 400,
        body: { code: 'VALIDATION_FAILED' },
      });
      const malformed = await post('/api/v1/plans?planId=m&deviceClass=vehicle', '<acrn-config><vm>', XML);
      expect(malformed).toMatchObject({ status: 400, body: { code: 'XML_MALFORMED' } });
      expect(await post('/api/v1/plans?planId=m&deviceClass=vehicle', '<other/>', XML)).toMatchObject({
        status: 422,
        body: { code: 'XML_WRONG_ROOT' },
      });
      const noVms = `<acrn-config board="${BOARD}" scenario="s"><hv/></acrn-config>`;
      expect(await post('/api/v1/plans?planId=m&deviceClass=vehicle', noVms, XML)).toMatchObject({
        status: 422,
        body: { code: 'SCENARIO_INVALID' },
      });
      expect(
        await post('/api/v1/plans?format=scenario-xml&planId=m&deviceClass=vehicle', { a: 1 }),
      ).toMatchObject({
        status: 415,
        body: { code: 'UNSUPPORTED_MEDIA_TYPE' },
      });
      const huge = `<acrn-config><!--${'x'.repeat(MAX_XML_BYTES)}--></acrn-config>`;
      expect(await post('/api/v1/plans?planId=m&deviceClass=vehicle', huge, XML)).toMatchObject({
        status: 413,
        body: { code: 'PAYLOAD_TOO_LARGE' },
      });
    });

    it('a plan that breaks error rules on its imported board is refused at create (422 with the violations)', async () => {
      const plan = modifyPlan(samplePlan(), (p) => (p.board = BOARD));
      const res = await post('/api/v1/plans', { planId: 'too-big', deviceClass: 'vehicle', plan });
      expect(res).toMatchObject({
        status: 422,
        body: { code: 'PLAN_DOES_NOT_FIT_BOARD', details: { valid: false } },
      });
      expect(codes(res.body.details.violations)).toContain('PCPU_NOT_ON_BOARD');
      expect((await h.get('/api/v1/plans/too-big')).status).toBe(404);
    });

    it('GET lists plans page by page; unknown plans and revisions are 404', async () => {
      const first = await h.get('/api/v1/plans?limit=1');
      expect(first.status).toBe(200);
      expect(first.body.items).toEqual([expect.objectContaining({ planId: 'json-plan', latestRevision: 1 })]);
      const second = await h.get(`/api/v1/plans?limit=1&cursor=${first.body.nextCursor}`);
      expect(second.body).toEqual({
        items: [expect.objectContaining({ planId: 'whl-part', board: BOARD, vmCount: expect.any(Number) })],
        nextCursor: null,
      });
      expect(await h.get('/api/v1/plans?limit=0')).toMatchObject({
        status: 400,
        body: { code: 'VALIDATION_FAILED' },
      });
      expect(await h.get('/api/v1/plans/ghost')).toMatchObject({
        status: 404,
        body: { code: 'PARTITION_PLAN_NOT_FOUND', details: { planId: 'ghost' } },
      });
      expect(await h.get('/api/v1/plans/json-plan/revisions/2')).toMatchObject({
        status: 404,
        body: { code: 'PARTITION_PLAN_REVISION_NOT_FOUND' },
      });
      expect(await h.get('/api/v1/plans/json-plan/revisions/0')).toMatchObject({ status: 400 });
      expect(await h.get('/api/v1/plans/json-plan/revisions/1')).toMatchObject({
        status: 200,
        body: { revision: 1, plan: { board: 'tgl-i7-1185gre' } },
      });
    });

    it('POST /revisions writes the next revision; a stale If-Match is 412, a stale basedOnRevision 409', async () => {
      const next = modifyPlan(samplePlan(), (p) => (p.hv.maxVmNum = 8));
      const revised = await post('/api/v1/plans/json-plan/revisions', { plan: next }, { 'if-match': '"1"' });
      expect(revised).toMatchObject({ status: 201, body: { revision: 2, latestRevision: 2, changed: true } });
      expect(revised.headers.get('etag')).toBe('"2"');
      expect(revised.headers.get('location')).toBe('/api/v1/plans/json-plan/revisions/2');

      const third = modifyPlan(samplePlan(), (p) => (p.hv.maxVmNum = 4));
      expect(
        await post('/api/v1/plans/json-plan/revisions', { plan: third }, { 'if-match': '"1"' }),
      ).toMatchObject({
        status: 412,
        body: { code: 'PRECONDITION_FAILED' },
      });
      expect(
        await post('/api/v1/plans/json-plan/revisions', { basedOnRevision: 1, plan: third }),
      ).toMatchObject({
        status: 409,
        body: { code: 'PLAN_REVISION_CONFLICT' },
      });
      expect(
        await post('/api/v1/plans/json-plan/revisions', { plan: third }, { 'if-match': 'nope' }),
      ).toMatchObject({
        status: 400,
        body: { code: 'INVALID_IF_MATCH' },
      });
      expect(await post('/api/v1/plans/ghost/revisions', { plan: third })).toMatchObject({
        status: 404,
        body: { code: 'PARTITION_PLAN_NOT_FOUND' },
      });
      expect(await post('/api/v1/plans/json-plan/revisions', { plan: { vms: 'x' } })).toMatchObject({
        status: 422,
        body: { code: 'INVALID_PARTITION_PLAN' },
      });
      expect((await h.get('/api/v1/plans/json-plan')).body).toMatchObject({ latestRevision: 2, revision: 2 });
    });

    it('POST :validate returns every violation with its rule code and severity, saving nothing', async () => {
      const res = await post('/api/v1/plans:validate', { plan: samplePlan(), board: BOARD });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ valid: false, board: { name: BOARD }, unmodelled: [] });
      expect(res.body.errorCount).toBeGreaterThan(0);
      expect(res.body.violations.length).toBe(res.body.errorCount + res.body.warningCount);
      for (const v of res.body.violations as Body[]) {
        expect(v).toMatchObject({
          code: expect.stringMatching(/^[A-Z0-9_]+$/),
          severity: expect.stringMatching(/^(error|warning)$/),
          message: expect.any(String),
          vms: expect.any(Array),
          pcpus: expect.any(Array),
        });
      }
      expect(codes(res.body.violations)).toContain('PCPU_NOT_ON_BOARD');

      expect(await post('/api/v1/plans:validate', { plan: samplePlan(), board: 'nope' })).toMatchObject({
        status: 404,
        body: { code: 'BOARD_NOT_FOUND' },
      });
      expect(await post('/api/v1/plans:validate', { plan: samplePlan() })).toMatchObject({
        status: 422,
        body: { code: 'BOARD_NOT_IMPORTED', details: { boardName: 'tgl-i7-1185gre' } },
      });
      expect(await post('/api/v1/plans:validate', { plan: { board: 'x' } })).toMatchObject({
        status: 422,
        body: { code: 'INVALID_PARTITION_PLAN' },
      });
      const xml = await post(`/api/v1/plans:validate?board=${BOARD}`, scenarioXml, {
        'content-type': 'text/xml',
      });
      expect(xml).toMatchObject({ status: 200, body: { valid: true, board: { name: BOARD } } });
      expect((await post('/api/v1/plans:validate', '<acrn-config', XML)).status).toBe(400);
      expect((await h.get('/api/v1/plans')).body.items).toHaveLength(2);
    });

    it('fleetctl plans validate exits 1 with each violation’s rule code and severity, 0 for a valid plan', async () => {
      const main = path.join(ROOT, 'dist/apps/fleetctl/src/main.js');
      expect(fs.existsSync(main)).toBe(true); // npm run build
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hf-plans-'));
      try {
        fs.writeFileSync(path.join(dir, 'plan.json'), JSON.stringify(samplePlan()));
        fs.writeFileSync(path.join(dir, 'scenario.xml'), scenarioXml);
        const run = (args: string[]) => fleetctl(main, [...args, '--api', h.base], h.adminKey);

        const bad = await run(['plans', 'validate', '--file', path.join(dir, 'plan.json'), '--board', BOARD]);
        expect(bad.code).toBe(1);
        expect(bad.stdout).toMatch(/^INVALID on board whl-ipc-i5/);
        // One line per violation: severity, rule code, VM, sentence.
        expect(bad.stdout).toMatch(/^ {2}error {3}[A-Z0-9_]+ \[RT_VM0\]: /m);
        expect(bad.stdout).toMatch(/^ {2}warning PCPU_NOT_ON_BOARD \[RT_VM0\]: /m);
        expect(bad.stderr.trim().split('\n')).toEqual([
          expect.stringMatching(/^fleetctl: the plan breaks \d+ ACRN rule/),
        ]);

        const good = await run([
          'plans',
          'validate',
          '--xml',
          path.join(dir, 'scenario.xml'),
          '--board',
          BOARD,
          '--json',
        ]);
        expect(good.code).toBe(0);
        expect(JSON.parse(good.stdout)).toMatchObject({ valid: true, board: { name: BOARD } });

        const missing = await run(['plans', 'validate', '--file', path.join(dir, 'none.json')]);
        expect(missing.code).not.toBe(0);
        expect(missing.stderr).toMatch(/^fleetctl: cannot read/);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  it('every plan and board route is in the OpenAPI document; the actor is in the metadata of the plan’s events', async () => {
    const doc = await h.get('/docs-json');
    expect(doc.status).toBe(200);
    const paths = Object.keys(doc.body.paths as Body).filter((p) => /\/api\/v1\/(plans|boards)/.test(p));
    expect(paths.sort()).toEqual(
      [
        '/api/v1/boards',
        '/api/v1/boards/{boardName}',
        '/api/v1/plans',
        '/api/v1/plans/{id}',
        '/api/v1/plans/{id}/revisions',
        '/api/v1/plans/{id}/revisions/{n}',
        '/api/v1/plans/{id}/revisions/{n}/scenario.xml',
        '/api/v1/plans/{id}:assign',
        '/api/v1/plans:validate',
      ].sort(),
    );
    const { rows } = await h.app
      .get<Pool>(PG_POOL)
      .query<{ metadata: Body }>(
        `SELECT metadata FROM hf.events WHERE stream_id = 'partition-plan-whl-part'`,
      );
    expect(rows.length).toBeGreaterThan(0);
    for (const r of rows) {
      expect(r.metadata.actor).toMatchObject({
        subject: expect.any(String),
        credentialId: expect.any(String),
      });
    }
  });

  describe('assignment', () => {
    let board: Board;

    beforeAll(async () => {
      const parsed = parseBoardXml(boardXml);
      if (!parsed.ok) throw new Error(parsed.errors.join('; '));
      board = parsed.value;
      const devices: [string, string, string][] = [
        ['ipc-1', 'industrial-pc', 'plant-1'],
        ['ipc-2', 'industrial-pc', 'plant-1'],
        ['ipc-3', 'industrial-pc', 'plant-1'],
        ['veh-1', 'vehicle', 'plant-1'],
        ['ipc-far', 'industrial-pc', 'plant-9'],
      ];
      for (const [deviceId, deviceClass, site] of devices) {
        const res = await post('/api/v1/devices', { deviceId, deviceClass, site, tags: ['line=a'] });
        expect(res.status).toBe(201);
        // What the gateway runs when the device reports its board inventory.
        await h.app.get(CommandBus).execute(new ReportBoardInventory({ deviceId, board }));
      }
      await h.app.get(ProjectorService).waitUntilCaughtUp();
    });

    it('to one device: 200 with the assignment, the same again changes nothing, refusals keep the domain’s code', async () => {
      const res = await post('/api/v1/plans/whl-part:assign', { deviceId: 'ipc-1' });
      expect(res).toMatchObject({
        status: 200,
        body: {
          planId: 'whl-part',
          revision: 1,
          deviceId: 'ipc-1',
          changed: true,
          warnings: expect.any(Array),
        },
      });
      expect(res.headers.get('etag')).toMatch(/^"\d+"$/);
      expect(await post('/api/v1/plans/whl-part:assign', { deviceId: 'ipc-1', revision: 1 })).toMatchObject({
        status: 200,
        body: { changed: false },
      });
      expect(await post('/api/v1/plans/whl-part:assign', { deviceId: 'veh-1' })).toMatchObject({
        status: 422,
        body: { code: 'PLAN_DEVICE_CLASS_MISMATCH' },
      });
      expect(await post('/api/v1/plans/whl-part:assign', { deviceId: 'ghost' })).toMatchObject({
        status: 404,
        body: { code: 'DEVICE_NOT_PROVISIONED' },
      });
      expect(await post('/api/v1/plans/ghost:assign', { deviceId: 'ipc-1' })).toMatchObject({
        status: 404,
        body: { code: 'PARTITION_PLAN_NOT_FOUND' },
      });
      expect(await post('/api/v1/plans/whl-part:assign', { deviceId: 'ipc-1', revision: 3 })).toMatchObject({
        status: 404,
        body: { code: 'PARTITION_PLAN_REVISION_NOT_FOUND' },
      });
      expect(
        await post('/api/v1/plans/whl-part:assign', { deviceId: 'ipc-1', filter: { site: 'x' } }),
      ).toMatchObject({
        status: 400,
        body: { code: 'VALIDATION_FAILED' },
      });
      expect(
        await post('/api/v1/plans/whl-part:assign', { deviceId: 'ipc-1' }, { 'if-match': '"1"' }),
      ).toMatchObject({
        status: 412,
        body: { code: 'PRECONDITION_FAILED' },
      });
    });

    it('to a filter: one command per matching device, refusals listed per device; the scheduling view shows it', async () => {
      const res = await post('/api/v1/plans/whl-part:assign', {
        filter: { site: 'plant-1', tags: ['line=a'] },
      });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        planId: 'whl-part',
        revision: 1,
        matched: 4,
        assigned: 3,
        rejected: [{ deviceId: 'veh-1', code: 'PLAN_DEVICE_CLASS_MISMATCH', message: expect.any(String) }],
        devices: [
          { deviceId: 'ipc-1', outcome: 'unchanged', code: null },
          { deviceId: 'ipc-2', outcome: 'assigned', code: null },
          { deviceId: 'ipc-3', outcome: 'assigned', code: null },
          { deviceId: 'veh-1', outcome: 'rejected', code: 'PLAN_DEVICE_CLASS_MISMATCH' },
        ],
      });
      expect(await post('/api/v1/plans/whl-part:assign', { filter: {} })).toMatchObject({
        status: 400,
        body: { code: 'VALIDATION_FAILED' },
      });
      expect(await post('/api/v1/plans/whl-part:assign', { filter: { site: 'nowhere' } })).toMatchObject({
        status: 200,
        body: { matched: 0, assigned: 0, rejected: [], devices: [] },
      });

      await h.app.get(ProjectorService).waitUntilCaughtUp();
      await projected(h.app.get<Pool>(PG_POOL), schedulingPolicyProjection);
      for (const id of ['ipc-1', 'ipc-2', 'ipc-3']) {
        const view = await h.get(`/api/v1/scheduling/devices/${id}`);
        expect(view).toMatchObject({ status: 200, body: { assigned: { planId: 'whl-part', revision: 1 } } });
      }
      expect((await h.get('/api/v1/scheduling/devices/ipc-far')).body.assigned).toBeNull();
    });

    it('roles and scope: a viewer reads and validates but cannot write; a scoped key does not see other sites', async () => {
      const key = async (name: string, role: string, scope?: Body) => {
        const res = await post('/api/v1/api-keys', { name, role, ...(scope ? { scope } : {}) });
        expect(res.status).toBe(201);
        return { authorization: `Bearer ${res.body.key as string}` };
      };
      const viewer = await key('plans-viewer', 'viewer');
      expect((await h.request('GET', '/api/v1/plans', undefined, viewer)).status).toBe(200);
      expect((await h.request('GET', `/api/v1/boards/${BOARD}`, undefined, viewer)).status).toBe(200);
      expect(
        (await h.request('POST', '/api/v1/plans:validate', { plan: samplePlan(), board: BOARD }, viewer))
          .status,
      ).toBe(200);
      for (const [method, url, body] of [
        ['POST', '/api/v1/plans', { planId: 'v', deviceClass: 'vehicle', plan: samplePlan() }],
        ['POST', '/api/v1/plans/whl-part/revisions', { plan: samplePlan() }],
        ['POST', '/api/v1/plans/whl-part:assign', { deviceId: 'ipc-1' }],
      ] as const) {
        expect(await h.request(method, url, body, viewer)).toMatchObject({
          status: 403,
          body: { code: 'PERMISSION_DENIED' },
        });
      }
      expect(
        await h.request('PUT', `/api/v1/boards/${BOARD}`, boardXml, { ...viewer, ...XML }),
      ).toMatchObject({ status: 403 });
      expect(
        await h.request('GET', '/api/v1/plans', undefined, { authorization: 'Bearer nope' }),
      ).toMatchObject({
        status: 401,
      });

      const plant1 = await key('plant-1-operator', 'operator', { sites: ['plant-1'] });
      expect(
        await h.request('POST', '/api/v1/plans/whl-part:assign', { deviceId: 'ipc-far' }, plant1),
      ).toMatchObject({
        status: 404,
        body: { code: 'DEVICE_NOT_FOUND' },
      });
      const scoped = await h.request(
        'POST',
        '/api/v1/plans/whl-part:assign',
        { filter: { class: 'industrial-pc' } },
        plant1,
      );
      expect(scoped.status).toBe(200);
      // ipc-far (plant-9) matches the filter but is outside the key's scope.
      expect(scoped.body).toMatchObject({ matched: 3, assigned: 3, rejected: [] });
      expect((scoped.body.devices as Body[]).map((d) => d.deviceId)).toEqual(['ipc-1', 'ipc-2', 'ipc-3']);
    });

    it('fleetctl: boards import/list/show, plans export/import/list/show/assign, one-line errors', async () => {
      const main = path.join(ROOT, 'dist/apps/fleetctl/src/main.js');
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hf-plans-'));
      const run = (...args: string[]) => fleetctl(main, [...args, '--api', h.base], h.adminKey);
      try {
        const boardFile = path.join(dir, 'board.xml');
        fs.writeFileSync(boardFile, boardXml);
        const imported = await run('boards', 'import', BOARD, boardFile);
        expect(imported).toMatchObject({
          code: 0,
          stdout: expect.stringMatching(/^Board whl-ipc-i5 replaced\./),
        });
        expect(await run('boards', 'list')).toMatchObject({
          code: 0,
          stdout: expect.stringContaining(BOARD),
        });
        const shown = await run('boards', 'show', BOARD, '--json');
        expect(JSON.parse(shown.stdout)).toMatchObject({ name: BOARD, revision: 3 });

        const xmlFile = path.join(dir, 'whl-part.xml');
        expect(await run('plans', 'export', 'whl-part', '--out', xmlFile)).toMatchObject({ code: 0 });
        expect(fs.readFileSync(xmlFile, 'utf8')).toContain('<acrn-config');
        const created = await run('plans', 'import', xmlFile, '--id', 'cli-plan', '--class', 'industrial-pc');
        expect(created).toMatchObject({ code: 0, stdout: expect.stringMatching(/^Created plan cli-plan/) });
        const unchanged = await run('plans', 'revise', 'cli-plan', '--xml', xmlFile);
        expect(unchanged).toMatchObject({ code: 0, stdout: expect.stringMatching(/^Unchanged/) });
        const list = await run('plans', 'list', '--json');
        expect((JSON.parse(list.stdout) as Body[]).map((p) => p.planId)).toContain('cli-plan');
        expect(JSON.parse((await run('plans', 'show', 'cli-plan', '--json')).stdout)).toMatchObject({
          planId: 'cli-plan',
          revision: 1,
        });

        expect(await run('plans', 'assign', 'cli-plan', '--device', 'ipc-2')).toMatchObject({
          code: 0,
          stdout: 'Assigned plan cli-plan revision 1 to ipc-2.\n',
        });
        const bulk = await run(
          'plans',
          'assign',
          'cli-plan',
          '--site',
          'plant-1',
          '--tag',
          'line=a',
          '--json',
        );
        expect(bulk.code).toBe(1);
        expect(JSON.parse(bulk.stdout)).toMatchObject({
          matched: 4,
          assigned: 3,
          rejected: [{ deviceId: 'veh-1' }],
        });
        expect(bulk.stderr).toBe('fleetctl: 1 of 4 device(s) refused plan cli-plan\n');

        const missing = await run('plans', 'show', 'ghost');
        expect(missing.code).toBe(1);
        expect(missing.stderr).toMatch(/^fleetctl: PARTITION_PLAN_NOT_FOUND: .+\n$/);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });

    it('Idempotency-Key: an XML upload repeated with the same key is answered from the first time', async () => {
      const url = '/api/v1/plans?planId=idem-plan&deviceClass=industrial-pc&board=' + BOARD;
      const headers = { ...XML, 'idempotency-key': 'plans-idem-1' };
      const first = await post(url, scenarioXml, headers);
      expect(first.status).toBe(201);
      const again = await post(url, scenarioXml, headers);
      expect(again).toMatchObject({ status: 201, body: first.body });
      expect(again.headers.get('idempotent-replayed')).toBe('true');
      expect(
        await post(url, scenarioXml.replace('</acrn-config>', '<!-- x --></acrn-config>'), headers),
      ).toMatchObject({
        status: 422,
        body: { code: 'IDEMPOTENCY_KEY_REUSED' },
      });
    });
  });
});

function fleetctl(
  main: string,
  args: string[],
  apiKey: string | null,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [main, ...args], {
      env: { ...process.env, ...(apiKey ? { HF_API_KEY: apiKey } : {}), FLEETCTL_CONFIG: '/nonexistent' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
