import type { Sql } from '../framework/projection';

/** A column of a bulk write: its name and PostgreSQL type, as jsonb_to_recordset needs them. */
export type ColumnSpec = readonly [name: string, type: string];

/**
 * Writes many rows in one statement: the rows travel as one JSON array and are unpacked by
 * jsonb_to_recordset (JSON arrays become PostgreSQL arrays, ISO strings timestamps). With `conflict`,
 * rows whose key exists are updated (every non-key column), optionally only `when` a condition holds,
 * or left as they are (`ignore`).
 */
export async function insertRows(
  sql: Sql,
  table: string,
  columns: readonly ColumnSpec[],
  rows: readonly Record<string, unknown>[],
  conflict?: { key: readonly string[]; when?: string; ignore?: boolean },
): Promise<void> {
  if (rows.length === 0) return;
  const names = columns.map(([n]) => n).join(', ');
  const defs = columns.map(([n, t]) => `${n} ${t}`).join(', ');
  let text = `INSERT INTO ${table} (${names}) SELECT ${names} FROM jsonb_to_recordset($1::jsonb) AS x(${defs})`;
  if (conflict?.ignore) {
    text += ` ON CONFLICT (${conflict.key.join(', ')}) DO NOTHING`;
  } else if (conflict) {
    const updates = columns
      .filter(([n]) => !conflict.key.includes(n))
      .map(([n]) => `${n} = EXCLUDED.${n}`)
      .join(', ');
    text += ` ON CONFLICT (${conflict.key.join(', ')}) DO UPDATE SET ${updates}`;
    if (conflict.when) text += ` WHERE ${conflict.when}`;
  }
  await sql.query(text, [JSON.stringify(rows)]);
}
