/**
 * `shm-inspector stats` and `render` (dist/cli.js, as built) on segments numpy, the format writers
 * and apache-arrow made: stats JSON against numpy for every format and selection flag; PNGs
 * decoded here (own decoder: chunk CRCs, inflate, unfilter) and checked pixel by pixel against the
 * colormap tables; exact sizes, the never-more-cells rule, exit codes and one-line errors.
 */
import * as A from 'apache-arrow';
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as zlib from 'zlib';
import { identityOf, setInterpretation } from '../../extension/core/interpretations';
import { py, pyFormats, SegmentJar, SHM_DIR, uniqueName } from '../fixtures/segments';
import type { statsDoc } from '../../extension/cli/common';
import { runCli as runCliWith, type Run } from '../fixtures/cli';
/** The webview's colormaps (DOM-free; the test build transpiles webview/ too): the CLI's PNGs must use the same ones. */
import * as cm from '../../contract/colormaps';

let configDir = '';

const cli = (args: string[]): Promise<Run> => runCliWith(args, { env: { SHM_INSPECTOR_CONFIG_DIR: configDir } });

function json<T>(r: Run): T {
  assert.strictEqual(r.stderr, '', 'nothing on stderr');
  assert.strictEqual(r.code, 0, 'exit 0');
  return JSON.parse(r.stdout) as T;
}

function fails(r: Run, code: number, pattern: RegExp): void {
  assert.strictEqual(r.code, code, `exit ${code} (stderr: ${r.stderr})`);
  assert.strictEqual(r.stdout, '', 'nothing on stdout');
  assert.ok(r.stderr.endsWith('\n') && r.stderr.split('\n').length === 2, `one line on stderr: ${JSON.stringify(r.stderr)}`);
  assert.match(r.stderr, pattern);
}

/** `stats --json` of an array (docs/cli.md). */
type StatsDoc = ReturnType<typeof statsDoc>;
const STATS_KEYS = ['count', 'finiteCount', 'min', 'max', 'mean', 'std', 'nanCount', 'infCount'];

function near(actual: number | null, expected: number | null, what: string): void {
  if (expected === null) {
    assert.strictEqual(actual, null, `${what}: expected null`);
    return;
  }
  assert.ok(actual !== null, `${what}: expected ${expected}, got null`);
  const tol = 1e-6 * Math.max(1, Math.abs(expected));
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: expected ${expected}, got ${actual}`);
}

function sameStats(got: StatsDoc, want: StatsDoc, what: string): void {
  assert.deepStrictEqual(Object.keys(got), STATS_KEYS, `${what}: exactly the contract's fields`);
  for (const k of ['count', 'finiteCount', 'nanCount', 'infCount'] as const) assert.strictEqual(got[k], want[k], `${what} ${k}`);
  for (const k of ['min', 'max', 'mean', 'std'] as const) near(got[k], want[k], `${what} ${k}`);
}

// ---- a tiny PNG decoder (RGBA 8-bit, every filter type), checking every chunk's CRC ----

const CRC_TABLE = (() => {
  const t = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  return t;
})();
function crc(b: Uint8Array): number {
  let c = -1;
  for (const x of b) c = CRC_TABLE[(c ^ x) & 0xff] ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}

interface Png {
  width: number;
  height: number;
  rgba: Uint8Array;
  pixel(x: number, y: number): number[];
}

