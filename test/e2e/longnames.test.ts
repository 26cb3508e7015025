/**
 * Long segment names in the Segments tree (issue #12, item 6), in the real workbench at the
 * default sidebar width (300 px): the label keeps the start and the distinctive end of a
 * 90-character name with an ellipsis in the middle, so that the row's description keeps its size
 * and dtype in view (all of `76.3 MiB · float64 · 1000×10000` takes 191 of the label box's 255 px:
 * no useful label leaves room for the shape too); siblings that share start and end get different
 * labels; the whole name is in the row's accessible name, and the filter matches the whole name.
 * Screenshots: longnames-1-row.png, longnames-2-siblings.png.
 */
import * as assert from 'assert';
import * as crypto from 'crypto';
import * as path from 'path';
import type { Page } from 'playwright-core';

// Functions given to evaluate run in the page; the test build has no DOM types.
declare const document: any;
import { py, SegmentJar } from '../fixtures/segments';
import { answerStep, openSharedMemoryView, openWorkbench, runCommand, shot, shotIfFailed, type Workbench } from './helpers';

/** A name of exactly `length` characters: `start`, filler, 8 random hex digits, then `end` (registered for removal). */
function longName(jar: SegmentJar, start: string, end: string, length: number): { name: string; path: string } {
  const rand = crypto.randomBytes(4).toString('hex');
  const name = `${start}${'x'.repeat(Math.max(0, length - start.length - rand.length - end.length))}${rand}${end}`;
  return { name, path: jar.track(path.join(jar.dir, name)) };
}

/** About the width of the ellipsis with which the workbench cuts a row's text (measured: 13 px). */
const ELLIPSIS = 13;
/** `76.3 MiB`. */
const SIZE = 8;

interface Geometry {
  row: { left: number; right: number; width: number };
  clip: { left: number; right: number };
  desc: { left: number; right: number; width: number };
  /** Where the first `upTo` characters of the description end. */
  factsRight: number;
  labelWidth: number;
  label: string;
  description: string;
  aria: string | null;
}

async function geometry(page: Page, rowText: string, upTo = '76.3 MiB · float64'.length): Promise<Geometry> {
  const row = page.locator('.part.sidebar .monaco-list-row', { has: page.locator('.label-description', { hasText: rowText }) }).first();
  await row.waitFor({ timeout: 30_000 });
  return row.evaluate((r: any, n: number) => {
    const box = (e: any) => e.getBoundingClientRect().toJSON();
    const desc = r.querySelector('.label-description');
    const text = document.createTreeWalker(desc, 4).nextNode();
    const range = document.createRange();
    range.setStart(text, 0);
    range.setEnd(text, Math.min(n, text.length));
    return {
      factsRight: range.getBoundingClientRect().right,
      labelWidth: r.querySelector('.label-name').getBoundingClientRect().width,
      row: box(r),
      clip: box(r.querySelector('.monaco-icon-label-container')),
      desc: box(r.querySelector('.label-description')),
      label: r.querySelector('.label-name').textContent,
      description: r.querySelector('.label-description').textContent,
      aria: r.getAttribute('aria-label'),
    };
  }, upTo);
}

