import * as fs from 'node:fs';
import type { Command } from 'commander';
import { callApi, defaultApiUrl } from '../client';

/** fleetctl plans …: partition plans through the fleet API (/api/v1/plans). */

export interface Violation {
  code: string;
  severity: 'error' | 'warning';
  message: string;
  vm: string | null;
  pcpus: number[];
}

export interface ValidationReport {
  valid: boolean;
  board: {
    name: string;
    source?: 'imported' | 'reported';
    revision: number | null;
    deviceId?: string | null;
  };
  errorCount: number;
  warningCount: number;
  violations: Violation[];
  unmodelled?: string[];
}

interface PlanSummary {
  planId: string;
  deviceClass: string;
  description: string;
  latestRevision: number;
  board: string;
  scenario: string;
  kind: string;
  vmCount: number;
  revisedAt: string | null;
}

interface PlanResponse extends PlanSummary {
  revision: number;
  version: number;
  revisions: { revision: number; at: string | null }[];
  plan: {
    vms: { id: number; name: string; loadOrder: string; vmType: string; cpuAffinity: { pcpuId: number }[] }[];
  };
  validation?: ValidationReport | null;
  unmodelled?: string[];
  changed?: boolean;
}

interface BulkAssignment {
  planId: string;
  revision: number;
  matched: number;
  assigned: number;
  rejected: { deviceId: string; code: string; message: string }[];
}

const XML = 'application/xml';
const collect = (value: string, previous: string[] = []) => [...previous, value];
const apiOption = [
  '--api <url>',
  'fleet API base URL (default: FLEET_API_URL, the config file, or http://127.0.0.1:$HTTP_PORT)',
] as const;
const jsonOption = ['--json', 'print the API response as JSON'] as const;

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`not a revision number: ${value}`);
  return n;
}

function readFile(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

function readJson(file: string): unknown {
  const text = readFile(file);
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new Error(`${file} is not JSON: ${(err as Error).message}`);
  }
}

function query(params: Record<string, string | number | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined) q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

const enc = encodeURIComponent;

/** Prints every violation, one line each: severity, rule code, VM, message. */
export function printReport(r: ValidationReport): void {
  const verdict = r.valid ? 'valid' : 'INVALID';
  console.log(
    `${verdict} on board ${r.board.name} (${r.board.source === 'reported' ? `as ${r.board.deviceId} reports it` : `revision ${r.board.revision}`}): ${r.errorCount} error(s), ${r.warningCount} warning(s)`,
  );
  for (const v of r.violations) {
    console.log(`  ${v.severity.padEnd(7)} ${v.code}${v.vm ? ` [${v.vm}]` : ''}: ${v.message}`);
  }
  printUnmodelled(r.unmodelled);
}

function printUnmodelled(unmodelled: string[] | undefined): void {
  if (!unmodelled?.length) return;
  console.log(`not modelled by Hyperfleet (${unmodelled.length}):`);
  for (const u of unmodelled) console.log(`  ${u}`);
}

function printPlan(p: PlanResponse, headline?: string): void {
  if (headline) console.log(headline);
  console.log(`plan ${p.planId} revision ${p.revision} of ${p.latestRevision} (${p.deviceClass})`);
  if (p.description) console.log(`  ${p.description}`);
  console.log(`  board ${p.board}, scenario ${p.scenario} (${p.kind}), ${p.vmCount} VM(s)`);
  for (const vm of p.plan.vms) {
    const pcpus = vm.cpuAffinity.map((c) => c.pcpuId).join(',') || '-';
    console.log(
      `    ${String(vm.id).padStart(2)} ${vm.name.padEnd(16)} ${vm.loadOrder.padEnd(17)} ${vm.vmType.padEnd(12)} pCPUs ${pcpus}`,
    );
  }
  if (p.validation) {
    console.log(
      `  checked on imported board ${p.validation.board.name}: ${p.validation.warningCount} warning(s)`,
    );
    for (const v of p.validation.violations) console.log(`    ${v.severity} ${v.code}: ${v.message}`);
  }
  printUnmodelled(p.unmodelled);
}

/** The plan body from --file or --xml: JSON (a create body or a bare plan) or scenario XML text. */
function planSource(o: { file?: string; xml?: string }): { xml: string } | { json: Record<string, unknown> } {
  if ((o.file === undefined) === (o.xml === undefined))
    throw new Error('give exactly one of --file <plan.json> or --xml <scenario.xml>');
  if (o.xml !== undefined) return { xml: readFile(o.xml) };
  const json = readJson(o.file as string);
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw new Error(`${o.file} is not a JSON object`);
  return { json: json as Record<string, unknown> };
}

