/**
 * /api/v1/releases and /api/v1/artifacts over real HTTP on PostgreSQL, with the projector (the fleet
 * inventory answers "what can this device take"): drafting, images, streaming uploads (wrong hash,
 * truncated, twice, too large), publishing, downloads with Range and ETag, signed device links, yanking.
 */
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { CommandBus } from '@nestjs/cqrs';
import { Command } from 'commander';
import {
  UrlSigner,
  buildImageTargets,
  metadataBytes,
  parseRoot,
  parseTargets,
  readRoleKey,
  tufExpiry,
  verifyRole,
} from '@hyperfleet/artifacts';
import { Metadata, MetadataKind } from '@tufjs/models';
import { sampleBoard, samplePlan } from '@hyperfleet/acrn';
import {
  AssignPartitionPlan,
  CreatePartitionPlan,
  ProvisionDevice,
  ReportBoardInventory,
  ReportHypervisorVersion,
} from '@hyperfleet/domain';
import { RUNTIME, type ArtifactsConfig, type RuntimeInfrastructure } from '@hyperfleet/platform';
import { ProjectorService } from '@hyperfleet/projector';
import { registerReleasesCommands } from '../../../fleetctl/src/commands/releases';
import { startFleetApi, type ApiHarness } from '../../test/api-harness';
import { ARTIFACTS_CONFIG } from './releases.tokens';
import { UptaneService } from './uptane.service';

const planId = 'tgl-hybrid';
const board = 'tgl-i7-1185gre';
const hex = (algorithm: string, data: Buffer) => createHash(algorithm).update(data).digest('hex');
const hvBytes = randomBytes(300_000);
const rtBytes = randomBytes(70_000);
const imageOf = (imageId: string, data: Buffer, extra: Record<string, unknown>) => ({
  imageId,
  version: '3.2.0',
  length: data.length,
  sha256: hex('sha256', data),
  sha512: hex('sha512', data),
  ...extra,
});
const hvImage = imageOf('hv', hvBytes, {
  target: 'hypervisor',
  boardName: board,
  plan: { planId, revision: 1 },
  fileName: 'acrn.bin',
});
const rtImage = imageOf('rt0', rtBytes, {
  target: 'rt-vm',
  vmName: 'RT_VM0',
  version: '1.4.0',
  depends: [{ target: 'hypervisor', min: '3.2' }],
});

