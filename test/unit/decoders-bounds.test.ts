/**
 * Issue 11 items 6, 7, 9, 12 and issue 12 item 8: bounded, linear-time decoding. Hostile input
 * (a 1 MiB NPY header, a 7-star glob on a 200-character name, a process mapping 60,000 files,
 * Arrow footers whose blocks overlap, a safetensors header with a huge __metadata__ and many hard
 * links, pickles that hold no array) through the core and dist/cli.js. Each case ran for minutes,
 * aborted or said something false before its fix; the guards here (child-process timeouts) are
 * generous ceilings against hanging, not measurements: the figures are in bench/decoders.mjs.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
import { filterProblem, nameMatcher } from '../../extension/core/arrange';
import { inspectSegment, listCatalog } from '../../extension/core/catalog';
import { compileGlob, GlobError, globProblem } from '../../extension/core/glob';
import { attachCode } from '../../extension/core/manage/attach';
import type { Segment } from '../../extension/core/types';
import { arrowFile, FileBlock, refooter } from '../fixtures/arrow';
import { CLI, runCli, type Run } from '../fixtures/cli';
import { PYTHON, pyCode, SegmentJar, untilReady } from '../fixtures/segments';

const ROOT = path.resolve(__dirname, '..', '..', '..');

/** An NPY v1/v2 file with exactly this header text (padded with spaces and a newline, as numpy pads). */
function npyBytes(header: string, dataBytes: number, version: 1 | 2 = 2): Buffer {
  const pre = version === 1 ? 10 : 12;
  const len = Math.ceil((pre + header.length + 1) / 64) * 64 - pre;
  const h = Buffer.from(header.padEnd(len - 1, ' ') + '\n', 'latin1');
  const p = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0, 0, 0, 0, 0].slice(0, pre));
  if (version === 1) p.writeUInt16LE(len, 8);
  else p.writeUInt32LE(len, 8);
  return Buffer.concat([p, h, Buffer.alloc(dataBytes)]);
}

/** dist/cli.js ARGS (node started with `nodeArgs`), killed (SIGKILL) after `ceilingMs`: a hang shows as signal SIGKILL. */
const cliWithin = (args: string[], ceilingMs = 20_000, nodeArgs: string[] = []): Promise<Run> => runCli(args, { timeoutMs: ceilingMs, nodeArgs });