interface CreateOptions {
  file?: string;
  xml?: string;
  id?: string;
  class?: string;
  description?: string;
  board?: string;
  scenario?: string;
  api?: string;
  json?: boolean;
}

async function createPlan(o: CreateOptions): Promise<void> {
  const api = o.api ?? defaultApiUrl();
  const source = planSource(o);
  let created: PlanResponse;
  if ('xml' in source) {
    if (!o.id || !o.class) throw new Error('a scenario XML needs --id <planId> and --class <deviceClass>');
    const q = query({
      planId: o.id,
      deviceClass: o.class,
      description: o.description,
      board: o.board,
      scenario: o.scenario,
    });
    created = await callApi<PlanResponse>(api, 'POST', `api/v1/plans${q}`, source.xml, { contentType: XML });
  } else {
    // A create body ({ planId, deviceClass, plan }) or a bare plan; --id/--class fill in or override.
    const isBody = 'plan' in source.json;
    const body = {
      planId: o.id ?? (isBody ? source.json.planId : undefined),
      deviceClass: o.class ?? (isBody ? source.json.deviceClass : undefined),
      ...((o.description ?? (isBody ? source.json.description : undefined)) !== undefined
        ? { description: o.description ?? source.json.description }
        : {}),
      plan: isBody ? source.json.plan : source.json,
    };
    if (!body.planId || !body.deviceClass)
      throw new Error('give --id <planId> and --class <deviceClass> (or put them in the file)');
    created = await callApi<PlanResponse>(api, 'POST', 'api/v1/plans', body);
  }
  if (o.json) console.log(JSON.stringify(created, null, 2));
  else printPlan(created, `Created plan ${created.planId} (revision 1).`);
}

