import type { Command } from 'commander';
import { EXIT, action, call, parseDuration, withApiOptions, type ApiOptions } from './device-commands';

const collect = (value: string, previous: string[] = []) => [...previous, value];

interface AuditEntry {
  position: string;
  at: string;
  eventType: string;
  command: string | null;
  streamId: string;
  deviceId: string | null;
  actor: { subject: string; credentialKind: string; credentialId: string };
  requestId: string | null;
  summary: Record<string, unknown>;
}

interface AuditPage {
  items: AuditEntry[];
  nextCursor: string | null;
}

interface AuditOptions extends ApiOptions {
  actor?: string;
  credential?: string;
  device?: string;
  action: string[];
  since?: string;
  until?: string;
  limit: string;
  all?: boolean;
}

/** The query string of one page. `--since 1h` becomes `from` = now − 1 h. */
export function auditQuery(o: AuditOptions, now = Date.now()): URLSearchParams {
  const q = new URLSearchParams();
  if (o.actor) q.set('actor', o.actor);
  if (o.credential) q.set('credentialId', o.credential);
  if (o.device) q.set('device', o.device);
  for (const a of o.action) q.append('action', a);
  if (o.since) q.set('from', new Date(now - parseDuration(o.since)).toISOString());
  if (o.until) q.set('to', new Date(now - parseDuration(o.until)).toISOString());
  q.set('limit', o.limit);
  return q;
}

function line(e: AuditEntry): string {
  const what = e.command && e.command !== e.eventType ? `${e.eventType} (${e.command})` : e.eventType;
  const target = e.deviceId ?? e.streamId;
  return `${e.at}  ${e.actor.subject} [${e.actor.credentialKind}]  ${what}  ${target}${e.requestId ? `  request ${e.requestId}` : ''}`;
}

/** `fleetctl audit [--actor A] [--device D] [--action X]… [--since 1h] [--json]`: who did what, newest first. */
export function registerAuditCommand(program: Command): void {
  withApiOptions(
    program
      .command('audit')
      .description('who did what: the events operator commands caused, newest first')
      .option('--actor <subject>', 'only this actor (API key name or JWT subject)')
      .option('--credential <id>', 'only this credential (API key id or JWT id)')
      .option('--device <deviceId>', 'only events of this device')
      .option(
        '--action <type>',
        'an event type or command, e.g. SetDeviceAttributes (repeatable)',
        collect,
        [],
      )
      .option('--since <duration>', 'only the last …, e.g. 1h, 30m, 90s')
      .option('--until <duration>', 'only until … ago')
      .option('--limit <n>', 'entries per page (1-500)', '50')
      .option('--all', 'follow every page, not just the newest'),
  ).action(
    action(async (o: AuditOptions) => {
      const q = auditQuery(o);
      const items: AuditEntry[] = [];
      let cursor: string | null = null;
      do {
        if (cursor) q.set('cursor', cursor);
        const page: AuditPage = await call<AuditPage>(o, 'GET', `api/v1/audit?${q.toString()}`);
        items.push(...page.items);
        cursor = o.all ? page.nextCursor : null;
      } while (cursor);
      if (o.json) console.log(JSON.stringify(items, null, 2));
      else if (!items.length) console.log('No audit entries match.');
      else for (const e of items) console.log(line(e));
      process.exitCode = EXIT.ok;
    }),
  );
}
