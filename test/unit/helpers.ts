/** What several unit suites ask of the core (the fixtures that make segments are in test/fixtures/). */
import * as assert from 'assert';
import { listCatalog } from '../../extension/core/catalog';
import type { Segment } from '../../extension/core/types';

/** The segment `name` as the catalog of `dir` lists it (holders not read); fails the test when it is not listed. */
export async function listed(dir: string, name: string): Promise<Segment> {
  const cat = await listCatalog({ dirs: [dir], holders: false });
  const seg = cat.segments.find((s) => s.name === name);
  assert.ok(seg, `${name} listed`);
  return seg;
}