function decodePng(buf: Buffer): Png {
  assert.deepStrictEqual([...buf.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'PNG signature');
  let at = 8;
  let width = 0;
  let height = 0;
  const idat: Buffer[] = [];
  let ended = false;
  while (at < buf.length) {
    const len = buf.readUInt32BE(at);
    const type = buf.toString('latin1', at + 4, at + 8);
    const data = buf.subarray(at + 8, at + 8 + len);
    assert.strictEqual(buf.readUInt32BE(at + 8 + len), crc(buf.subarray(at + 4, at + 8 + len)), `${type} CRC`);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      assert.deepStrictEqual([...data.subarray(8)], [8, 6, 0, 0, 0], 'IHDR: 8-bit RGBA, deflate, no interlace');
    } else if (type === 'IDAT') {
      idat.push(data);
    } else if (type === 'IEND') {
      ended = true;
    }
    at += 12 + len;
  }
  assert.ok(ended && at === buf.length, 'IEND last');
  const raw = zlib.inflateSync(Buffer.concat(idat));
  const stride = width * 4;
  assert.strictEqual(raw.length, (stride + 1) * height, 'scanline bytes');
  const out = new Uint8Array(stride * height);
  for (let y = 0; y < height; y++) {
    const f = raw[y * (stride + 1)];
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let x = 0; x < stride; x++) {
      const a = x >= 4 ? out[y * stride + x - 4] : 0;
      const b = y > 0 ? out[(y - 1) * stride + x] : 0;
      const c = x >= 4 && y > 0 ? out[(y - 1) * stride + x - 4] : 0;
      let v = line[x];
      if (f === 1) v += a;
      else if (f === 2) v += b;
      else if (f === 3) v += (a + b) >> 1;
      else if (f === 4) {
        const p = a + b - c;
        const pa = Math.abs(p - a);
        const pb = Math.abs(p - b);
        const pc = Math.abs(p - c);
        v += pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      } else assert.strictEqual(f, 0, `filter type ${f}`);
      out[y * stride + x] = v & 0xff;
    }
  }
  return { width, height, rgba: out, pixel: (x, y) => [...out.subarray((y * width + x) * 4, (y * width + x) * 4 + 4)] };
}

// ---- numpy references ----

interface Ref {
  dataOffset: number;
  wholeStats: Record<string, StatsDoc>;
  selections: { rows: number; cols: number; height: number; width: number; grid: Record<string, (number | null | string)[]>; stats: StatsDoc }[];
}

function makeCases(specs: object[]): Ref[] {
  const spec = path.join(os.tmpdir(), `${uniqueName('shmi_cli_array')}.json`);
  fs.writeFileSync(spec, JSON.stringify(specs));
  try {
    py(['cases', spec, '--out', spec + '.out'], { timeout: 120_000 });
    return JSON.parse(fs.readFileSync(spec + '.out', 'utf8')) as Ref[];
  } finally {
    fs.rmSync(spec, { force: true });
    fs.rmSync(spec + '.out', { force: true });
  }
}

const decodeEnc = (v: number | null | string) => (v === null ? NaN : v === 'Infinity' ? Infinity : v === '-Infinity' ? -Infinity : Number(v));