describe('long segment names in the tree', function () {
  this.timeout(180_000);
  const jar = new SegmentJar();
  const tag = `shmi_e2e_longnames_${process.pid}`;
  // 90 characters each; the two share their start and their end, and differ only in the middle.
  const a = longName(jar, `${tag}_joblib_memmapping_folder_abcdef0123456789_`, '_worker-7.npy', 90);
  const b = longName(jar, `${tag}_joblib_memmapping_folder_abcdef0123456789_`, '_worker-7.npy', 90);
  let wb: Workbench | undefined;
  let page: Page;

  before(async () => {
    assert.strictEqual(a.name.length, 90);
    assert.strictEqual(b.name.length, 90);
    py(['npy', a.path, '<f8', '1000,10000']); // sparse: 76.3 MiB apparent
    py(['npy', b.path, '<f8', '1000,9999']);
    wb = await openWorkbench('longnames');
    page = wb.page;
    await openSharedMemoryView(page);
  });

  afterEach(async function () {
    await shotIfFailed(page, this.currentTest, 'longnames');
  });

  after(async () => {
    await wb?.close();
    jar.cleanup();
  });

  /** Sets the view's filter and waits until the row showing `shown` (a description) is there and the one showing `gone` is not. */
  async function filter(text: string, shown: string, gone?: string): Promise<void> {
    await runCommand(page, 'SHM Inspector: Filter…');
    await answerStep(page, 'Filter segments', text);
    const row = (d: string) => page.locator('.part.sidebar .monaco-list-row', { has: page.locator('.label-description', { hasText: d }) });
    await row(shown).waitFor({ timeout: 30_000 });
    if (gone) await row(gone).waitFor({ state: 'detached', timeout: 30_000 });
  }

  it('a 90-character name is cut in its middle, and the size and dtype stay in view at the default sidebar width', async () => {
    // a's random part, in the middle of the name (just before `_worker-7.npy`): the filter matches the whole name.
    await filter(a.name.slice(-21, -13), '1000×10000', '1000×9999');
    const g = await geometry(page, '1000×10000');
    const sidebar = (await page.locator('.part.sidebar').boundingBox())!;
    console.log(`      sidebar ${Math.round(sidebar.width)} px; row ${JSON.stringify(g)}`);
    await shot(page, 'longnames-1-row');
    assert.strictEqual(Math.round(sidebar.width), 300, 'the default sidebar width');
    assert.strictEqual(g.description, '76.3 MiB · float64 · 1000×10000');
    assert.ok(g.desc.width > 0 && g.desc.left >= g.row.left, 'the description is laid out in the row');
    // Size and dtype lie within the row, before the ellipsis with which the label box cuts the rest.
    assert.ok(
      g.factsRight <= g.row.right && g.factsRight <= g.clip.right - ELLIPSIS,
      `size and dtype are in view (${g.factsRight} > ${g.clip.right} - ${ELLIPSIS})`,
    );
    assert.ok(g.label.includes('…'), `the label is cut with an ellipsis: ${g.label}`);
    assert.ok(a.name.startsWith(g.label.slice(0, g.label.indexOf('…'))), 'the label keeps the start of the name');
    assert.ok(a.name.endsWith(g.label.slice(g.label.indexOf('…') + 1)), 'the label keeps the end of the name');
    assert.ok(g.aria?.includes(a.name), `the row's accessible name holds the whole name: ${g.aria}`);
  });

  it('two long names that differ only in the middle get different labels; a glob over the cut-out part matches both', async () => {
    const cutOut = 'memmapping_folder_abcdef';
    await filter(`${tag}*${cutOut}*`, '1000×10000');
    // Until the tree has re-rendered both rows for this filter (two reads 500 ms apart agree).
    const read = async () => [await geometry(page, '1000×10000', SIZE), await geometry(page, '1000×9999', SIZE)] as const;
    let [ga, gb] = await read();
    for (let i = 0; i < 20; i++) {
      await page.waitForTimeout(500);
      const [na, nb] = await read();
      const settled = na.label === ga.label && nb.label === gb.label;
      [ga, gb] = [na, nb];
      if (settled && ga.label !== gb.label) break;
    }
    await shot(page, 'longnames-2-siblings');
    console.log(`      labels ${ga.label} | ${gb.label}; the size ends at ${ga.factsRight}, ${gb.factsRight} (label box ends at ${ga.clip.right})`);
    assert.ok(!ga.label.includes(cutOut) && !gb.label.includes(cutOut), 'the labels leave out the part the filter matched');
    assert.notStrictEqual(ga.label, gb.label);
    for (const [g, s] of [
      [ga, a],
      [gb, b],
    ] as const) {
      assert.ok(
        s.name.startsWith(g.label.slice(0, g.label.indexOf('…'))) && s.name.endsWith(g.label.slice(g.label.indexOf('…') + 1)),
        `${g.label} is cut from ${s.name}`,
      );
      assert.ok(g.factsRight <= g.row.right && g.factsRight <= g.clip.right - ELLIPSIS, `the size is in view (${g.factsRight} > ${g.clip.right} - ${ELLIPSIS})`);
      assert.ok(g.aria?.includes(s.name));
    }
  });
});
