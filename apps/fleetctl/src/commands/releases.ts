/**
 * fleetctl releases: the release catalogue from a pipeline or a terminal.
 *
 *   releases create <id> --name N --version V [--class c]... [--board b]... [--plan id@rev]
 *   releases add-image <id> <imageId> <file> --target T --version V [--vm n] [--board b] [--plan id@rev]
 *            [--depends hypervisor>=3.2]...   (length, sha256 and sha512 are computed from the file)
 *   releases upload <id> <imageId> <file>      (streamed from disk; a progress bar on a terminal)
 *   releases publish|deprecate|yank <id>, releases list [--device D], releases show <id>,
 *   releases sign-url <id> <imageId> [--device D]
 *   releases keys init --out <dir>             (offline: Image repository keys and the first root.json)
 *   releases sign-targets --keys <dir> --version N --out targets.json  (offline: signs the catalogue)
 *
 * Exit codes: 0 done, 1 usage or transport error, 2 the API refused (its code is printed).
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import type { Command } from 'commander';
import {
  buildImageTargets,
  initKeySet,
  readRoleKey,
  tufExpiry,
  type CatalogueRelease,
} from '@hyperfleet/artifacts';
import { ApiCallError, callApi, defaultApiKey, defaultApiUrl } from '../client';
import { ProgressBar } from '../progress';
import { UsageError, withApiOptions, type ApiOptions } from './device-commands';

export const RELEASE_EXIT = { ok: 0, usage: 1, refused: 2 } as const;

interface ImageView {
  imageId: string;
  target: string;
  vmName: string | null;
  boardName: string | null;
  version: string;
  length: number;
  sha256: string;
  uploaded: boolean;
}
interface ReleaseView {
  releaseId: string;
  name: string;
  version: string;
  status: string;
  compatibility: {
    deviceClasses: string[];
    boardNames: string[];
    partitionPlan: { planId: string; revision: number } | null;
  };
  images: ImageView[];
  streamVersion: number;
  yankReason: string | null;
}

const rel = (id: string, rest = '') => `api/v1/releases/${encodeURIComponent(id)}${rest}`;
const collect = (value: string, previous: string[] = []) => [...previous, value];

/** `plan-id@3` → { planId, revision }. */
export function parsePlanRef(text: string): { planId: string; revision: number } {
  const m = /^([A-Za-z0-9][A-Za-z0-9._:-]{0,127})@(\d+)$/.exec(text);
  if (!m) throw new UsageError(`"${text}" is not a plan revision (plan-id@revision, e.g. tgl-hybrid@2)`);
  return { planId: m[1], revision: Number(m[2]) };
}

/** `hypervisor>=3.2`, `rt-vm:RT_VM0>=1.0,<=1.9` → a dependency. */
export function parseDependency(text: string): {
  target: string;
  vmName?: string;
  min?: string;
  max?: string;
} {
  const m = /^([a-z-]+)(?::([A-Za-z0-9_-]{1,15}))?((?:(?:>=|<=)[^,<>=]+,?)+)$/.exec(text.trim());
  if (!m)
    throw new UsageError(`"${text}" is not a dependency (e.g. hypervisor>=3.2 or rt-vm:RT_VM0>=1.0,<=1.9)`);
  const dep: { target: string; vmName?: string; min?: string; max?: string } = { target: m[1] };
  if (m[2]) dep.vmName = m[2];
  for (const part of m[3].split(',').filter(Boolean)) {
    if (part.startsWith('>=')) dep.min = part.slice(2);
    else dep.max = part.slice(2);
  }
  return dep;
}

function action<A extends unknown[]>(fn: (...args: A) => Promise<void>) {
  return async (...args: A) => {
    try {
      await fn(...args);
      if (process.exitCode === undefined) process.exitCode = RELEASE_EXIT.ok;
    } catch (err) {
      if (err instanceof UsageError) {
        console.error(`fleetctl: ${err.message}`);
        process.exitCode = RELEASE_EXIT.usage;
        return;
      }
      if (err instanceof ApiCallError) {
        console.error(`fleetctl: ${err.message}`);
        // A status means the API answered and refused; none means it could not be reached.
        process.exitCode =
          err.status !== undefined && err.status < 500 ? RELEASE_EXIT.refused : RELEASE_EXIT.usage;
        return;
      }
      throw err;
    }
  };
}