describe('shm-inspector CLI: stats and render (cli-array)', function () {
  this.timeout(120_000);
  const jar = new SegmentJar();
  let tmp = '';
  const seg: Record<string, { name: string; path: string }> = {};
  let refs: Ref[] = [];

  before(function () {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shmi-cli-array-'));
    configDir = path.join(tmp, 'config');
    for (const k of ['f4', 'f8nd', 'c8', 'rawi4', 'rawbf16', 'grad', 'interp'])
      seg[k] = jar.name('shmi_cli_array', k.startsWith('raw') || k === 'interp' ? '.bin' : '.npy');
    refs = makeCases([
      { path: seg.f4.path, dtype: '<f4', shape: [37, 53], specials: true, seed: 11, selections: [{ grid: [18, 26], modes: ['mean'] }] },
      {
        path: seg.f8nd.path,
        dtype: '>f8',
        shape: [4, 5, 6],
        order: 'F',
        specials: true,
        seed: 12,
        selections: [{ index: [2, 0, 0] }, { axes: [0, 2], index: [0, 3, 0] }, { axes: [2, 1], index: [1, 0, 0], grid: [4, 3], modes: ['min', 'max'] }],
      },
      { path: seg.c8.path, dtype: '<c8', shape: [20, 30], specials: true, seed: 13, selections: [{ part: 'phase', grid: [5, 6], modes: ['mean'] }] },
      { path: seg.rawi4.path, dtype: '>i4', shape: [13, 17], order: 'F', format: 'raw', offset: 5, seed: 14, selections: [{ grid: [13, 17], modes: ['strided'] }] },
      { path: seg.rawbf16.path, dtype: 'bfloat16', shape: [11, 9], format: 'raw', specials: true, seed: 15, selections: [{ grid: [11, 9], modes: ['max'] }] },
      { path: seg.grad.path, dtype: '<f4', shape: [64, 40], fill: 'gradient', selections: [{ grid: [64, 40], modes: ['strided'] }] },
      { path: seg.interp.path, dtype: '<f8', shape: [9, 7], format: 'raw', offset: 16, specials: true, seed: 16, selections: [{}] },
    ]);
  });
  after(() => {
    jar.cleanup();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('stats of a whole 2-D array (NaN and +-Inf counted, min/max/mean/std of the finite values)', async () => {
    sameStats(json<StatsDoc>(await cli(['stats', seg.f4.name, '--json'])), refs[0].wholeStats.magnitude, 'f4');
    const text = await cli(['stats', `/${seg.f4.name}`]);
    assert.strictEqual(text.code, 0);
    assert.match(text.stdout, /^count\s+1961$/m);
    assert.match(text.stdout, /^NaN\s+\d+$/m);
  });

  it('stats of a whole N-D array, and of the 2-D slice that --index (with --axes) selects', async () => {
    const r = refs[1];
    sameStats(json<StatsDoc>(await cli(['stats', seg.f8nd.name, '--json'])), r.wholeStats.magnitude, 'whole');
    sameStats(json<StatsDoc>(await cli(['stats', seg.f8nd.name, '--json', '--axes', '0,2', '--dir', SHM_DIR])), r.wholeStats.magnitude, 'axes without index: whole');
    sameStats(json<StatsDoc>(await cli(['stats', seg.f8nd.name, '--json', '--index', '2'])), r.selections[0].stats, 'index 2 (last two axes)');
    sameStats(json<StatsDoc>(await cli(['stats', seg.f8nd.name, '--json', '--axes', '0,2', '--index', '3'])), r.selections[1].stats, 'axes 0,2 index 3');
    // one index per axis is accepted too (the displayed axes' entries are ignored)
    sameStats(json<StatsDoc>(await cli(['stats', seg.f8nd.name, '--json', '--axes', '0,2', '--index', '9,3,9'])), r.selections[1].stats, 'full index');
    sameStats(json<StatsDoc>(await cli(['stats', seg.f8nd.name, '--json', '--axes=-1,1', '--index', '1'])), r.selections[2].stats, 'negative axis');
  });

  it('stats of complex parts', async () => {
    const w = refs[2].wholeStats;
    sameStats(json<StatsDoc>(await cli(['stats', seg.c8.name, '--json'])), w.magnitude, 'magnitude (default)');
    for (const part of ['phase', 'real', 'imag', 'magnitude']) {
      sameStats(json<StatsDoc>(await cli(['stats', seg.c8.name, '--json', '--part', part])), w[part], part);
    }
  });

  it('stats of raw segments: layout on the command line (byte order, Fortran, offset, bfloat16) or a stored interpretation', async () => {
    sameStats(
      json<StatsDoc>(await cli(['stats', seg.rawi4.name, '--json', '--dtype', '>i4', '--shape', '13,17', '--offset', '5', '--order', 'F'])),
      refs[3].wholeStats.magnitude,
      '>i4 F offset 5',
    );
    sameStats(json<StatsDoc>(await cli(['stats', seg.rawbf16.name, '--json', '--dtype', 'bfloat16', '--shape', '11,9'])), refs[4].wholeStats.magnitude, 'bfloat16');
    fails(await cli(['stats', seg.interp.name, '--json']), 2, /raw segment: give its layout with --dtype/);
    const id = await identityOf(SHM_DIR, seg.interp.name);
    await setInterpretation(id, { dtype: 'float64', shape: [9, 7], offset: 16, order: 'C' }, path.join(configDir, 'interpretations.json'));
    sameStats(json<StatsDoc>(await cli(['stats', seg.interp.name, '--json'])), refs[6].wholeStats.magnitude, 'interpretation');
    fails(await cli(['stats', seg.interp.name, '--dtype', '<f8', '--shape', '100,100']), 1, /needs 80000 bytes, the segment has \d+/);
  });

  it('stats of safetensors tensors, a joblib memmap, a SharedArray and Arrow columns', async () => {
    const want = (dtype: string, shape: string, key: string, take?: number) =>
      JSON.parse(py(['sample_stats', dtype, shape, key, ...(take === undefined ? [] : ['--take', String(take)])])) as StatsDoc;
    const st = jar.name('shmi_cli_array', '.safetensors');
    pyFormats(['safetensors', st.path, 'w:F32:7,9;b:BF16:5;i:I16:3,4,2']);
    sameStats(json<StatsDoc>(await cli(['stats', st.name, '--tensor', 'w', '--json'])), want('<f4', '7,9', 'w'), 'tensor w');
    sameStats(json<StatsDoc>(await cli(['stats', st.name, '--tensor', 'b', '--json'])), want('bfloat16', '5', 'b'), 'tensor b (bf16)');
    sameStats(json<StatsDoc>(await cli(['stats', st.name, '--tensor', 'i', '--json', '--index', '1'])), want('<i2', '3,4,2', 'i', 1), 'tensor i [1]');
    fails(await cli(['stats', st.name, '--json']), 2, /holds 3 tensors \(w, b, i\): pick one with --tensor/);
    fails(await cli(['stats', st.name, '--tensor', 'nope']), 1, /no tensor 'nope'/);

    const jl = jar.name('shmi_cli_array', '.pkl');
    pyFormats(['joblib-dump', jl.path, '>f8', '6,7', '--order', 'F']);
    sameStats(json<StatsDoc>(await cli(['stats', jl.name, '--json'])), want('>f8', '6,7', jl.name), 'joblib');

    const sa = jar.name('shmi_cli_array');
    pyFormats(['sharedarray', sa.path, '<i2', '8,9']);
    sameStats(json<StatsDoc>(await cli(['stats', sa.name, '--json'])), want('<i2', '8,9', sa.name), 'sharedarray');

    const ar = jar.name('shmi_cli_array', '.arrow');
    const x = Array.from({ length: 1000 }, (_, i) => (i % 97 === 5 ? NaN : i % 101 === 7 ? -Infinity : Math.sin(i) * 10));
    const table = new A.Table({
      x: A.vectorFromArray(Float64Array.from(x)),
      k: A.vectorFromArray(Int32Array.from(x.map((_, i) => i - 500))),
      s: A.vectorFromArray(x.map((_, i) => `s${i}`)),
    });
    fs.writeFileSync(ar.path, A.tableToIPC(table, 'file'));
    const fin = x.filter(Number.isFinite);
    const mean = fin.reduce((a, b) => a + b, 0) / fin.length;
    const std = Math.sqrt(fin.reduce((a, b) => a + (b - mean) ** 2, 0) / fin.length);
    sameStats(
      json<StatsDoc>(await cli(['stats', ar.name, '--column', 'x', '--json'])),
      {
        count: 1000,
        finiteCount: fin.length,
        min: Math.min(...fin),
        max: Math.max(...fin),
        mean,
        std,
        nanCount: x.filter(Number.isNaN).length,
        infCount: x.filter((v) => v === -Infinity).length,
      },
      'arrow Float64',
    );
    const k = json<StatsDoc>(await cli(['stats', ar.name, '--column', 'k', '--json']));
    assert.deepStrictEqual([k.count, k.min, k.max, k.mean], [1000, -500, 499, -0.5]);
    fails(await cli(['stats', ar.name, '--column', 's']), 1, /Arrow type .*Utf8.* is not numeric/);
  });

  it('renders W x H exactly, never more pixels than the window has elements, row 0 at the top', async () => {
    const dims = async (args: string[]) => {
      const out = path.join(tmp, `${uniqueName('png')}.png`);
      const r = await cli(['render', seg.f4.name, '--out', out, ...args]);
      assert.strictEqual(r.code, 0, r.stderr);
      const png = decodePng(fs.readFileSync(out));
      return [png.width, png.height];
    };
    assert.deepStrictEqual(await dims(['--width', '30', '--height', '20']), [30, 20]);
    assert.deepStrictEqual(await dims(['--width', '7', '--height', '5', '--mode', 'strided']), [7, 5]);
    assert.deepStrictEqual(await dims([]), [53, 37], 'default 512 x 512, clamped to the 53 x 37 elements');
    assert.deepStrictEqual(await dims(['--width', '100', '--height', '30']), [53, 30]);
    assert.deepStrictEqual(await dims(['--window', '5:9,10:13']), [3, 4]);
    assert.deepStrictEqual(await dims(['--window', '5:,:13', '--width', '4']), [4, 32]);
    const out = path.join(tmp, 'meta.png');
    const r = json<{ out: string; width: number; height: number; mode: string; colormap: string; domain: number[]; window: number[] }>(
      await cli(['render', seg.f4.name, '--out', out, '--json', '--domain=-1:1', '--mode', 'max', '--colormap', 'magma', '--width', '9']),
    );
    assert.deepStrictEqual(r, { out, width: 9, height: 37, mode: 'max', colormap: 'magma', domain: [-1, 1], window: [0, 37, 0, 53] });
  });

  it('renders gray linearly: the domain low end black, the high end white', async () => {
    const out = path.join(tmp, 'gray.png');
    // 64 x 40, value row / 63: rows go from 0 (top) to 1 (bottom)
    assert.strictEqual((await cli(['render', seg.grad.name, '--out', out, '--colormap', 'gray', '--mode', 'strided'])).code, 0);
    const png = decodePng(fs.readFileSync(out));
    assert.deepStrictEqual([png.width, png.height], [40, 64]);
    assert.deepStrictEqual(png.pixel(0, 0), [0, 0, 0, 255], 'row 0 at the top: black');
    assert.deepStrictEqual(png.pixel(39, 63), [255, 255, 255, 255], 'last row: white');
    for (let y = 0; y < 64; y++) {
      const v = Math.fround(y / 63);
      const level = Math.min(255, Math.floor(v * 256));
      for (const x of [0, 17, 39]) assert.deepStrictEqual(png.pixel(x, y), [level, level, level, 255], `pixel (${x}, ${y})`);
    }
    // An explicit domain: values beyond it take the end colours.
    const out2 = path.join(tmp, 'gray2.png');
    assert.strictEqual((await cli(['render', seg.grad.name, '--out', out2, '--colormap', 'gray', '--domain', '0.25:0.75', '--width', '1'])).code, 0);
    const p2 = decodePng(fs.readFileSync(out2));
    assert.deepStrictEqual([p2.width, p2.height], [1, 64]);
    assert.deepStrictEqual(p2.pixel(0, 0), [0, 0, 0, 255]);
    assert.deepStrictEqual(p2.pixel(0, 32), [
      Math.floor(((32 / 63 - 0.25) / 0.5) * 256),
      Math.floor(((32 / 63 - 0.25) / 0.5) * 256),
      Math.floor(((32 / 63 - 0.25) / 0.5) * 256),
      255,
    ]);
    assert.deepStrictEqual(p2.pixel(0, 63), [255, 255, 255, 255]);
  });

  it("colours every cell of numpy's grid through the colormap table; NaN transparent, +-Inf in their colours", async () => {
    const checkGrid = (png: Png, grid: number[], w: number, h: number, name: Parameters<typeof cm.lut>[0], lo: number, hi: number) => {
      assert.deepStrictEqual([png.width, png.height], [w, h]);
      const special = cm.specialColors(name);
      let finite = 0;
      grid.forEach((v, i) => {
        const [x, y] = [i % w, Math.floor(i / w)];
        let want: number[];
        if (Number.isNaN(v)) want = special.nan;
        else if (v === Infinity) want = special.posInf;
        else if (v === -Infinity) want = special.negInf;
        else {
          finite++;
          want = [...cm.colorAt(name, (v - lo) / (hi - lo)), 255];
        }
        assert.deepStrictEqual(png.pixel(x, y), want, `cell ${i} (${x}, ${y}) value ${v}`);
      });
      assert.ok(finite > 0);
    };
    const r = refs[0].selections[0];
    const grid = r.grid.mean.map(decodeEnc);
    assert.ok(grid.some(Number.isNaN) && grid.some((v) => v === Infinity || v === -Infinity), 'the reference grid has NaN and Inf cells');
    const fin = grid.filter(Number.isFinite);
    for (const name of ['viridis', 'twilight', 'RdBu', 'gray'] as const) {
      const out = path.join(tmp, `${name}.png`);
      const doc = json<{ domain: number[] }>(await cli(['render', seg.f4.name, '--out', out, '--colormap', name, '--width', '26', '--height', '18', '--json']));
      near(doc.domain[0], Math.min(...fin), 'auto domain low end');
      near(doc.domain[1], Math.max(...fin), 'auto domain high end');
      checkGrid(decodePng(fs.readFileSync(out)), grid, 26, 18, name, doc.domain[0], doc.domain[1]);
    }
    // N-D slice, min mode, explicit domain
    const s = refs[1].selections[2];
    const out = path.join(tmp, 'nd.png');
    assert.strictEqual(
      (
        await cli([
          'render',
          seg.f8nd.name,
          '--out',
          out,
          '--axes',
          '2,1',
          '--index',
          '1',
          '--mode',
          'min',
          '--width',
          '3',
          '--height',
          '4',
          '--domain=-150:150',
          '--colormap',
          'coolwarm',
        ])
      ).code,
      0,
    );
    checkGrid(decodePng(fs.readFileSync(out)), s.grid.min.map(decodeEnc), 3, 4, 'coolwarm', -150, 150);
    // complex phase, raw big-endian Fortran with an offset, bfloat16
    const c = refs[2].selections[0];
    const out2 = path.join(tmp, 'phase.png');
    assert.strictEqual(
      (await cli(['render', seg.c8.name, '--out', out2, '--part', 'phase', '--width', '6', '--height', '5', '--domain=-3.2:3.2', '--colormap', 'twilight'])).code,
      0,
    );
    checkGrid(decodePng(fs.readFileSync(out2)), c.grid.mean.map(decodeEnc), 6, 5, 'twilight', -3.2, 3.2);
    const out3 = path.join(tmp, 'rawi4.png');
    assert.strictEqual(
      (await cli(['render', seg.rawi4.name, '--out', out3, '--dtype', '>i4', '--shape', '13,17', '--offset', '5', '--order', 'F', '--domain=-1000:1000'])).code,
      0,
    );
    checkGrid(decodePng(fs.readFileSync(out3)), refs[3].selections[0].grid.strided.map(decodeEnc), 17, 13, 'viridis', -1000, 1000);
    const out4 = path.join(tmp, 'bf16.png');
    assert.strictEqual(
      (
        await cli([
          'render',
          seg.rawbf16.name,
          '--out',
          out4,
          '--dtype',
          'bfloat16',
          '--shape',
          '11,9',
          '--mode',
          'max',
          '--domain=-300:300',
          '--colormap',
          'inferno',
        ])
      ).code,
      0,
    );
    checkGrid(decodePng(fs.readFileSync(out4)), refs[4].selections[0].grid.max.map(decodeEnc), 9, 11, 'inferno', -300, 300);
  });

  it('fails with exit 1 and one line: no such segment, not numeric, window outside, index out of range, cut short', async () => {
    const out = path.join(tmp, 'never.png');
    fails(await cli(['stats', uniqueName('shmi_nothere')]), 1, /no such segment/);
    fails(await cli(['render', seg.f4.name, '--out', out, '--window', '0:38,0:10']), 1, /window 0:38,0:10 is outside the 37 x 53 slice/);
    fails(await cli(['render', seg.f4.name, '--out', out, '--window', '5:5,0:10']), 1, /outside .* \(or empty\)/);
    fails(await cli(['stats', seg.f8nd.name, '--index', '7']), 1, /index 7 is out of range for axis 0 of size 4/);
    const dir = jar.name('shmi_cli_array');
    fs.mkdirSync(dir.path);
    fails(await cli(['stats', dir.name]), 1, /a directory, not an array/);
    const text = jar.name('shmi_cli_array', '.npy');
    py(['npy', text.path, '<U3', '2']);
    fails(await cli(['stats', text.name]), 1, /dtype <U3 is not numeric; it cannot be drawn/);
    const cut = jar.name('shmi_cli_array', '.pkl');
    pyFormats(['joblib-dump', cut.path, '<f8', '100,10']);
    fs.truncateSync(cut.path, 4000);
    fails(await cli(['render', cut.name, '--out', out]), 1, /truncated: shape \[100,10\] needs 8000 bytes/);
    assert.ok(!fs.existsSync(out), 'no PNG written on failure');
  });

  it('fails with exit 2 on usage errors', async () => {
    const out = path.join(tmp, 'never.png');
    fails(await cli(['render', seg.f4.name]), 2, /render needs --out/);
    fails(await cli(['render', seg.f4.name, '--out', out, '--mode', 'median']), 2, /--mode is one of mean, max, min, strided/);
    fails(await cli(['render', seg.f4.name, '--out', out, '--colormap', 'jet']), 2, /unknown colormap 'jet'/);
    fails(await cli(['render', seg.f4.name, '--out', out, '--width', '0']), 2, /--width takes an integer/);
    fails(await cli(['render', seg.f4.name, '--out', out, '--domain', '3:1']), 2, /--domain is auto or LO:HI/);
    fails(await cli(['render', seg.f4.name, '--out', out, '--window', '1-5,2']), 2, /--window is r0:r1,c0:c1/);
    fails(await cli(['stats', seg.f4.name, '--part', 'phase']), 2, /--part is for complex arrays/);
    fails(await cli(['stats', seg.f4.name, '--part', 'angle']), 2, /--part is one of/);
    fails(await cli(['stats', seg.f4.name, '--tensor', 'w']), 2, /--tensor is for safetensors files/);
    fails(await cli(['stats', seg.f4.name, '--dtype', '<f4', '--shape', '2,2']), 2, /--dtype\/--shape are for raw segments/);
    fails(await cli(['stats', seg.rawi4.name, '--dtype', 'f4']), 2, /needs both --dtype and --shape/);
    fails(await cli(['stats', seg.rawi4.name, '--dtype', 'U3', '--shape', '2']), 2, /unsupported dtype 'U3'/);
    fails(await cli(['stats', seg.f8nd.name, '--index', '1,2']), 2, /--index takes 1 number/);
    fails(await cli(['stats', seg.f8nd.name, '--axes', '0,0']), 2, /not two different axes/);
    fails(await cli(['stats', '../etc/passwd']), 2, /outside/);
    fails(await cli(['stats']), 2, /stats takes exactly 1 NAME/);
  });
});
