/**
 * Compressed Arrow files and streams (issue #16, item 2): apache-arrow's writer with Debian's
 * python3-lz4 and python3-zstandard as its codecs (test/fixtures/compressed.ts; the writer's
 * prefixes fixed, see there). Every type is checked against the values written at the first row,
 * the last row and either side of each batch boundary, and the whole table; each buffer is
 * decompressed once per view (the cache); bad input (the writer's own unfixed file, lengths that
 * lie either way, a truncated or corrupt frame, a codec Arrow does not define, a length beyond
 * the budget) is named in the page's errors with its code; `head`, `stats` and `inspect` through
 * the CLI; the addon links liblz4 and libzstd statically.
 */
import * as A from 'apache-arrow';
import * as assert from 'assert';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { assertRowsAsWritten, mappedScratch } from './helpers';
import { ArrowTable, DECOMPRESSED_BUDGET } from '../../extension/core/tables/arrow';
import type { TableBytes } from '../../extension/core/tables/types';
import type { MappedView } from '../../extension/native';
import { runCli } from '../fixtures/cli';
import { bodyBuffers, compressedIpc, pyCompress } from '../fixtures/compressed';
import { everyType, tableOf } from '../fixtures/tables';

// Below 2052 rows: everyType's f16 column (i / 4 - 1) stays exact in float16.
const N = 2000;
const CUTS = [700, 1023, 1024];

