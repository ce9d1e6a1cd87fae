import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import type { Pool } from 'pg';
import { boardClosCapacity, type Board } from '@hyperfleet/acrn';
import type { CommandActor } from '@hyperfleet/domain';
import { runMigrations } from '@hyperfleet/event-store';
import { PG_POOL } from '@hyperfleet/platform';
import { ApiError } from '../http/api-error';
import { BOARDS_MIGRATION_SET } from './boards.migrations';

export interface StoredBoard {
  readonly name: string;
  readonly board: Board;
  readonly xmlSha256: string;
  readonly xmlBytes: number;
  readonly revision: number;
  readonly importedAt: string;
  readonly importedBy: Partial<CommandActor>;
}

export type BoardImportOutcome = 'created' | 'replaced' | 'unchanged';

interface BoardRow {
  board_name: string;
  board: Board;
  xml_sha256: string;
  xml_bytes: number;
  revision: number;
  imported_at: Date;
  imported_by: Partial<CommandActor>;
}

const toStored = (r: BoardRow): StoredBoard => ({
  name: r.board_name,
  board: r.board,
  xmlSha256: r.xml_sha256,
  xmlBytes: r.xml_bytes,
  revision: r.revision,
  importedAt: r.imported_at.toISOString(),
  importedBy: r.imported_by,
});

/** Imported ACRN boards (hf.acrn_boards), by board name. */
@Injectable()
export class BoardStore implements OnModuleInit {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  async onModuleInit(): Promise<void> {
    await runMigrations(this.pool, BOARDS_MIGRATION_SET);
  }

  /**
   * Stores the board under its name. The same XML again changes nothing; other XML replaces the board
   * and counts a revision. With `expectedRevision` (If-Match), a board at another revision is not
   * touched and `conflict` carries the revision it is at (0: no such board).
   */
  async put(
    board: Board,
    xml: { sha256: string; bytes: number },
    actor: CommandActor,
    expectedRevision?: number,
  ): Promise<{ outcome: BoardImportOutcome; stored: StoredBoard } | { conflict: number }> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const { rows } = await client.query<BoardRow>(
        'SELECT * FROM hf.acrn_boards WHERE board_name = $1 FOR UPDATE',
        [board.name],
      );
      const current = rows[0];
      if (expectedRevision !== undefined && (current?.revision ?? 0) !== expectedRevision) {
        await client.query('ROLLBACK');
        return { conflict: current?.revision ?? 0 };
      }
      if (current && current.xml_sha256 === xml.sha256) {
        await client.query('ROLLBACK');
        return { outcome: 'unchanged', stored: toStored(current) };
      }
      const written = await client.query<BoardRow>(
        `INSERT INTO hf.acrn_boards
           (board_name, board, xml_sha256, xml_bytes, cpu_model, pcpu_count, imported_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (board_name) DO UPDATE SET
           board = EXCLUDED.board, xml_sha256 = EXCLUDED.xml_sha256, xml_bytes = EXCLUDED.xml_bytes,
           cpu_model = EXCLUDED.cpu_model, pcpu_count = EXCLUDED.pcpu_count,
           imported_by = EXCLUDED.imported_by, imported_at = now(),
           revision = hf.acrn_boards.revision + 1
         RETURNING *`,
        [
          board.name,
          JSON.stringify(board),
          xml.sha256,
          xml.bytes,
          board.cpuModel ?? null,
          board.pcpus.length,
          JSON.stringify(actor),
        ],
      );
      await client.query('COMMIT');
      return { outcome: current ? 'replaced' : 'created', stored: toStored(written.rows[0]) };
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  async get(name: string): Promise<StoredBoard | undefined> {
    const { rows } = await this.pool.query<BoardRow>('SELECT * FROM hf.acrn_boards WHERE board_name = $1', [
      name,
    ]);
    return rows[0] ? toStored(rows[0]) : undefined;
  }

  /** Boards sorted by name after `after`, `limit + 1` rows (the extra one says there is a next page). */
  async list(limit: number, after?: string): Promise<StoredBoard[]> {
    const { rows } = await this.pool.query<BoardRow>(
      `SELECT * FROM hf.acrn_boards WHERE ($1::text IS NULL OR board_name > $1)
        ORDER BY board_name LIMIT $2`,
      [after ?? null, limit + 1],
    );
    return rows.map(toStored);
  }
}

/** The CLOS count a plan may use on this board (smallest CAT clos_number), for summaries. */
export function closCapacityOf(board: Board): number | null {
  return boardClosCapacity(board) ?? null;
}

export function boardNotFound(boardName: string): ApiError {
  return new ApiError(
    404,
    'BOARD_NOT_FOUND',
    `No board XML was imported for board ${boardName}; import it with PUT /api/v1/boards/${boardName}`,
    { boardName },
  );
}