function call<T>(o: ApiOptions, method: string, path: string, body?: unknown): Promise<T> {
  return callApi<T>(o.api ?? defaultApiUrl(), method, path, body, o.apiKey ? { apiKey: o.apiKey } : {});
}

function fileSize(file: string): number {
  try {
    const stat = fs.statSync(file);
    if (!stat.isFile()) throw new UsageError(`${file} is not a file`);
    return stat.size;
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError(`cannot read ${file}: ${(err as Error).message}`);
  }
}

/** Streams the file once through sha256 and sha512 (never held in memory). */
export async function digestFile(
  file: string,
  onProgress?: (done: number) => void,
): Promise<{ length: number; sha256: string; sha512: string }> {
  const sha256 = createHash('sha256');
  const sha512 = createHash('sha512');
  let length = 0;
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 20 })) {
    sha256.update(chunk as Buffer);
    sha512.update(chunk as Buffer);
    length += (chunk as Buffer).length;
    onProgress?.(length);
  }
  return { length, sha256: sha256.digest('hex'), sha512: sha512.digest('hex') };
}

/** PUT the file as application/octet-stream, streamed from disk with backpressure. */
export function uploadFile(
  url: string,
  file: string,
  apiKey: string | undefined,
  onProgress?: (sent: number) => void,
): Promise<{ status: number; body: unknown }> {
  const size = fileSize(file);
  const target = new URL(url);
  const client = target.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = client.request(target, {
      method: 'PUT',
      headers: {
        'content-type': 'application/octet-stream',
        'content-length': String(size),
        ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}),
      },
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown;
        try {
          body = text ? JSON.parse(text) : undefined;
        } catch {
          body = { message: text.slice(0, 200) };
        }
        resolve({ status: res.statusCode ?? 0, body });
      });
      // An early refusal (413, 422) arrives before the file is sent: stop reading it.
      stream.destroy();
    });
    req.on('error', (err) => reject(new ApiCallError(`upload failed: ${err.message}`)));
    const stream = fs.createReadStream(file, { highWaterMark: 1 << 20 });
    let sent = 0;
    stream.on('data', (chunk) => {
      sent += chunk.length;
      onProgress?.(sent);
    });
    stream.on('error', (err) => req.destroy(err));
    stream.pipe(req);
  });
}

function describe(r: ReleaseView): string {
  const plan = r.compatibility.partitionPlan;
  const lines = [
    `${r.releaseId}  ${r.name} ${r.version}  [${r.status}]  (version ${r.streamVersion})`,
    `  for: ${r.compatibility.deviceClasses.join(', ') || 'any class'}; ${r.compatibility.boardNames.join(', ') || 'any board'}` +
      (plan ? `; plan ${plan.planId}@${plan.revision}` : ''),
    ...r.images.map(
      (i) =>
        `  ${i.imageId.padEnd(12)} ${(i.target + (i.vmName ? `:${i.vmName}` : '')).padEnd(24)} ${i.version.padEnd(12)} ` +
        `${i.length.toLocaleString('en-US').padStart(15)} B  ${i.sha256.slice(0, 12)}…  ${i.uploaded ? 'uploaded' : 'NOT UPLOADED'}`,
    ),
  ];
  if (r.yankReason) lines.push(`  yanked: ${r.yankReason}`);
  return lines.join('\n');
}

function print(o: ApiOptions, r: ReleaseView, line?: string): void {
  if (o.json) console.log(JSON.stringify(r, null, 2));
  else console.log(line ?? describe(r));
}