describe('tables: compressed Arrow buffers, LZ4 frame and ZSTD (tables-compressed)', function () {
  this.timeout(120_000);
  const scratch = mappedScratch('shmi-tables-lz4-');
  const open = scratch.open;
  /** The view, counting its decompress calls. */
  const counted = (v: MappedView) => {
    const calls = { n: 0 };
    const src: TableBytes = {
      size: v.size,
      read: (o, l) => v.read(o, l),
      decompress: (c, o, l, d) => (calls.n++, v.decompress(c, o, l, d)),
    };
    return { src, calls };
  };

  const cols = everyType(N);
  const table = tableOf(cols, N, CUTS);
  const variants = [
    { codec: 'lz4', kind: 'file', sized: false },
    { codec: 'lz4', kind: 'stream', sized: true },
    { codec: 'zstd', kind: 'file', sized: true },
    { codec: 'zstd', kind: 'stream', sized: false },
  ] as const;
  for (const { codec, kind, sized } of variants) {
    it(`${codec} ${kind} (${sized ? 'frames state their size' : 'frames without their size'}): every type as written, at the ends and around each boundary`, async () => {
      const bytes = compressedIpc(table, kind, codec, { sized });
      // Really compressed: most buffers hold a frame, not the -1 of a buffer left as it was.
      const regions = bodyBuffers(bytes);
      const framed = regions.filter((r) => Buffer.from(bytes.buffer, bytes.byteOffset + r.at, 8).readBigInt64LE() !== -1n).length;
      assert.ok(framed > regions.length / 2, `${framed} of ${regions.length} buffers compressed`);
      const { src, calls } = counted(await open(`every-${codec}.${kind === 'file' ? 'feather' : 'arrows'}`, bytes));
      const t = await ArrowTable.open(src);
      assert.strictEqual(t.totalRows, N);
      assert.match(t.notes.join('\n'), new RegExp(`record batches compressed \\(${codec === 'lz4' ? 'LZ4 frame' : 'ZSTD'}\\)`));
      await assertRowsAsWritten(t, cols, [0, N - 1, ...CUTS.flatMap((c) => [c - 1, c])]);
      const all = await t.rows(0, N);
      all.rows.forEach((row, r) => cols.forEach((c, j) => assert.deepStrictEqual(row[j], c.expect(r), `row ${r}, column ${c.name}`)));
      // Once per view: every buffer of every batch is in the cache now; reading again decompresses nothing.
      const before = calls.n;
      assert.ok(before > 0 && before <= framed, `${before} decompress calls for ${framed} frames`);
      await t.rows(0, N);
      await t.rows(CUTS[0] - 5, 10, [3, 8]);
      assert.strictEqual(calls.n, before);
      assert.ok(t.decompressedBytes > 0 && t.decompressedBytes <= DECOMPRESSED_BUDGET);
    });
  }

  it('the same cells as the uncompressed file, page by page', async () => {
    const plain = await ArrowTable.open(await open('plain.arrow', A.tableToIPC(table, 'file')));
    const lz4 = await ArrowTable.open(await open('same.feather', compressedIpc(table, 'file', 'lz4', { sized: false })));
    for (const [at, n] of [
      [0, 700],
      [690, 400],
      [1020, 980],
    ]) {
      assert.deepStrictEqual((await lz4.rows(at, n)).rows, (await plain.rows(at, n)).rows, `rows ${at}..${at + n}`);
    }
  });

  const small = tableOf(everyType(400), 400, [200]);
  const errorsOf = async (name: string, bytes: Uint8Array) => {
    const t = await ArrowTable.open(await open(name, bytes));
    return (await t.rows(0, 400)).errors;
  };
  const allMatch = (errors: (string | null)[], re: RegExp, what: string) => {
    const hits = errors.filter((e) => e !== null && re.test(e));
    assert.ok(hits.length > 0, `${what}: no column says ${re}: ${JSON.stringify(errors)}`);
    for (const e of errors) if (e !== null) assert.match(e, re, what);
  };

  it("apache-arrow's own file (its prefixes hold the compressed length): the frames decompress to more than declared", async () => {
    const errors = await errorsOf('unfixed.feather', compressedIpc(small, 'file', 'lz4', { fix: false }));
    allMatch(errors, /column '\w+', record batch \d: its \w+( \w+)? buffer: the LZ4 frame decompresses to more than the \d+ bytes its buffer declares/, 'unfixed');
  });

  it('a declared length that lies, either way, and a frame cut short or corrupt: named, with their codes', async () => {
    for (const codec of ['lz4', 'zstd'] as const) {
      const name = codec === 'lz4' ? 'LZ4' : 'ZSTD';
      const more = await errorsOf(`more-${codec}.feather`, compressedIpc(small, 'file', codec, { declare: (n) => n + 8 }));
      allMatch(more, new RegExp(`the ${name} frame decompresses to \\d+ bytes, less than the \\d+ bytes its buffer declares`), `${codec} declared more`);
      const less = await errorsOf(`less-${codec}.feather`, compressedIpc(small, 'file', codec, { declare: (n) => n - 1 }));
      allMatch(less, new RegExp(`the ${name} frame decompresses to more than the \\d+ bytes its buffer declares`), `${codec} declared less`);
      const cut = await errorsOf(`cut-${codec}.feather`, compressedIpc(small, 'file', codec, { frame: (f) => f.subarray(0, f.length - 6) }));
      allMatch(cut, new RegExp(`the ${name} frame \\(\\d+ bytes\\) (ends early|is corrupt)`), `${codec} truncated`);
      const bad = await errorsOf(
        `magic-${codec}.feather`,
        compressedIpc(small, 'file', codec, { frame: (f) => Uint8Array.from(f, (x, i) => (i === 0 ? x ^ 0xff : x)) }),
      );
      allMatch(bad, new RegExp(`the ${name} frame \\(\\d+ bytes\\) is corrupt: \\S+`), `${codec} bad magic`);
    }
    // The codes, straight from the addon (a bare frame in a file).
    const [frame] = pyCompress('lz4', [Buffer.alloc(1000, 7)]);
    const v = await open('bare.lz4', frame);
    assert.strictEqual(
      (await v.decompress('lz4', 0, frame.length, 1000)).every((x) => x === 7),
      true,
    );
    await assert.rejects(v.decompress('lz4', 0, frame.length, 999), { code: 'LENGTH_MISMATCH' });
    await assert.rejects(v.decompress('lz4', 0, frame.length, 1001), { code: 'LENGTH_MISMATCH' });
    await assert.rejects(v.decompress('lz4', 0, frame.length - 3, 1000), { code: 'DECOMPRESS' });
    await assert.rejects(v.decompress('zstd', 0, frame.length, 1000), { code: 'DECOMPRESS' });
    await assert.rejects(v.decompress('lz4', 0, frame.length + 1, 1000), { code: 'RANGE' });
    await assert.rejects(async () => v.decompress('lz4', 0, frame.length, 2 ** 31), { code: 'RANGE' });
    await assert.rejects(async () => v.decompress('gzip' as 'lz4', 0, frame.length, 1000), { code: 'EINVAL' });
    // The file cut under the mapping: SHRANK, and this process lives on (reads run under the SIGBUS guard).
    fs.truncateSync(path.join(scratch.dir(), 'bare.lz4'), 10);
    await assert.rejects(v.decompress('lz4', 0, frame.length, 1000), { code: 'SHRANK' });
  });

  it('a codec Arrow does not define; a length beyond the budget is refused before any memory is taken', async () => {
    const odd = await errorsOf('codec7.arrows', compressedIpc(small, 'stream', 'zstd', { codecNumber: 7 }));
    allMatch(odd, /record batch \d+ is compressed with unknown codec 7: Arrow defines LZ4 frame \(0\) and ZSTD \(1\)/, 'codec 7');
    const huge = await errorsOf('huge.feather', compressedIpc(small, 'file', 'lz4', { declare: () => 300 * 1024 * 1024 }));
    allMatch(huge, /record batch \d+ decompresses to \d+\.\d MiB, more than the 256 MiB kept decompressed: too big to show/, 'huge');
    // In all: two buffers of 150 MiB each, each within the budget.
    let big = 0;
    const over = await errorsOf('over.feather', compressedIpc(small, 'file', 'lz4', { declare: (n) => (big++ < 2 ? 150 * 1024 * 1024 : n) }));
    allMatch(over, /record batch \d decompresses to 300\.\d MiB, more than the 256 MiB kept decompressed: too big to show/, 'over in all');
  });

  it('head, stats NAME/COLUMN and inspect on compressed files, through the CLI', async () => {
    fs.writeFileSync(path.join(scratch.dir(), 'cli.feather'), compressedIpc(table, 'file', 'lz4', { sized: false }));
    fs.writeFileSync(path.join(scratch.dir(), 'cli.arrows'), compressedIpc(table, 'stream', 'zstd'));
    for (const name of ['cli.feather', 'cli.arrows']) {
      const r = await runCli(['head', name, '--json', '--offset', String(CUTS[0] - 2), '--rows', '4', '--dir', scratch.dir()]);
      assert.strictEqual(r.code, 0, r.stderr);
      const doc = JSON.parse(r.stdout);
      assert.deepStrictEqual(
        doc.rows,
        [0, 1, 2, 3].map((k) => cols.map((c) => c.expect(CUTS[0] - 2 + k))),
        name,
      );
      // f64 has nulls (read as cells), u16 and f32 none (their decompressed values read as typed arrays).
      for (const col of ['f64', 'u16', 'f32']) {
        const st = await runCli(['stats', `${name}/${col}`, '--json', '--dir', scratch.dir()]);
        assert.strictEqual(st.code, 0, st.stderr);
        const j = cols.findIndex((c) => c.name === col);
        const vals = Array.from({ length: N }, (_, i) => cols[j].expect(i)).filter((x): x is number => typeof x === 'number');
        const got = JSON.parse(st.stdout);
        assert.deepStrictEqual([got.finiteCount, got.min, got.max], [vals.length, Math.min(...vals), Math.max(...vals)], `${name}/${col}`);
      }
    }
    const ins = await runCli(['inspect', 'cli.feather', '--json', '--dir', scratch.dir()]);
    assert.strictEqual(ins.code, 0, ins.stderr);
    const doc = JSON.parse(ins.stdout);
    assert.match(JSON.stringify(doc), /"compression":"LZ4 frame"/);
    assert.match(JSON.stringify(doc), /"name":"cli\.feather\/f64"/);
  });

  it('the addon carries liblz4 and libzstd inside it (the host needs neither)', () => {
    const addon = path.resolve(__dirname, '..', '..', '..', 'native', 'build', 'Release', 'shm_native.node');
    const deps = execFileSync('ldd', [addon], { encoding: 'utf8' });
    assert.doesNotMatch(deps, /liblz4|libzstd/);
  });
});
