import { sampleBoard, smallBoard } from '../fixtures';
import { boardClosCapacity, parseBoard, pcpuIds } from './board';

describe('board model', () => {
  it('accepts the fixtures and survives a JSON round trip', () => {
    for (const board of [sampleBoard(), smallBoard()]) {
      expect(parseBoard(JSON.parse(JSON.stringify(board)))).toEqual({ ok: true, value: board });
    }
  });

  it('takes the smallest clos_number of the CAT caches, as rdt_support.xsd does', () => {
    expect(boardClosCapacity(sampleBoard())).toBe(4);
    const noCat = sampleBoard();
    noCat.caches.forEach((c) => delete c.cat);
    expect(boardClosCapacity(noCat)).toBeUndefined();
  });

  it('lists pCPU ids in order', () => {
    expect(pcpuIds(sampleBoard())).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('explains an inconsistent agent report', () => {
    const board = sampleBoard();
    board.pcpus[7].id = 6;
    board.pcpus[0].threadSiblings = [0];
    board.caches[4].pcpus.push(12);
    board.memory.totalBytes += 1;
    (board.devices[0] as { bdf: string }).bdf = '0:0.0';
    const result = parseBoard(board);
    expect(result).toEqual({
      ok: false,
      errors: expect.arrayContaining([
        'devices.0.bdf: a BDF like 00:1f.6',
        'pcpus.7.id: pCPU 6 is listed twice',
        'pcpus.0.threadSiblings.0: thread sibling 0 of pCPU 0 is not another pCPU of this board',
        'caches.4.pcpus.8: L3 cache 0x0 names pCPU 12, which the board does not have',
        expect.stringMatching(/^memory\.totalBytes: totalBytes is \d+ but the ranges add up to \d+$/),
      ]),
    });
  });

  it('rejects unknown fields and wrong types', () => {
    const result = parseBoard({ ...sampleBoard(), pcpus: [{ id: '0' }], gpu: true });
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.errors).toEqual(
        expect.arrayContaining([expect.stringMatching(/^pcpus\.0\.id: /), expect.stringMatching(/gpu/)]),
      );
    }
  });
});