export function registerReleasesCommands(program: Command): void {
  const releases = program
    .command('releases')
    .description('the release catalogue: hypervisor, Service VM and RT VM images, compatibility, lifecycle');

  withApiOptions(
    releases
      .command('create <releaseId>')
      .description('draft a release')
      .requiredOption('--name <name>', 'human name')
      .requiredOption('--version <version>', 'semver-ish version, e.g. 2025.6.0')
      .option('--description <text>', 'free text')
      .option('--class <deviceClass>', 'a device class it is for (repeatable)', collect)
      .option('--board <boardName>', 'a board it is for (repeatable)', collect)
      .option('--plan <planId@revision>', 'the partition plan revision it was built for')
      .option('--min-hypervisor <version>', 'the hypervisor a device must run at least')
      .option('--max-hypervisor <version>', 'the hypervisor a device may run at most'),
  ).action(
    action(
      async (
        releaseId: string,
        o: ApiOptions & {
          name: string;
          version: string;
          description?: string;
          class?: string[];
          board?: string[];
          plan?: string;
          minHypervisor?: string;
          maxHypervisor?: string;
        },
      ) => {
        const hypervisor = {
          ...(o.minHypervisor ? { min: o.minHypervisor } : {}),
          ...(o.maxHypervisor ? { max: o.maxHypervisor } : {}),
        };
        const r = await call<ReleaseView>(o, 'POST', 'api/v1/releases', {
          releaseId,
          name: o.name,
          version: o.version,
          ...(o.description ? { description: o.description } : {}),
          compatibility: {
            ...(o.class ? { deviceClasses: o.class } : {}),
            ...(o.board ? { boardNames: o.board } : {}),
            ...(o.plan ? { partitionPlan: parsePlanRef(o.plan) } : {}),
            ...(Object.keys(hypervisor).length ? { currentVersions: { hypervisor } } : {}),
          },
        });
        print(o, r, `Drafted ${r.releaseId} (${r.name} ${r.version}).`);
      },
    ),
  );

  withApiOptions(
    releases
      .command('add-image <releaseId> <imageId> <file>')
      .description('declare an image of a draft release; length and hashes are computed from the file')
      .requiredOption('--target <target>', 'hypervisor, service-vm-os, service-vm-kernel or rt-vm')
      .requiredOption('--version <version>', 'the image version, e.g. 3.2.0')
      .option('--vm <vmName>', 'rt-vm images: the ACRN VM name')
      .option('--board <boardName>', 'hypervisor images: the board acrn.bin is built for')
      .option('--plan <planId@revision>', 'hypervisor images: the plan revision compiled into acrn.bin')
      .option('--media-type <type>', 'default application/octet-stream')
      .option('--depends <dependency>', 'e.g. hypervisor>=3.2 (repeatable)', collect)
      .option('--upload', 'upload the file right after declaring it'),
  ).action(
    action(
      async (
        releaseId: string,
        imageId: string,
        file: string,
        o: ApiOptions & {
          target: string;
          version: string;
          vm?: string;
          board?: string;
          plan?: string;
          mediaType?: string;
          depends?: string[];
          upload?: boolean;
        },
      ) => {
        const size = fileSize(file);
        const bar = o.json || !process.stdout.isTTY ? null : new ProgressBar(`hashing ${imageId}`);
        const digest = await digestFile(file, (done) => bar?.update(done, size));
        if (bar) process.stdout.write('\n');
        const r = await call<ReleaseView>(o, 'POST', rel(releaseId, '/images'), {
          imageId,
          target: o.target,
          version: o.version,
          fileName: file.split(/[\\/]/).pop(),
          ...digest,
          ...(o.vm ? { vmName: o.vm } : {}),
          ...(o.board ? { boardName: o.board } : {}),
          ...(o.plan ? { plan: parsePlanRef(o.plan) } : {}),
          ...(o.mediaType ? { mediaType: o.mediaType } : {}),
          ...(o.depends ? { depends: o.depends.map(parseDependency) } : {}),
        });
        if (!o.upload) {
          print(o, r, `Declared image ${imageId} of ${releaseId} (${digest.length} bytes).`);
          return;
        }
        await runUpload(o, releaseId, imageId, file);
      },
    ),
  );

  withApiOptions(
    releases
      .command('upload <releaseId> <imageId> <file>')
      .description("upload an image's bytes, streamed from disk (hash checked by the API)"),
  ).action(
    action(async (releaseId: string, imageId: string, file: string, o: ApiOptions) => {
      await runUpload(o, releaseId, imageId, file);
    }),
  );

  for (const [verb, description] of [
    ['publish', 'publish a draft (every image uploaded)'],
    ['deprecate', 'deprecate a published release (no longer offered)'],
    ['yank', 'yank a release: never offered again (needs --reason)'],
  ] as const) {
    withApiOptions(
      releases.command(`${verb} <releaseId>`).description(description).option('--reason <text>', 'why'),
    ).action(
      action(async (releaseId: string, o: ApiOptions & { reason?: string }) => {
        if (verb === 'yank' && !o.reason) throw new UsageError('yank needs --reason');
        const r = await call<ReleaseView>(
          o,
          'POST',
          rel(releaseId, `:${verb}`),
          verb === 'publish' ? {} : o.reason ? { reason: o.reason } : {},
        );
        print(o, r, `${r.releaseId} is ${r.status}.`);
      }),
    );
  }

  withApiOptions(
    releases
      .command('list')
      .description('list releases; with --device, what that device can take now')
      .option('--device <deviceId>', 'only releases this device can take')
      .option('--status <status>', 'draft, published, deprecated or yanked')
      .option('--board <boardName>', 'releases for this board'),
  ).action(
    action(async (o: ApiOptions & { device?: string; status?: string; board?: string }) => {
      const query = new URLSearchParams();
      if (o.device) query.set('deviceId', o.device);
      if (o.status) query.set('status', o.status);
      if (o.board) query.set('boardName', o.board);
      const q = query.toString();
      const r = await call<{ items: ReleaseView[] }>(o, 'GET', `api/v1/releases${q ? `?${q}` : ''}`);
      if (o.json) console.log(JSON.stringify(r, null, 2));
      else if (r.items.length === 0) console.log(o.device ? `Nothing for ${o.device}.` : 'No releases.');
      else
        for (const item of r.items) {
          console.log(
            `${item.releaseId.padEnd(28)} ${item.version.padEnd(14)} ${item.status.padEnd(11)} ${item.name}`,
          );
        }
    }),
  );

  withApiOptions(releases.command('show <releaseId>').description('one release and its images')).action(
    action(async (releaseId: string, o: ApiOptions) => {
      print(o, await call<ReleaseView>(o, 'GET', rel(releaseId)));
    }),
  );

  withApiOptions(
    releases
      .command('sign-url <releaseId> <imageId>')
      .description('a short-lived download link for a device (no credential needed)')
      .option('--device <deviceId>', 'bind the link to one device')
      .option('--ttl <seconds>', 'how long it is valid'),
  ).action(
    action(async (releaseId: string, imageId: string, o: ApiOptions & { device?: string; ttl?: string }) => {
      if (o.ttl !== undefined && !/^\d+$/.test(o.ttl)) throw new UsageError('--ttl takes whole seconds');
      const r = await call<{ url: string; expiresAt: string }>(
        o,
        'POST',
        rel(releaseId, `/images/${encodeURIComponent(imageId)}:sign-url`),
        { ...(o.device ? { deviceId: o.device } : {}), ...(o.ttl ? { ttlSeconds: Number(o.ttl) } : {}) },
      );
      const api = o.api ?? defaultApiUrl();
      const absolute = new URL(r.url, api.endsWith('/') ? api : `${api}/`).toString();
      if (o.json) console.log(JSON.stringify({ ...r, absoluteUrl: absolute }, null, 2));
      else console.log(`${absolute}\n(valid until ${r.expiresAt})`);
    }),
  );

  const keys = releases.command('keys').description("the Image repository's signing keys (Uptane/TUF)");
  keys
    .command('init')
    .description(
      'make root, targets, snapshot and timestamp keys and the first root.json, on an offline machine',
    )
    .requiredOption('--out <dir>', 'where to write them (root and targets keys stay there, offline)')
    .option('--root-expires-days <days>', 'how long the first root is valid', '365')
    .action(
      action(async (o: { out: string; rootExpiresDays: string }) => {
        if (!/^\d+$/.test(o.rootExpiresDays)) throw new UsageError('--root-expires-days takes whole days');
        let made: ReturnType<typeof initKeySet>;
        try {
          made = initKeySet(o.out, { rootExpiresDays: Number(o.rootExpiresDays) });
        } catch (err) {
          throw new UsageError((err as Error).message);
        }
        for (const [role, key] of Object.entries(made.keys)) console.log(`${role.padEnd(10)} ${key.keyId}`);
        console.log(
          `Wrote ${o.out}/1.root.json (expires ${made.root.signed.expires}). Keep ${o.out}/offline off the server; ` +
            `${o.out}/online holds the snapshot and timestamp keys the server signs with.`,
        );
      }),
    );

  withApiOptions(
    keys
      .command('push-root <file>')
      .description('upload a signed root.json (1.root.json from keys init, or a rotation) to the API'),
  ).action(
    action(async (file: string, o: ApiOptions) => {
      let body: unknown;
      try {
        body = JSON.parse(fs.readFileSync(file, 'utf8'));
      } catch (err) {
        throw new UsageError(`cannot read ${file}: ${(err as Error).message}`);
      }
      const r = await call<{ version: number; expires: string }>(
        o,
        'PUT',
        'api/v1/uptane/image-repository/root',
        body,
      );
      if (o.json) console.log(JSON.stringify(r, null, 2));
      else console.log(`Root version ${r.version} stored (expires ${r.expires}).`);
    }),
  );

  withApiOptions(
    releases
      .command('sign-targets')
      .description(
        "sign the Image repository's targets.json over every published image, with the offline targets key",
      )
      .requiredOption('--keys <dir>', 'the directory keys init wrote')
      .requiredOption('--version <n>', 'targets version (one more than the last one signed)')
      .requiredOption('--out <file>', 'where to write targets.json')
      .option('--expires-days <days>', 'how long it is valid', '30')
      .option('--push', 'upload it to the API (which then signs snapshot and timestamp online)'),
  ).action(
    action(
      async (
        o: ApiOptions & { keys: string; version: string; out: string; expiresDays: string; push?: boolean },
      ) => {
        if (!/^[1-9]\d*$/.test(o.version)) throw new UsageError('--version takes a whole number ≥ 1');
        if (!/^\d+$/.test(o.expiresDays)) throw new UsageError('--expires-days takes whole days');
        const list = await call<{ items: CatalogueRelease[] }>(o, 'GET', 'api/v1/releases');
        let targetsKey;
        try {
          targetsKey = readRoleKey(o.keys, 'targets');
        } catch (err) {
          throw new UsageError(`cannot read the targets key in ${o.keys}: ${(err as Error).message}`);
        }
        const metadata = buildImageTargets(list.items, {
          version: Number(o.version),
          expires: tufExpiry(new Date(Date.now() + Number(o.expiresDays) * 86_400_000)),
          signWith: [targetsKey],
        });
        fs.writeFileSync(o.out, `${JSON.stringify(metadata.toJSON(), null, 2)}\n`);
        const count = Object.keys(metadata.signed.targets).length;
        if (o.json) console.log(JSON.stringify(metadata.toJSON(), null, 2));
        else
          console.log(
            `Signed ${count} target(s) into ${o.out} (version ${o.version}, expires ${metadata.signed.expires}).`,
          );
        if (o.push) {
          const r = await call<{ targets: number; snapshot: number; timestamp: number }>(
            o,
            'PUT',
            'api/v1/uptane/image-repository/targets',
            metadata.toJSON(),
          );
          if (!o.json)
            console.log(`Pushed: targets ${r.targets}, snapshot ${r.snapshot}, timestamp ${r.timestamp}.`);
        }
      },
    ),
  );
}

