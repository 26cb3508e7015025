/**
 * The Segments tree's labels for long names (issue #12, item 6): cut in the middle so the row's
 * description stays in view, short names unchanged, colliding siblings told apart, the display
 * escaping kept (extension/sidebar/nodes.ts).
 */
import * as assert from 'assert';
import type { Segment } from '../../extension/core/types';
import { cutLabel, LABEL_CUT, LABEL_WHOLE, segmentId, segmentLabel, segmentLabels } from '../../extension/sidebar/nodes';

const seg = (name: string, dir = '/dev/shm'): Segment => ({ name, path: `${dir}/${name}`, deleted: false, holders: [] }) as unknown as Segment;
const labelsOf = (segs: Segment[]) => {
  const m = segmentLabels(segs);
  return segs.map((s) => m.get(segmentId(s))!);
};

describe('tree labels of long names', () => {
  const long = 'joblib_memmapping_folder_12345_abcdef0123456789_worker-7_feature_matrix_fold_3.npy';

  it('leaves short names (and every name up to LABEL_WHOLE characters) unchanged', () => {
    assert.strictEqual(segmentLabel(seg('psm_3f9a1b2c')), 'psm_3f9a1b2c');
    const edge = 'shmi_e2e_first_outlier_1234567_2_abcdef01.npy'.padEnd(LABEL_WHOLE, 'x');
    assert.strictEqual(edge.length, LABEL_WHOLE);
    assert.strictEqual(segmentLabel(seg(edge)), edge);
    assert.deepStrictEqual(labelsOf([seg('a'), seg('b')]), ['a', 'b']);
    assert.strictEqual(cutLabel('short', 16), 'short');
  });

  it('cuts a long name in its middle: the start, an ellipsis, the (longer) end, LABEL_CUT characters in all', () => {
    const l = segmentLabel(seg(long));
    assert.strictEqual(l, 'joblib…old_3.npy');
    assert.strictEqual([...l].length, LABEL_CUT);
    assert.strictEqual(cutLabel('psm_3f9a1b2c3d4e5f60718293a4b5c6d7e8f9_worker-7.npy', 22), 'psm_3f9a…_worker-7.npy');
    // Only the last name part: a file in a directory segment.
    assert.strictEqual(segmentLabel(seg(`some_dir/${long}`)), 'joblib…old_3.npy');
  });

  it('two long siblings that share start and end keep more of the end until they differ', () => {
    const a = 'psm_0123456789abcdef0123456789abcdef0123456789_AAAA1_0123456789_worker-7.npy';
    const b = 'psm_0123456789abcdef0123456789abcdef0123456789_AAAA2_0123456789_worker-7.npy';
    const c = 'zzz_something_else_entirely_and_long_enough_to_be_cut_0123456789_worker-7.npy';
    assert.strictEqual(segmentLabel(seg(a)), segmentLabel(seg(b)), 'the plain cut collides');
    const [la, lb, lc] = labelsOf([seg(a), seg(b), seg(c)]);
    assert.notStrictEqual(la, lb);
    assert.ok(a.endsWith(la.slice(la.indexOf('…') + 1)) && a.startsWith(la.slice(0, la.indexOf('…'))), la);
    assert.ok(b.endsWith(lb.slice(lb.indexOf('…') + 1)) && b.startsWith(lb.slice(0, lb.indexOf('…'))), lb);
    assert.strictEqual(la, 'psm_…1_0123456789_worker-7.npy');
    assert.strictEqual(lc, segmentLabel(seg(c)), 'a sibling that does not collide keeps the plain cut');
    // Names that differ only in their start (same end) fall back to the whole names at worst.
    const d = 'A'.repeat(60) + '_same_end.npy';
    const e = 'B' + 'A'.repeat(59) + '_same_end.npy';
    const [ld, le] = labelsOf([seg(d), seg(e)]);
    assert.notStrictEqual(ld, le);
    // Same base name in two folders (two watched directories): no endless loop, both whole-or-cut alike.
    const [lf, lg] = labelsOf([seg(long, '/dev/shm'), seg(long, '/tmp/shm')]);
    assert.strictEqual(lf, lg);
  });

  it('keeps the display escaping, and never cuts an escape in two', () => {
    const hostile = 'evil\x1b[2J' + 'x'.repeat(60) + '\u202e.npy';
    const l = segmentLabel(seg(hostile));
    assert.ok(!/[\x00-\x1f\u202e]/.test(l), l);
    assert.ok(l.startsWith('evil\\x1b'), l);
    assert.ok(l.endsWith('\\xe2\\x80\\xae.npy'), l);
    // An escape counts as one character: a cut at any length leaves every `\x` followed by two hex digits.
    const spelled = 'a\\xff'.repeat(30);
    for (let max = 5; max < 40; max++) {
      const c = cutLabel(spelled, max);
      assert.ok(!/\\x(?![0-9a-f]{2})/.test(c.replace(/…/g, '')), `${max}: ${c}`);
    }
    assert.strictEqual(segmentLabel(seg('folder/t\x1b[2Jx\n')), 't\\x1b[2Jx\\x0a', 'short hostile names as before');
  });

  it('gives a deleted Arrow file and each of its columns ids of their own (VS Code refuses a tree with two alike)', () => {
    const file = { name: 'df.arrow', path: '/dev/shm/df.arrow', deleted: true, dev: 26, ino: 17062, format: 'arrow', holders: [] } as unknown as Segment;
    const cols = ['a', 'b'].map((c) => ({ ...file, name: `df.arrow/${c}`, format: 'column' }) as unknown as Segment);
    const ids = [file, ...cols].map(segmentId);
    assert.strictEqual(new Set(ids).size, 3, ids.join(' '));
    assert.strictEqual(ids[0], 'deleted:26:17062', 'the file keeps its id');
  });
});