export function registerPlansCommands(program: Command): void {
  const plans = program
    .command('plans')
    .description(
      'partition plans: create, revise, validate against a board, import/export ACRN scenario XML, assign',
    );

  plans
    .command('list')
    .description('list partition plans')
    .option('--limit <n>', 'plans per page', '100')
    .option(...apiOption)
    .option(...jsonOption)
    .action(async (o: { limit: string; api?: string; json?: boolean }) => {
      const api = o.api ?? defaultApiUrl();
      const items: PlanSummary[] = [];
      let cursor: string | null = null;
      do {
        const page: { items: PlanSummary[]; nextCursor: string | null } = await callApi(
          api,
          'GET',
          `api/v1/plans${query({ limit: o.limit, cursor: cursor ?? undefined })}`,
        );
        items.push(...page.items);
        cursor = page.nextCursor;
      } while (cursor);
      if (o.json) return console.log(JSON.stringify(items, null, 2));
      if (!items.length) return console.log('no partition plans');
      console.log(
        `${'PLAN'.padEnd(24)} ${'CLASS'.padEnd(14)} REV  ${'BOARD'.padEnd(24)} ${'SCENARIO'.padEnd(20)} VMS`,
      );
      for (const p of items) {
        console.log(
          `${p.planId.padEnd(24)} ${p.deviceClass.padEnd(14)} ${String(p.latestRevision).padEnd(4)} ${p.board.padEnd(24)} ${p.scenario.padEnd(20)} ${p.vmCount}`,
        );
      }
    });

  plans
    .command('show <id>')
    .description('show a plan (its latest revision, or --revision N)')
    .option('--revision <n>', 'a revision', positiveInt)
    .option(...apiOption)
    .option(...jsonOption)
    .action(async (id: string, o: { revision?: number; api?: string; json?: boolean }) => {
      const path = o.revision ? `api/v1/plans/${enc(id)}/revisions/${o.revision}` : `api/v1/plans/${enc(id)}`;
      const p = await callApi<PlanResponse>(o.api ?? defaultApiUrl(), 'GET', path);
      if (o.json) console.log(JSON.stringify(p, null, 2));
      else printPlan(p);
    });

  plans
    .command('create')
    .description(
      'create a plan from plan JSON (--file) or an ACRN scenario XML (--xml, needs --id and --class)',
    )
    .option('--file <plan.json>', 'plan JSON: a bare plan, or { planId, deviceClass, description?, plan }')
    .option('--xml <scenario.xml>', 'an ACRN scenario XML')
    .option('--id <planId>', 'plan id')
    .option('--class <deviceClass>', 'vehicle or industrial-pc')
    .option('--description <text>', 'what the plan is for')
    .option('--board <name>', 'XML: the board, when <acrn-config> names none')
    .option('--scenario <name>', 'XML: the scenario name, when <acrn-config> names none')
    .option(...apiOption)
    .option(...jsonOption)
    .action((o: CreateOptions) => createPlan(o));

  plans
    .command('import <scenarioXml>')
    .description('create a plan from an ACRN scenario XML (the same as create --xml)')
    .requiredOption('--id <planId>', 'plan id')
    .requiredOption('--class <deviceClass>', 'vehicle or industrial-pc')
    .option('--description <text>', 'what the plan is for')
    .option('--board <name>', 'the board, when <acrn-config> names none')
    .option('--scenario <name>', 'the scenario name, when <acrn-config> names none')
    .option(...apiOption)
    .option(...jsonOption)
    .action((file: string, o: CreateOptions) => createPlan({ ...o, xml: file }));

  plans
    .command('revise <id>')
    .description('write the next revision of a plan from plan JSON (--file) or scenario XML (--xml)')
    .option('--file <plan.json>', 'plan JSON (a bare plan, or { plan })')
    .option('--xml <scenario.xml>', 'an ACRN scenario XML')
    .option('--based-on <n>', 'the revision the edit started from (default: the latest)', positiveInt)
    .option('--if-match <version>', 'only if the plan is still at this version (the ETag of plans show)')
    .option('--board <name>', 'XML: the board, when <acrn-config> names none')
    .option(...apiOption)
    .option(...jsonOption)
    .action(
      async (
        id: string,
        o: {
          file?: string;
          xml?: string;
          basedOn?: number;
          ifMatch?: string;
          board?: string;
          api?: string;
          json?: boolean;
        },
      ) => {
        const api = o.api ?? defaultApiUrl();
        const headers = o.ifMatch ? { 'if-match': `"${o.ifMatch.replace(/"/g, '')}"` } : undefined;
        const source = planSource(o);
        const path = `api/v1/plans/${enc(id)}/revisions`;
        const p =
          'xml' in source
            ? await callApi<PlanResponse>(
                api,
                'POST',
                `${path}${query({ basedOnRevision: o.basedOn, board: o.board })}`,
                source.xml,
                {
                  contentType: XML,
                  headers,
                },
              )
            : await callApi<PlanResponse>(
                api,
                'POST',
                path,
                {
                  ...(o.basedOn ? { basedOnRevision: o.basedOn } : {}),
                  plan: 'plan' in source.json ? source.json.plan : source.json,
                },
                { headers },
              );
        if (o.json) console.log(JSON.stringify(p, null, 2));
        else
          printPlan(
            p,
            p.changed === false
              ? `Unchanged: the plan equals revision ${p.revision}.`
              : `Revised ${p.planId}: revision ${p.revision}.`,
          );
      },
    );

  plans
    .command('validate')
    .description(
      'check a plan against an imported board without saving it; exits 1 when any rule has error severity',
    )
    .option('--file <plan.json>', 'plan JSON (a bare plan, or { plan })')
    .option('--xml <scenario.xml>', 'an ACRN scenario XML')
    .option('--board <name>', 'an imported board (default: the board the plan names)')
    .option('--device <deviceId>', 'the board this device reports (what assigning to it checks)')
    .option(...apiOption)
    .option(...jsonOption)
    .action(
      async (o: {
        file?: string;
        xml?: string;
        board?: string;
        device?: string;
        api?: string;
        json?: boolean;
      }) => {
        const api = o.api ?? defaultApiUrl();
        const source = planSource(o);
        const r =
          'xml' in source
            ? await callApi<ValidationReport>(
                api,
                'POST',
                `api/v1/plans:validate${query({ board: o.board, deviceId: o.device })}`,
                source.xml,
                {
                  contentType: XML,
                },
              )
            : await callApi<ValidationReport>(api, 'POST', 'api/v1/plans:validate', {
                plan: 'plan' in source.json ? source.json.plan : source.json,
                ...(o.board ? { board: o.board } : {}),
                ...(o.device ? { deviceId: o.device } : {}),
              });
        if (o.json) console.log(JSON.stringify(r, null, 2));
        else printReport(r);
        if (!r.valid)
          throw new Error(
            `the plan breaks ${r.errorCount} ACRN rule(s) with error severity on board ${r.board.name}`,
          );
      },
    );

  plans
    .command('export <id>')
    .description('write a plan revision as ACRN scenario XML (stdout, or --out)')
    .option('--revision <n>', 'a revision (default: the latest)', positiveInt)
    .option('--out <file>', 'write to this file')
    .option(...apiOption)
    .option(...jsonOption)
    .action(async (id: string, o: { revision?: number; out?: string; api?: string; json?: boolean }) => {
      const api = o.api ?? defaultApiUrl();
      const revision =
        o.revision ?? (await callApi<PlanResponse>(api, 'GET', `api/v1/plans/${enc(id)}`)).latestRevision;
      const xml = await callApi<string>(
        api,
        'GET',
        `api/v1/plans/${enc(id)}/revisions/${revision}/scenario.xml`,
        undefined,
        {
          text: true,
        },
      );
      if (o.out) fs.writeFileSync(o.out, xml);
      if (o.json)
        console.log(
          JSON.stringify({ planId: id, revision, ...(o.out ? { file: o.out } : { xml }) }, null, 2),
        );
      else if (o.out)
        console.log(`Wrote plan ${id} revision ${revision} to ${o.out} (${Buffer.byteLength(xml)} bytes).`);
      else process.stdout.write(xml.endsWith('\n') ? xml : `${xml}\n`);
    });

  plans
    .command('assign <id>')
    .description(
      'make a plan revision the desired plan of one device (--device) or of every device matching a filter',
    )
    .option('--revision <n>', 'a revision (default: the latest, pinned for every device)', positiveInt)
    .option('--device <deviceId>', 'one device')
    .option('--class <deviceClass>', 'filter: vehicle or industrial-pc')
    .option('--site <site>', 'filter: site')
    .option('--tag <tag>', 'filter: a tag the device has (repeatable)', collect, [])
    .option('--board-name <name>', 'filter: the board the device reports')
    .option('--online', 'filter: only devices online now')
    .option('--if-match <version>', 'one device: only if its hypervisor stream is at this version')
    .option(...apiOption)
    .option(...jsonOption)
    .action(
      async (
        id: string,
        o: {
          revision?: number;
          device?: string;
          class?: string;
          site?: string;
          tag: string[];
          boardName?: string;
          online?: boolean;
          ifMatch?: string;
          api?: string;
          json?: boolean;
        },
      ) => {
        const api = o.api ?? defaultApiUrl();
        const path = `api/v1/plans/${enc(id)}:assign`;
        const revision = o.revision ? { revision: o.revision } : {};
        const filter = {
          ...(o.class ? { class: o.class } : {}),
          ...(o.site ? { site: o.site } : {}),
          ...(o.tag.length ? { tags: o.tag } : {}),
          ...(o.boardName ? { boardName: o.boardName } : {}),
          ...(o.online ? { online: true } : {}),
        };
        if (o.device !== undefined) {
          if (Object.keys(filter).length) throw new Error('give --device or filter options, not both');
          const headers = o.ifMatch ? { 'if-match': `"${o.ifMatch.replace(/"/g, '')}"` } : undefined;
          const a = await callApi<{
            deviceId: string;
            revision: number;
            changed: boolean;
            warnings: unknown[];
          }>(api, 'POST', path, { ...revision, deviceId: o.device }, { headers });
          if (o.json) return console.log(JSON.stringify(a, null, 2));
          return console.log(
            a.changed
              ? `Assigned plan ${id} revision ${a.revision} to ${a.deviceId}${a.warnings.length ? ` (${a.warnings.length} ACRN warning(s))` : ''}.`
              : `${a.deviceId} already has plan ${id} revision ${a.revision} as its desired plan.`,
          );
        }
        if (!Object.keys(filter).length)
          throw new Error('give --device <id> or a filter (--class, --site, --tag, --board-name, --online)');
        const b = await callApi<BulkAssignment>(api, 'POST', path, { ...revision, filter });
        if (o.json) console.log(JSON.stringify(b, null, 2));
        else {
          console.log(
            `plan ${b.planId} revision ${b.revision}: ${b.matched} matched, ${b.assigned} assigned, ${b.rejected.length} refused`,
          );
          for (const r of b.rejected) console.log(`  ${r.deviceId}: ${r.code} ${r.message}`);
        }
        if (b.rejected.length)
          throw new Error(`${b.rejected.length} of ${b.matched} device(s) refused plan ${b.planId}`);
      },
    );
}
