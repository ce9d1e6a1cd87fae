import * as fs from 'node:fs';
import type { Command } from 'commander';
import { callApi, defaultApiUrl } from '../client';

/** fleetctl boards …: imported ACRN board XMLs (/api/v1/boards), which plans are validated against. */

interface BoardSummary {
  name: string;
  cpuModel: string | null;
  pcpuCount: number;
  coreTypes: string[];
  caches: {
    level: number;
    id: number;
    ways: number;
    sizeBytes: number;
    pcpus: number[];
    cat: { closNumber: number; capacityMaskLength: number; cdp: boolean } | null;
  }[];
  closCapacity: number | null;
  memoryBytes: number;
  deviceCount: number;
  xmlSha256: string;
  revision: number;
  importedAt: string;
  importedBy: { subject?: string };
  outcome?: 'created' | 'replaced' | 'unchanged';
  unmodelled?: string[];
}

const apiOption = [
  '--api <url>',
  'fleet API base URL (default: FLEET_API_URL, the config file, or http://127.0.0.1:$HTTP_PORT)',
] as const;
const jsonOption = ['--json', 'print the API response as JSON'] as const;
const enc = encodeURIComponent;

function printBoard(b: BoardSummary): void {
  console.log(
    `board ${b.name} (revision ${b.revision}, imported ${b.importedAt} by ${b.importedBy.subject ?? '?'})`,
  );
  console.log(
    `  CPU ${b.cpuModel ?? 'unknown'}, ${b.pcpuCount} pCPU(s) (${b.coreTypes.join(', ')}), ${(b.memoryBytes / 2 ** 30).toFixed(1)} GiB RAM, ${b.deviceCount} PCI device(s)`,
  );
  console.log(`  CLOS available to a plan: ${b.closCapacity ?? 'none (no CAT)'}`);
  for (const c of b.caches) {
    const cat = c.cat
      ? `CAT ${c.cat.closNumber} CLOS, ${c.cat.capacityMaskLength}-bit mask${c.cat.cdp ? ', CDP' : ''}`
      : 'no CAT';
    console.log(
      `    L${c.level} 0x${c.id.toString(16)} ${c.ways} ways ${(c.sizeBytes / 1024).toFixed(0)} KiB pCPUs ${c.pcpus.join(',')}: ${cat}`,
    );
  }
  console.log(`  sha256 ${b.xmlSha256}`);
}

export function registerBoardsCommands(program: Command): void {
  const boards = program.command('boards').description('ACRN board XMLs that plans are validated against');

  boards
    .command('import <boardName> <boardXml>')
    .description('import (or replace) the ACRN board XML of a board')
    .option(...apiOption)
    .option(...jsonOption)
    .action(async (name: string, file: string, o: { api?: string; json?: boolean }) => {
      let xml: string;
      try {
        xml = fs.readFileSync(file, 'utf8');
      } catch (err) {
        throw new Error(
          `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
        );
      }
      const b = await callApi<BoardSummary>(
        o.api ?? defaultApiUrl(),
        'PUT',
        `api/v1/boards/${enc(name)}`,
        xml,
        {
          contentType: 'application/xml',
        },
      );
      if (o.json) return console.log(JSON.stringify(b, null, 2));
      console.log(
        b.outcome === 'unchanged'
          ? `Board ${b.name}: the same XML was imported before; nothing changed.`
          : `Board ${b.name} ${b.outcome}.`,
      );
      printBoard(b);
    });

  boards
    .command('list')
    .description('list imported boards')
    .option(...apiOption)
    .option(...jsonOption)
    .action(async (o: { api?: string; json?: boolean }) => {
      const api = o.api ?? defaultApiUrl();
      const items: BoardSummary[] = [];
      let cursor: string | null = null;
      do {
        const page: { items: BoardSummary[]; nextCursor: string | null } = await callApi(
          api,
          'GET',
          `api/v1/boards?limit=500${cursor ? `&cursor=${enc(cursor)}` : ''}`,
        );
        items.push(...page.items);
        cursor = page.nextCursor;
      } while (cursor);
      if (o.json) return console.log(JSON.stringify(items, null, 2));
      if (!items.length) return console.log('no boards imported');
      console.log(
        `${'BOARD'.padEnd(28)} ${'PCPUS'.padEnd(6)} ${'CLOS'.padEnd(5)} ${'IMPORTED'.padEnd(25)} CPU`,
      );
      for (const b of items) {
        console.log(
          `${b.name.padEnd(28)} ${String(b.pcpuCount).padEnd(6)} ${String(b.closCapacity ?? '-').padEnd(5)} ${b.importedAt.padEnd(25)} ${b.cpuModel ?? ''}`,
        );
      }
    });

  boards
    .command('show <boardName>')
    .description('show an imported board')
    .option(...apiOption)
    .option(...jsonOption)
    .action(async (name: string, o: { api?: string; json?: boolean }) => {
      const b = await callApi<BoardSummary>(o.api ?? defaultApiUrl(), 'GET', `api/v1/boards/${enc(name)}`);
      if (o.json) console.log(JSON.stringify(b, null, 2));
      else printBoard(b);
    });
}