async function runUpload(o: ApiOptions, releaseId: string, imageId: string, file: string): Promise<void> {
  const size = fileSize(file);
  const api = o.api ?? defaultApiUrl();
  const url = new URL(
    rel(releaseId, `/images/${encodeURIComponent(imageId)}/content`),
    api.endsWith('/') ? api : `${api}/`,
  );
  const bar = o.json || !process.stdout.isTTY ? null : new ProgressBar(`uploading ${imageId}`);
  const started = Date.now();
  const res = await uploadFile(url.toString(), file, o.apiKey ?? defaultApiKey(), (sent) =>
    bar?.update(sent, size),
  );
  const body = res.body as { code?: string; message?: string; stored?: string; sha256?: string } | undefined;
  if (res.status >= 400) {
    if (bar) process.stdout.write('\n');
    throw new ApiCallError(
      `${body?.code ?? `HTTP ${res.status}`}: ${body?.message ?? ''}`.trim(),
      res.status,
      body,
    );
  }
  const seconds = Math.max(0.001, (Date.now() - started) / 1000);
  const rate = `${(size / 1024 ** 2 / seconds).toFixed(1)} MiB/s`;
  if (o.json) console.log(JSON.stringify(body, null, 2));
  else {
    const summary = `Uploaded ${imageId} of ${releaseId}: ${size.toLocaleString('en-US')} bytes in ${seconds.toFixed(1)} s (${rate}), ${body?.stored === 'existing' ? 'already stored' : 'stored'} as ${body?.sha256}.`;
    if (bar) bar.done(summary);
    else console.log(summary);
  }
}
