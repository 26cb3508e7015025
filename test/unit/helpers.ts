/** What several unit suites ask of the core (the fixtures that make segments are in test/fixtures/). */
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { listCatalog } from '../../extension/core/catalog';
import type { Segment } from '../../extension/core/types';
import type { ArrowTable } from '../../extension/core/tables/arrow';
import { openView, type MappedView } from '../../extension/native';
import type { Column } from '../fixtures/tables';

/** The segment `name` as the catalog of `dir` lists it (holders not read); fails the test when it is not listed. */
export async function listed(dir: string, name: string): Promise<Segment> {
  const cat = await listCatalog({ dirs: [dir], holders: false });
  const seg = cat.segments.find((s) => s.name === name);
  assert.ok(seg, `${name} listed`);
  return seg;
}

/**
 * A scratch folder of the suite's own (made in `before`, removed in `after`) whose files are written
 * and mapped by `open`; every view is closed in `after`. Call it in a describe block.
 */
export function mappedScratch(prefix: string): { dir: () => string; open: (file: string, bytes: Uint8Array) => Promise<MappedView> } {
  let dir = '';
  const views: MappedView[] = [];
  before(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix))));
  after(() => {
    views.forEach((v) => v.close());
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return {
    dir: () => dir,
    async open(file, bytes) {
      const p = path.join(dir, file);
      fs.writeFileSync(p, bytes);
      const v = await openView(p);
      views.push(v);
      return v;
    },
  };
}

/** Row by row, the cells of `rows` (the first, the last, either side of each batch boundary) are those written, without errors. */
export async function assertRowsAsWritten(t: ArrowTable, cols: Column[], rows: number[]): Promise<void> {
  for (const r of rows) {
    const page = await t.rows(r, 1);
    assert.deepStrictEqual(
      page.errors,
      cols.map(() => null),
      `row ${r}`,
    );
    cols.forEach((c, j) => assert.deepStrictEqual(page.rows[0][j], c.expect(r), `row ${r}, column ${c.name}`));
  }
}