describe('/api/v1/releases (HTTP, PostgreSQL, projector)', () => {
  let h: ApiHarness;
  let artifactsDir: string;
  const post = (url: string, body?: unknown, headers?: Record<string, string>) =>
    h.request('POST', url, body ?? {}, headers);
  const objects = () => fs.readdirSync(path.join(artifactsDir, 'sha256'));
  const temps = () => fs.readdirSync(path.join(artifactsDir, 'tmp'));
  const upload = (releaseId: string, imageId: string, body: Buffer, headers: Record<string, string> = {}) =>
    h.request('PUT', `/api/v1/releases/${releaseId}/images/${imageId}/content`, body.toString('latin1'), {
      'content-type': 'application/octet-stream',
      ...headers,
    });
  /** fetch with a Buffer body (h.request sends strings). */
  const put = async (url: string, body: Buffer, headers: Record<string, string> = {}) => {
    const res = await fetch(`${h.base}${url}`, {
      method: 'PUT',
      headers: { ...h.auth, 'content-type': 'application/octet-stream', ...headers },
      body,
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const download = async (url: string, headers: Record<string, string> = {}, auth = true) => {
    const res = await fetch(`${h.base}${url}`, { headers: { ...(auth ? h.auth : {}), ...headers } });
    return { status: res.status, headers: res.headers, bytes: Buffer.from(await res.arrayBuffer()) };
  };

  beforeAll(async () => {
    h = await startFleetApi('hf_api_releases', { projector: true, broker: false });
    artifactsDir = path.join(h.app.get<RuntimeInfrastructure>(RUNTIME).config.dataDir, 'artifacts');
    const bus = h.app.get(CommandBus);
    await bus.execute(new CreatePartitionPlan({ planId, deviceClass: 'vehicle', plan: samplePlan() }));
    for (const [deviceId, deviceClass] of [
      ['veh-1', 'vehicle'],
      ['veh-2', 'vehicle'],
      ['ipc-1', 'industrial-pc'],
    ] as const) {
      await bus.execute(new ProvisionDevice({ deviceId, deviceClass, site: 'depot-1' }));
      await bus.execute(new ReportBoardInventory({ deviceId, board: sampleBoard() }));
    }
    await bus.execute(new AssignPartitionPlan({ deviceId: 'veh-1', planId, revision: 1 }));
    await bus.execute(
      new ReportHypervisorVersion({ deviceId: 'veh-1', version: '3.1', scenario: 'hybrid_rt' }),
    );
    await h.app.get(ProjectorService).waitUntilCaughtUp();
  });

  afterAll(async () => {
    await h?.close();
  });

  it('drafts a release for a plan revision; refuses bad versions and plans that do not exist', async () => {
    const created = await post('/api/v1/releases', {
      releaseId: 'june',
      name: 'ACRN 3.2 for TGL vehicles',
      version: '2025.6.0',
      compatibility: {
        deviceClasses: ['vehicle'],
        boardNames: [board],
        partitionPlan: { planId, revision: 1 },
      },
    });
    expect(created).toMatchObject({ status: 201, body: { releaseId: 'june', status: 'draft', images: [] } });
    expect(created.headers.get('etag')).toBe('"1"');
    expect(await post('/api/v1/releases', { releaseId: 'x', name: 'x', version: 'june' })).toMatchObject({
      status: 422,
      body: { code: 'INVALID_RELEASE_VERSION' },
    });
    expect(
      await post('/api/v1/releases', {
        releaseId: 'x',
        name: 'x',
        version: '1.0',
        compatibility: { partitionPlan: { planId, revision: 9 } },
      }),
    ).toMatchObject({ status: 404, body: { code: 'PARTITION_PLAN_REVISION_NOT_FOUND' } });
    expect(
      (await post('/api/v1/releases', { releaseId: 'june', name: 'again', version: '1.0' })).body.code,
    ).toBe('RELEASE_ALREADY_EXISTS');
  });

  it('refuses a hypervisor image for another board than the plan, then declares the images', async () => {
    expect(await post('/api/v1/releases/june/images', { ...hvImage, boardName: 'whl-ipc-i5' })).toMatchObject(
      {
        status: 422,
        body: { code: 'HYPERVISOR_BOARD_MISMATCH', details: { planBoard: board } },
      },
    );
    expect(await post('/api/v1/releases/june/images', { ...rtImage, vmName: 'HMI_VM' })).toMatchObject({
      status: 422,
      body: { code: 'RTVM_NOT_IN_PLAN' },
    });
    expect((await post('/api/v1/releases/june/images', hvImage)).status).toBe(201);
    const withRt = await post('/api/v1/releases/june/images', rtImage);
    expect(withRt.status).toBe(201);
    expect(withRt.body.images.map((i: { imageId: string }) => i.imageId)).toEqual(['hv', 'rt0']);
  });

  it('an upload with a wrong hash is 422 IMAGE_HASH_MISMATCH and leaves nothing behind', async () => {
    const wrong = randomBytes(hvBytes.length);
    expect(await put('/api/v1/releases/june/images/hv/content', wrong)).toMatchObject({
      status: 422,
      body: { code: 'IMAGE_HASH_MISMATCH', details: { algorithm: 'sha256' } },
    });
    expect(await put('/api/v1/releases/june/images/hv/content', hvBytes.subarray(1))).toMatchObject({
      status: 422,
      body: { code: 'IMAGE_LENGTH_MISMATCH' },
    });
    expect(temps()).toEqual([]);
    expect(objects()).toEqual([]);
  });

  it('a truncated upload (the client aborts mid-stream) leaves no file and the release unchanged', async () => {
    const before = await h.get('/api/v1/releases/june');
    await new Promise<void>((resolve) => {
      const req = http.request(`${h.base}/api/v1/releases/june/images/hv/content`, {
        method: 'PUT',
        headers: {
          ...h.auth,
          'content-type': 'application/octet-stream',
          'content-length': String(hvBytes.length),
        },
      });
      req.on('error', () => resolve());
      req.on('response', () => resolve());
      req.write(hvBytes.subarray(0, 100_000), () => setTimeout(() => req.destroy(), 100));
    });
    for (let i = 0; i < 50 && temps().length > 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(temps()).toEqual([]);
    expect(objects()).toEqual([]);
    const after = await h.get('/api/v1/releases/june');
    expect(after.body.streamVersion).toBe(before.body.streamVersion);
    expect(after.body.images[0]).toMatchObject({ imageId: 'hv', uploaded: false });
  });

  it('over the size limit is 413 ARTIFACT_TOO_LARGE: at once by Content-Length, or as soon as the stream passes it', async () => {
    const early = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request(`${h.base}/api/v1/releases/june/images/hv/content`, {
        method: 'PUT',
        headers: {
          ...h.auth,
          'content-type': 'application/octet-stream',
          'content-length': String(16 * 1024 ** 3),
        },
      });
      req.on('response', (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, body });
          req.destroy();
        });
      });
      req.on('error', reject);
      req.write(Buffer.alloc(1024)); // the answer comes before the body does
    });
    expect(early.status).toBe(413);
    expect(JSON.parse(early.body)).toMatchObject({ code: 'ARTIFACT_TOO_LARGE' });

    // The harness fixes the environment: lower the limit on the running app's configuration.
    const config =
      h.app.get<{ -readonly [K in keyof ArtifactsConfig]: ArtifactsConfig[K] }>(ARTIFACTS_CONFIG);
    const saved = config.maxBytes;
    config.maxBytes = 64 * 1024;
    try {
      // Chunked (no Content-Length): the store counts and stops at the limit.
      const chunked = await fetch(`${h.base}/api/v1/releases/june/images/hv/content`, {
        method: 'PUT',
        headers: { ...h.auth, 'content-type': 'application/octet-stream' },
        body: new ReadableStream({
          start(controller) {
            controller.enqueue(hvBytes.subarray(0, 200_000));
            controller.close();
          },
        }),
        duplex: 'half',
      } as RequestInit);
      expect(chunked.status).toBe(413);
      expect(((await chunked.json()) as { code: string }).code).toBe('ARTIFACT_TOO_LARGE');
    } finally {
      config.maxBytes = saved;
    }
    for (let i = 0; i < 50 && temps().length > 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(temps()).toEqual([]);
    expect(objects()).toEqual([]);
  });

  it('publishing needs every image uploaded; the same bytes uploaded twice are stored once', async () => {
    expect(await post('/api/v1/releases/june:publish')).toMatchObject({
      status: 422,
      body: { code: 'IMAGE_UPLOAD_MISSING', details: { imageIds: ['hv', 'rt0'] } },
    });
    const first = await put('/api/v1/releases/june/images/hv/content', hvBytes);
    expect(first).toMatchObject({
      status: 200,
      body: { stored: 'created', sha256: hvImage.sha256, sha512: hvImage.sha512, length: hvBytes.length },
    });
    expect(await put('/api/v1/releases/june/images/hv/content', hvBytes)).toMatchObject({
      status: 200,
      body: { stored: 'existing' },
    });
    // Another release with the same hypervisor binary: still one file.
    expect(
      (await post('/api/v1/releases', { releaseId: 'june-b', name: 'B', version: '2025.6.1' })).status,
    ).toBe(201);
    expect((await post('/api/v1/releases/june-b/images', hvImage)).status).toBe(201);
    expect(await put('/api/v1/releases/june-b/images/hv/content', hvBytes)).toMatchObject({
      status: 200,
      body: { stored: 'existing' },
    });
    expect(objects()).toEqual([hvImage.sha256]);

    expect(await post('/api/v1/releases/june:publish')).toMatchObject({
      status: 422,
      body: { code: 'IMAGE_UPLOAD_MISSING', details: { imageIds: ['rt0'] } },
    });
    expect((await put('/api/v1/releases/june/images/rt0/content', rtBytes)).status).toBe(200);
    const published = await post('/api/v1/releases/june:publish');
    expect(published).toMatchObject({ status: 200, body: { status: 'published' } });
    expect(
      await post('/api/v1/releases/june/images', { ...rtImage, imageId: 'rt1', vmName: 'RT_VM1' }),
    ).toMatchObject({
      status: 409,
      body: { code: 'RELEASE_NOT_DRAFT' },
    });
    expect(await upload('june', 'nope', Buffer.alloc(1))).toMatchObject({
      status: 404,
      body: { code: 'RELEASE_IMAGE_NOT_FOUND' },
    });
    expect(await upload('june', 'hv', Buffer.alloc(1), { 'content-type': 'text/plain' })).toMatchObject({
      status: 415,
    });
  });

  it('downloads resume with Range (206), answer 304 to the sha256 as ETag, 416 to a bad range', async () => {
    const url = '/api/v1/releases/june/images/hv/content';
    const full = await download(url);
    expect(full.status).toBe(200);
    expect(full.headers.get('etag')).toBe(`"${hvImage.sha256}"`);
    expect(full.headers.get('accept-ranges')).toBe('bytes');
    expect(full.bytes.equals(hvBytes)).toBe(true);

    // A dropped link after 123,456 bytes: fetch the rest.
    const head = hvBytes.subarray(0, 123_456);
    const rest = await download(url, { range: `bytes=${head.length}-`, 'if-range': `"${hvImage.sha256}"` });
    expect(rest.status).toBe(206);
    expect(rest.headers.get('content-range')).toBe(
      `bytes ${head.length}-${hvBytes.length - 1}/${hvBytes.length}`,
    );
    expect(hex('sha256', Buffer.concat([head, rest.bytes]))).toBe(hvImage.sha256);
    const middle = await download(url, { range: 'bytes=10-19' });
    expect(middle.status).toBe(206);
    expect(middle.bytes.equals(hvBytes.subarray(10, 20))).toBe(true);
    const suffix = await download(url, { range: 'bytes=-5' });
    expect(suffix.bytes.equals(hvBytes.subarray(hvBytes.length - 5))).toBe(true);

    expect((await download(url, { 'if-none-match': `"${hvImage.sha256}"` })).status).toBe(304);
    const bad = await download(url, { range: `bytes=${hvBytes.length}-` });
    expect(bad.status).toBe(416);
    expect(bad.headers.get('content-range')).toBe(`bytes */${hvBytes.length}`);
    expect((await download(`/api/v1/artifacts/${hvImage.sha256}`, { range: 'bytes=0-0' })).bytes).toEqual(
      hvBytes.subarray(0, 1),
    );
    expect((await download(`/api/v1/artifacts/${'0'.repeat(64)}`)).status).toBe(404);
  });

  it('signed links need no credential; a changed or expired link is 403', async () => {
    const signed = await post('/api/v1/releases/june/images/hv:sign-url', {
      deviceId: 'veh-1',
      ttlSeconds: 60,
    });
    expect(signed).toMatchObject({ status: 200, body: { sha256: hvImage.sha256, length: hvBytes.length } });
    const url = signed.body.url as string;
    expect(url).toMatch(/^\/api\/v1\/artifact-downloads\/[0-9a-f]{64}\?expires=\d+&device=veh-1&sig=/);
    const unsigned = await download(`/api/v1/artifacts/${hvImage.sha256}`, {}, false);
    expect(unsigned.status).toBe(401);
    const got = await download(url, { range: 'bytes=0-99' }, false);
    expect(got.status).toBe(206);
    expect(got.bytes.equals(hvBytes.subarray(0, 100))).toBe(true);

    const tampered = url.replace(/sig=(.)/, (_m, c: string) => `sig=${c === 'A' ? 'B' : 'A'}`);
    const laterExpiry = url.replace(/expires=(\d+)/, (_m, n: string) => `expires=${Number(n) + 3600}`);
    const otherDevice = url.replace('device=veh-1', 'device=veh-2');
    for (const changed of [tampered, laterExpiry, otherDevice]) {
      const res = await h.request('GET', changed, undefined, { authorization: '' });
      expect(res).toMatchObject({ status: 403, body: { code: 'URL_SIGNATURE_INVALID' } });
    }
    const signer = h.app.get(UrlSigner);
    const expired = signer.sign({
      path: `/api/v1/artifact-downloads/${hvImage.sha256}`,
      expires: Math.floor(Date.now() / 1000) - 1,
    });
    expect(await h.request('GET', expired, undefined, { authorization: '' })).toMatchObject({
      status: 403,
      body: { code: 'URL_EXPIRED' },
    });
  });

  it('lists what a device can take, and every reason another device cannot', async () => {
    const ids = async (query: string) =>
      ((await h.get(`/api/v1/releases${query}`)).body.items as { releaseId: string }[]).map(
        (r) => r.releaseId,
      );
    expect(await ids('')).toEqual(expect.arrayContaining(['june', 'june-b']));
    expect(await ids('?deviceId=veh-1')).toEqual(['june']);
    expect(await ids('?deviceId=veh-2')).toEqual([]);
    expect(await ids('?deviceId=ipc-1')).toEqual([]);
    expect(await ids('?status=draft')).toEqual(['june-b']);
    expect((await h.get('/api/v1/releases?deviceId=ghost')).status).toBe(404);

    const veh2 = await h.get('/api/v1/releases/june/compatibility?deviceId=veh-2');
    expect(veh2.body).toMatchObject({ compatible: false, reasons: [{ code: 'PLAN_NOT_COMPATIBLE' }] });
    const ipc = await h.get('/api/v1/releases/june/compatibility?deviceId=ipc-1');
    expect(ipc.body.reasons.map((r: { code: string }) => r.code)).toEqual([
      'DEVICE_CLASS_NOT_COMPATIBLE',
      'PLAN_NOT_COMPATIBLE',
    ]);
    const veh1 = await h.get('/api/v1/releases/june/compatibility?deviceId=veh-1');
    expect(veh1.body).toMatchObject({ compatible: true, reasons: [] });
  });

  it('a yanked release is never offered again and its images are not handed out', async () => {
    expect(await post('/api/v1/releases/june-b:yank', { reason: 'x' })).toMatchObject({
      status: 409,
      body: { code: 'RELEASE_NOT_PUBLISHED' },
    });
    expect((await post('/api/v1/releases/june:yank', {})).status).toBe(400);
    const yanked = await post('/api/v1/releases/june:yank', { reason: 'RT_VM0 misses its deadline' });
    expect(yanked).toMatchObject({
      status: 200,
      body: { status: 'yanked', yankReason: 'RT_VM0 misses its deadline' },
    });
    expect((await h.get('/api/v1/releases?deviceId=veh-1')).body.items).toEqual([]);
    expect((await h.get('/api/v1/releases?status=yanked')).body.items[0].releaseId).toBe('june');
    expect(await post('/api/v1/releases/june/images/hv:sign-url', {})).toMatchObject({
      status: 409,
      body: { code: 'RELEASE_YANKED' },
    });
    expect(await post('/api/v1/releases/june:deprecate', {})).toMatchObject({
      status: 409,
      body: { code: 'RELEASE_YANKED' },
    });
  });

  it('documents every route in the OpenAPI document', async () => {
    const doc = await h.get('/docs-json');
    const paths = doc.body.paths as Record<string, Record<string, { responses: object }>>;
    const expected: [string, string[]][] = [
      ['/api/v1/releases', ['get', 'post']],
      ['/api/v1/releases/{id}', ['get']],
      ['/api/v1/releases/{id}/compatibility', ['get']],
      ['/api/v1/releases/{id}/images', ['post']],
      ['/api/v1/releases/{id}/images/{imageId}/content', ['get', 'put']],
      ['/api/v1/releases/{id}/images/{imageId}:sign-url', ['post']],
      ['/api/v1/releases/{id}:publish', ['post']],
      ['/api/v1/releases/{id}:deprecate', ['post']],
      ['/api/v1/releases/{id}:yank', ['post']],
      ['/api/v1/artifacts/{sha256}', ['get']],
      ['/api/v1/artifact-downloads/{sha256}', ['get']],
    ];
    for (const [p, methods] of expected) {
      expect({
        p,
        methods: Object.keys(paths[p] ?? {})
          .filter((m) => m !== 'parameters')
          .sort(),
      }).toEqual({ p, methods });
    }
    const put = paths['/api/v1/releases/{id}/images/{imageId}/content'].put as unknown as {
      requestBody: { content: object };
      responses: object;
    };
    expect(Object.keys(put.requestBody.content)).toEqual(['application/octet-stream']);
    expect(Object.keys(put.responses)).toEqual(expect.arrayContaining(['200', '413', '422']));
  });

  it('fleetctl releases: create, add-image --upload (streamed from disk), publish, list --device, show', async () => {
    const file = path.join(artifactsDir, '..', 'sos.img');
    const sos = randomBytes(1_500_000);
    fs.writeFileSync(file, sos);
    const out: string[] = [];
    const log = jest.spyOn(console, 'log').mockImplementation((line: string) => void out.push(String(line)));
    const err = jest
      .spyOn(console, 'error')
      .mockImplementation((line: string) => void out.push(String(line)));
    const fleetctl = async (...args: string[]) => {
      const program = new Command().exitOverride();
      registerReleasesCommands(program);
      process.exitCode = undefined;
      await program.parseAsync(
        [
          'releases',
          ...args,
          ...(args[0] === 'keys' && args[1] === 'init'
            ? []
            : ['--api', h.base, ...(h.adminKey ? ['--api-key', h.adminKey] : [])]),
        ],
        {
          from: 'user',
        },
      );
      const code = process.exitCode;
      process.exitCode = undefined;
      return code;
    };
    try {
      expect(
        await fleetctl(
          'create',
          'sos-7',
          '--name',
          'Service VM 7',
          '--version',
          '7.0.0',
          '--class',
          'vehicle',
        ),
      ).toBe(0);
      expect(
        await fleetctl(
          'add-image',
          'sos-7',
          'sos',
          file,
          '--target',
          'service-vm-os',
          '--version',
          '7.0.0',
          '--upload',
        ),
      ).toBe(0);
      expect(out.join('\n')).toMatch(/Uploaded sos of sos-7: 1,500,000 bytes/);
      expect(await fleetctl('publish', 'sos-7')).toBe(0);
      expect(await fleetctl('yank', 'sos-7')).toBe(1); // usage: --reason missing
      expect(
        await fleetctl('add-image', 'sos-7', 'k', file, '--target', 'service-vm-kernel', '--version', '7'),
      ).toBe(2);
      expect(out.join('\n')).toMatch(/INVALID_RELEASE_VERSION|RELEASE_NOT_DRAFT/);
      out.length = 0;
      expect(await fleetctl('list', '--device', 'veh-2')).toBe(0);
      expect(out.join('\n')).toMatch(/^sos-7 +7\.0\.0 +published/m);
      out.length = 0;
      expect(await fleetctl('show', 'sos-7', '--json')).toBe(0);
      const shown = JSON.parse(out.join('\n')) as { images: { sha256: string; uploaded: boolean }[] };
      expect(shown.images[0]).toMatchObject({ sha256: hex('sha256', sos), uploaded: true });

      // Offline: Image repository keys, then targets.json over the published catalogue (june was yanked).
      const keys = path.join(artifactsDir, '..', 'offline-keys');
      expect(await fleetctl('keys', 'init', '--out', keys)).toBe(0);
      expect(await fleetctl('keys', 'init', '--out', keys)).toBe(1); // never overwritten
      const targetsFile = path.join(keys, 'targets.json');
      expect(await fleetctl('sign-targets', '--keys', keys, '--version', '1', '--out', targetsFile)).toBe(0);
      const root = parseRoot(JSON.parse(fs.readFileSync(path.join(keys, '1.root.json'), 'utf8')));
      const targets = parseTargets(JSON.parse(fs.readFileSync(targetsFile, 'utf8')));
      expect(() => verifyRole(root, 'targets', targets)).not.toThrow();
      expect(Object.keys(targets.signed.targets)).toEqual(['sos-7/sos/sos.img']);
      expect(targets.signed.targets['sos-7/sos/sos.img']).toMatchObject({
        length: sos.length,
        hashes: { sha256: hex('sha256', sos), sha512: hex('sha512', sos) },
      });

      // The server: root uploaded, online keys in HF_DATA_DIR/uptane/online, targets pushed → snapshot and
      // timestamp signed online; a device reads all four without a credential and checks the chain.
      const dataDir = path.dirname(artifactsDir);
      fs.cpSync(path.join(keys, 'online'), path.join(dataDir, 'uptane', 'online'), { recursive: true });
      expect(await fleetctl('keys', 'push-root', path.join(keys, '1.root.json'))).toBe(0);
      expect(
        await fleetctl('sign-targets', '--keys', keys, '--version', '2', '--out', targetsFile, '--push'),
      ).toBe(0);
      expect(
        await fleetctl('sign-targets', '--keys', keys, '--version', '2', '--out', targetsFile, '--push'),
      ).toBe(2);
      const fetchPublic = async (file: string) => {
        const res = await fetch(`${h.base}/api/v1/uptane/image-repository/${file}`);
        expect({ file, status: res.status }).toEqual({ file, status: 200 });
        return (await res.json()) as Parameters<typeof Metadata.fromJSON>[1];
      };
      const served = {
        root: parseRoot(await fetchPublic('1.root.json')),
        timestamp: Metadata.fromJSON(MetadataKind.Timestamp, await fetchPublic('timestamp.json')),
        snapshot: Metadata.fromJSON(MetadataKind.Snapshot, await fetchPublic('snapshot.json')),
        targets: parseTargets(await fetchPublic('targets.json')),
      };
      for (const role of ['timestamp', 'snapshot', 'targets'] as const) {
        expect(() => verifyRole(served.root, role, served[role])).not.toThrow();
      }
      expect(() => served.timestamp.signed.snapshotMeta.verify(metadataBytes(served.snapshot))).not.toThrow();
      expect(() =>
        served.snapshot.signed.meta['targets.json'].verify(metadataBytes(served.targets)),
      ).not.toThrow();
      expect(served.snapshot.signed.meta['targets.json'].version).toBe(2);
      // The timestamp is re-signed over the same snapshot before it expires (not while it is fresh).
      const uptane = h.app.get(UptaneService);
      expect(await uptane.refreshTimestamp()).toBeNull();
      expect(await uptane.refreshTimestamp(new Date(Date.now() + 20 * 3_600_000))).toBe(2);
      const refreshed = Metadata.fromJSON(MetadataKind.Timestamp, await fetchPublic('timestamp.json'));
      expect(refreshed.signed.version).toBe(2);
      expect(() => verifyRole(served.root, 'timestamp', refreshed)).not.toThrow();
      expect(() => refreshed.signed.snapshotMeta.verify(metadataBytes(served.snapshot))).not.toThrow();
      const status = await h.get('/api/v1/uptane/image-repository/status');
      expect(status.body.roles).toMatchObject({
        root: { version: 1 },
        targets: { version: 2 },
        timestamp: { version: 2 },
      });

      // Signed by an online key instead of the offline targets key: refused.
      const forged = buildImageTargets([], {
        version: 3,
        expires: tufExpiry(new Date(Date.now() + 86_400_000)),
        signWith: [readRoleKey(keys, 'timestamp')],
      });
      expect(
        await h.request('PUT', '/api/v1/uptane/image-repository/targets', forged.toJSON()),
      ).toMatchObject({
        status: 422,
        body: { code: 'UPTANE_METADATA_INVALID' },
      });
      expect(
        (
          await h.request('GET', '/api/v1/uptane/image-repository/9.root.json', undefined, {
            authorization: '',
          })
        ).status,
      ).toBe(404);
    } finally {
      log.mockRestore();
      err.mockRestore();
    }
  });
});