describe('decoders: bounded, linear-time decoding', function () {
  this.timeout(120_000);
  const jar = new SegmentJar();
  const dirs = jar.folders('shmi_bounds');
  const freshDir = () => dirs.fresh();
  before(() => assert.ok(fs.existsSync(CLI), 'dist/cli.js is built'));
  after(() => jar.cleanup());

  describe('glob (clear --glob, the sidebar filter)', () => {
    const g = (p: string, s: string, ignoreCase = false) => compileGlob(p, { ignoreCase }).test(s);

    it('keeps the fnmatch meaning: *, ?, classes, ranges, ] first, negation; no wildcard matches /', () => {
      assert.ok(g('*.shm', 'a.shm') && !g('*.shm', 'a.shmx') && !g('*.shm', 'd/a.shm'));
      assert.ok(g('d/*.pkl', 'd/x.pkl') && !g('*', 'a/b') && !g('a?b', 'a/b') && !g('a[!x]b', 'a/b'));
      assert.ok(g('[a-c]x', 'bx') && !g('[a-c]x', 'dx') && g('[!a-c]x', 'dx'));
      assert.ok(g('[]a]', ']') && g('[]a]', 'a') && g('[a-]', '-') && g('[[]', '['));
      assert.ok(g('*a*b*', 'xxaxxbxx') && !g('*a*b*', 'xxbxxaxx') && g('**', 'anything') && g('*', '') && !g('?', ''));
      assert.ok(g('\u{1F642}?', '\u{1F642}x'), '? is one character, also past the BMP');
      assert.ok(g('PSM_[A-Z]*', 'psm_abc', true) && !g('PSM_*', 'psm_x'));
    });

    it('a malformed class is a GlobError that says what and where; the sidebar filter reports it and still filters', () => {
      for (const [p, why] of [
        ['[z-a]', /z-a runs backwards/],
        ['psm_[abc', /never closed/],
        ['[]', /never closed/],
        ['[!]', /never closed/],
      ] as const) {
        assert.throws(
          () => compileGlob(p),
          (e: unknown) => e instanceof GlobError && why.test((e as Error).message) && (e as Error).message.includes(p),
        );
        assert.match(globProblem(p) ?? '', why);
        assert.match(filterProblem(` ${p} `) ?? '', why);
      }
      assert.strictEqual(filterProblem('psm_'), null, 'plain text is no glob');
      assert.strictEqual(filterProblem('[a-c]*'), null);
      // A malformed filter stored before (workspace state) filters as text instead of breaking the tree.
      const m = nameMatcher('x[1');
      assert.ok(m('ax[1b') && !m('ax1b'));
    });

    it('CLI: a 7-star glob against a 200-character name answers at once (it ran for 10 minutes); a bad class exits 2', async () => {
      const d = freshDir();
      const long = 'a'.repeat(200);
      fs.writeFileSync(path.join(d, long), 'x');
      fs.writeFileSync(path.join(d, 'a_b'), 'x');
      const r = await cliWithin(['clear', '--glob', '*a*a*a*a*a*a*b', '--dry-run', '--json', '--dir', d]);
      assert.strictEqual(r.signal, null, 'clear --glob finished (not killed at the ceiling)');
      assert.strictEqual(r.code, 0, r.stderr);
      const plan = JSON.parse(r.stdout) as { planned: string[] };
      assert.deepStrictEqual(plan.planned, [], 'the long name has no b; a_b has too few a');
      const hit = JSON.parse((await cliWithin(['clear', '--glob', '*a*b', '--dry-run', '--json', '--dir', d])).stdout) as { planned: string[] };
      assert.deepStrictEqual(hit.planned, ['a_b']);

      const bad = await cliWithin(['clear', '--glob', 'psm_[z-a]*', '--dry-run', '--dir', d]);
      assert.strictEqual(bad.code, 2, bad.stderr);
      assert.strictEqual(bad.stdout, '');
      assert.match(bad.stderr, /^shm-inspector: bad glob 'psm_\[z-a\]\*': the range z-a runs backwards \(character 6\) \(see 'shm-inspector --help'\)\n$/);
      assert.ok(fs.existsSync(path.join(d, long)) && fs.existsSync(path.join(d, 'a_b')), 'nothing removed');
    });
  });

  describe('NPY headers: linear parsing, one dimension rule', () => {
    it('a 1 MiB header of 55,000 fields is decoded at once (the parser was quadratic: a minute); past 1 MiB is refused', async () => {
      const d = freshDir();
      const fields: string[] = [];
      for (let k = 0, n = 0; n < (1 << 20) - 200; k++) n += fields[fields.push(`('f${k}', '<f8')`) - 1].length + 2;
      const header = `{'descr': [${fields.join(', ')}], 'fortran_order': False, 'shape': (2,), }`;
      const bytes = npyBytes(header, 2 * 8 * fields.length);
      assert.ok(bytes.readUInt32LE(8) <= 1 << 20, 'at the cap, not past it');
      fs.writeFileSync(path.join(d, 'wide.npy'), bytes);
      const r = await cliWithin(['inspect', 'wide.npy', '--json', '--dir', d]);
      assert.strictEqual(r.signal, null, 'inspect finished (not killed at the ceiling)');
      const seg = JSON.parse(r.stdout) as Segment;
      assert.strictEqual(seg.error, null);
      assert.strictEqual(seg.dtype, 'structured');
      assert.strictEqual(seg.details?.fields, fields.length);
      assert.ok(String(seg.details?.descr).length < 5000 && /^\[\('f0', '<f8'\)/.test(String(seg.details?.descr)), 'the description is cut, not 1 MiB');
      const over = Buffer.from(bytes);
      over.writeUInt32LE((1 << 20) + 1, 8);
      fs.writeFileSync(path.join(d, 'over.npy'), over);
      assert.match((await inspectSegment('over.npy', { dirs: [d], holders: false }))!.error ?? '', /header length 1048577 is absurd/);
    });

    it("numpy's own 600-field record header (14 KB, past numpy's default read limit) opens", async () => {
      const d = freshDir();
      pyCode(
        'import numpy as np, sys\n' +
          "dt = np.dtype([('field_%03d_with_a_long_name' % i, '<f8') for i in range(600)])\n" +
          'np.save(sys.argv[1], np.zeros(3, dtype=dt))',
        [path.join(d, 'records.npy')],
      );
      const seg = (await inspectSegment('records.npy', { dirs: [d], holders: false }))!;
      assert.ok(fs.readFileSync(path.join(d, 'records.npy')).readUInt32LE(8) > 10_000, 'numpy wrote a header past its 10000-byte read limit');
      assert.strictEqual(seg.error, null);
      assert.strictEqual(seg.format, 'npy');
      assert.strictEqual(seg.dtype, 'structured');
      assert.strictEqual(seg.details?.fields, 600);
    });

    it('a 300-dimension canonical header gets the same error from the native fast path and the general parser', async () => {
      const d = freshDir();
      const dims = Array(300).fill('1').join(', ');
      fs.writeFileSync(path.join(d, 'deep.npy'), npyBytes(`{'descr': '<f4', 'fortran_order': False, 'shape': (${dims}), }`, 4));
      fs.writeFileSync(path.join(d, 'deep2.npy'), npyBytes(`{'shape': (${dims}), 'fortran_order': False, 'descr': '<f4'}`, 4));
      const rule = /shape has 300 dimensions, more than numpy's 64/;
      const listed = (await listCatalog({ dirs: [d], holders: false })).segments;
      for (const s of listed) {
        assert.match(s.error ?? '', rule, `${s.name} (listing)`);
        assert.strictEqual(s.shape, null);
      }
      assert.match((await inspectSegment('deep.npy', { dirs: [d], holders: false }))!.error ?? '', rule);
      // 64 dimensions are fine on both paths.
      fs.writeFileSync(path.join(d, 'ok.npy'), npyBytes(`{'descr': '<f4', 'fortran_order': False, 'shape': (${Array(64).fill('1').join(', ')}), }`, 4));
      const ok = (await listCatalog({ dirs: [d], holders: false })).segments.find((s) => s.name === 'ok.npy')!;
      assert.strictEqual(ok.error, null);
      assert.strictEqual(ok.shape!.length, 64);
    });
  });

  describe('holders', () => {
    it('one process mapping 60,000 files of the listed folder: each file has it as holder, once', async function () {
      const d = freshDir();
      const count = 60_000;
      const child = jar.spawn(PYTHON, [path.join(ROOT, 'bench', 'map_files.py'), d, String(count)]);
      try {
        const pid = Number(/ready (\d+)/.exec(await untilReady(child, 'map_files.py'))![1]);
        const cat = await listCatalog({ dirs: [d], interpretations: false });
        assert.strictEqual(cat.segments.length, count);
        const wrong = cat.segments.filter((s) => s.holders.length !== 1 || s.holders[0].pid !== pid || s.holders[0].via !== 'map' || s.orphan !== false);
        assert.deepStrictEqual(
          wrong.slice(0, 3).map((s) => [s.name, s.holders]),
          [],
          `${wrong.length} files without their one holder`,
        );
      } finally {
        child.kill('SIGKILL');
      }
    });
  });

  describe('Arrow footers', () => {
    it('2000 blocks that all cover one 16 MiB region are rejected (they were read 2000 times and reported valid)', async () => {
      const d = freshDir();
      const one = arrowFile(1, 2 * 1024 * 1024);
      const bad = refooter(one, (blocks) => Array.from({ length: 2000 }, () => new FileBlock(blocks[0].metaDataLength + blocks[0].bodyLength, 0, blocks[0].offset)));
      fs.writeFileSync(path.join(d, 'same.arrow'), bad);
      const seg = (await inspectSegment('same.arrow', { dirs: [d], holders: false }))!;
      assert.strictEqual(seg.format, 'arrow');
      assert.match(seg.error ?? '', /record batch 1 \(bytes \d+\.\.\d+\) overlaps record batch 0/);
      // Two blocks in the wrong order but apart are fine; one that reaches into the footer is not.
      const two = arrowFile(2, 8);
      fs.writeFileSync(
        path.join(d, 'swapped.arrow'),
        refooter(two, (b) => [b[1], b[0]]),
      );
      const swapped = (await inspectSegment('swapped.arrow', { dirs: [d], holders: false }))!;
      assert.strictEqual(swapped.error, null);
      assert.strictEqual(swapped.details?.rows, 16);
      fs.writeFileSync(
        path.join(d, 'long.arrow'),
        refooter(two, (b) => [b[0], new FileBlock(b[1].metaDataLength, b[1].bodyLength + 4096, b[1].offset)]),
      );
      assert.match((await inspectSegment('long.arrow', { dirs: [d], holders: false }))!.error ?? '', /record batch 1 .* lies outside the data/);
    });
  });

  describe('memory: what a decoder keeps, hard links', () => {
    it('46 hard links to a safetensors file with a 32 MiB __metadata__: listed in a 400 MiB heap, metadata cut with its size', async () => {
      const d = freshDir();
      const blob = 'm'.repeat(32 * 1024 * 1024);
      const header = Buffer.from(JSON.stringify({ __metadata__: { blob, format: 'pt' }, w: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }));
      const len = Buffer.alloc(8);
      len.writeBigUInt64LE(BigInt(header.length));
      const file = path.join(d, 'model.safetensors');
      fs.writeFileSync(file, Buffer.concat([len, header, Buffer.alloc(8)]));
      for (let k = 1; k < 46; k++) fs.linkSync(file, path.join(d, `link${k}.safetensors`));
      const r = await cliWithin(['list', '--json', '--dir', d], 120_000, ['--max-old-space-size=400']);
      assert.strictEqual(r.code, 0, `list survived (it aborted out of heap): ${r.stderr.slice(-300)}`);
      const segs = (JSON.parse(r.stdout) as { segments: Segment[] }).segments;
      assert.strictEqual(segs.length, 46);
      for (const s of segs) {
        assert.strictEqual(s.format, 'safetensors');
        assert.strictEqual(s.error, null);
        const meta = s.details?.metadata as Record<string, string>;
        assert.strictEqual(meta.format, 'pt', 'short values whole');
        assert.ok(
          meta.blob.length < 4200 && meta.blob.startsWith('mmmm') && meta.blob.endsWith('(cut: 33554432 characters in all)'),
          'the long one cut, its length said',
        );
        assert.strictEqual(s.details?.metadataCut, true);
        assert.strictEqual(s.details?.metadataBytes, blob.length + 'blob'.length + 'format'.length + 'pt'.length);
        assert.deepStrictEqual(
          s.children!.map((c) => [c.name.slice(s.name.length + 1), c.dtype, c.shape]),
          [['w', '<f4', [2]]],
        );
      }
      assert.ok(r.stdout.length < 2 * 1024 * 1024, `the listing is ${r.stdout.length} bytes, not 46 copies of 32 MiB`);
    });
  });

  describe('attach on pickles', () => {
    const evilCode = (marker: string) =>
      'import os, pickle, sys\n' + 'class Evil:\n' + '    def __reduce__(self):\n' + `        return (os.system, ('touch ' + ${JSON.stringify(marker)},))\n`;

    it('never suggests loading a pickle the walker did not see through; says why; what it prints runs nothing', async () => {
      const d = freshDir();
      const folder = path.join(d, 'joblib_memmapping_folder_t');
      fs.mkdirSync(folder);
      const marker = path.join(d, 'RAN');
      // No array at all: a pickle whose loading runs a command.
      pyCode(evilCode(marker) + 'open(sys.argv[1], "wb").write(pickle.dumps(Evil(), protocol=4))', [path.join(folder, 'evil.pkl')]);
      // A real joblib dump whose list holds that object before an array.
      pyCode(evilCode(marker) + 'import joblib, numpy as np\njoblib.dump([Evil(), np.arange(6.0)], sys.argv[1])', [path.join(folder, 'mixed.pkl')]);
      // And a plain joblib array, which may be loaded.
      pyCode('import joblib, numpy as np, sys\njoblib.dump(np.arange(5, dtype="<i4"), sys.argv[1])', [path.join(folder, 'good.pkl')]);
      assert.ok(!fs.existsSync(marker));
      const seg = async (n: string) => (await inspectSegment(`joblib_memmapping_folder_t/${n}`, { dirs: [d], holders: false }))!;

      const evil = attachCode(await seg('evil.pkl'));
      assert.strictEqual(evil.kind, 'none');
      assert.ok(!/^[^#\n]/m.test(evil.code), `comments only:\n${evil.code}`);
      assert.match(evil.code, /not loading it with joblib\.load or pickle: pickle holds no joblib NumpyArrayWrapper/);
      assert.strictEqual(evil.alternatives, undefined);

      const mixed = attachCode(await seg('mixed.pkl'));
      assert.strictEqual(mixed.kind, 'none');
      assert.match(mixed.code, /the pickle names posix\.system, which loading it would import and may call/);
      assert.ok(!/joblib\.load\(/.test(mixed.code.replace(/^#.*$/gm, '')));

      const good = attachCode(await seg('good.pkl'));
      assert.strictEqual(good.kind, 'joblib');
      assert.match(good.code, /obj = joblib\.load\(path, mmap_mode='r'\)/);

      const all = attachCode((await inspectSegment('joblib_memmapping_folder_t', { dirs: [d], holders: false }))!);
      assert.strictEqual(all.kind, 'joblib');
      assert.match(all.code, /#   evil\.pkl: pickle holds no joblib NumpyArrayWrapper/);
      assert.match(all.code, /#   mixed\.pkl: the pickle names posix\.system/);
      const out = pyCode(all.code + '\nprint(sorted((k, v.tolist()) for k, v in objects.items()))');
      assert.strictEqual(out.trim(), "[('good.pkl', [0, 1, 2, 3, 4])]");
      for (const code of [evil.code, mixed.code, ...(mixed.alternatives ?? []).map((a) => a.code)]) pyCode(code);
      assert.ok(!fs.existsSync(marker), 'nothing printed by attach ran the pickle');
    });
  });

  describe('CLI usage errors', () => {
    it('render --width 16384 --height 16384 past the 64 Mi-pixel limit exits 2 with a usage line; a smaller window is clamped and renders', async () => {
      const d = freshDir();
      const big = path.join(d, 'big.raw');
      fs.writeFileSync(big, '');
      fs.truncateSync(big, 8200 * 8200); // sparse: no RAM
      fs.writeFileSync(path.join(d, 'small.raw'), Buffer.alloc(16, 1));
      const out = path.join(d, 'x.png');
      const r = await cliWithin(['render', 'big.raw', '--dtype', 'u1', '--shape', '8200,8200', '--width', '16384', '--height', '16384', '--out', out, '--dir', d]);
      assert.strictEqual(r.code, 2, r.stderr);
      assert.match(r.stderr, /^shm-inspector: --width 16384 --height 16384 makes a 8200 x 8200 image .* more than 67108864 .*\(see 'shm-inspector --help'\)\n$/);
      assert.ok(!fs.existsSync(out));
      const ok = await cliWithin([
        'render',
        'small.raw',
        '--dtype',
        'u1',
        '--shape',
        '4,4',
        '--width',
        '16384',
        '--height',
        '16384',
        '--out',
        out,
        '--dir',
        d,
        '--json',
      ]);
      assert.strictEqual(ok.code, 0, ok.stderr);
      assert.deepStrictEqual([JSON.parse(ok.stdout).width, JSON.parse(ok.stdout).height], [4, 4]);
    });
  });

  describe('a name that states a format its bytes do not have', () => {
    it('is listed raw with what was expected and what was found; other raw files stay without an error', async () => {
      const d = freshDir();
      fs.writeFileSync(path.join(d, 'a.npy'), '<?xml version="1.0"?>');
      const st = Buffer.alloc(20);
      st.writeBigUInt64LE(1000n);
      st.write('{"w":', 8);
      fs.writeFileSync(path.join(d, 'b.safetensors'), st);
      fs.writeFileSync(path.join(d, 'c.feather'), Buffer.concat([Buffer.from('FEA1'), Buffer.alloc(60)]));
      fs.writeFileSync(path.join(d, 'd.arrow'), Buffer.from('PAR1 not arrow at all'));
      fs.writeFileSync(path.join(d, 'e.npy'), '');
      fs.writeFileSync(path.join(d, 'plain.bin'), '<?xml version="1.0"?>');
      const by = Object.fromEntries((await listCatalog({ dirs: [d], holders: false })).segments.map((s) => [s.name, s]));
      for (const s of Object.values(by)) assert.strictEqual(s.format, 'raw', s.name);
      assert.strictEqual(
        by['a.npy'].error,
        'named .npy but not decoded as such: expected the NPY magic \\x93NUMPY; the file starts 3c 3f 78 6d 6c 20 76 65 ("<?xml ve")',
      );
      assert.strictEqual(
        by['b.safetensors'].error,
        "named .safetensors but not decoded as such: expected a safetensors header (an 8-byte little-endian length, then '{'); its header length 1000 does not fit the file's 20 bytes",
      );
      assert.match(by['c.feather'].error ?? '', /named \.feather but .*; it starts with FEA1: Feather v1, which is not Arrow IPC/);
      assert.match(by['d.arrow'].error ?? '', /named \.arrow but .*expected the Arrow file magic ARROW1 .*; the file starts 50 41 52 31/);
      assert.match(by['e.npy'].error ?? '', /named \.npy but .*; the file is empty/);
      assert.strictEqual(by['plain.bin'].error, null);
    });
  });
});
