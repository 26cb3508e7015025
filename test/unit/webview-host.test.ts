/** The viewer's host side that needs no VS Code: message checks, exact element decoding, NPY writing, quantiles. */
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { resolveSlice } from '../../extension/core/array';
import { openView, tryNative } from '../../extension/native';
import { decodeElement, gatherWindow, npyHeader, readElement } from '../../extension/preview/element';
import { baseStats, quantileFromHistogram, sliceQuantile } from '../../extension/preview/stats';
import { MAX_CELLS, parseWebviewMessage } from '../../extension/preview/validate';
import { parseNumericDType } from '../../extension/core/dtype';
import { pyCode } from '../fixtures/segments';

const py = (code: string, ...args: string[]) => pyCode(code, args);

describe('webview host: messages from the viewer', () => {
  const slice = { axes: [0, 1], index: [0, 0], part: 'magnitude' };
  const view = { type: 'view', id: 3, slice, window: { r0: 0, r1: 10, c0: 0, c1: 10 }, width: 5, height: 5, mode: 'mean', plot: 'heatmap', live: false, to: 7 };
  it('accepts well-formed requests and copies them', () => {
    const m = parseWebviewMessage(view);
    assert.deepStrictEqual(m, view);
    assert.notStrictEqual((m as typeof view).window, view.window);
    assert.deepStrictEqual(parseWebviewMessage({ type: 'ready', extra: 1 }), { type: 'ready', plotArea: null, embedded: false, to: 0 });
    assert.deepStrictEqual(parseWebviewMessage({ type: 'ready', plotArea: { width: 800, height: 600 }, embedded: true, to: 2 }), {
      type: 'ready',
      plotArea: { width: 800, height: 600 },
      embedded: true,
      to: 2,
    });
    // A plot size that is not one (negative, fractional, absurd) is dropped, not trusted.
    for (const plotArea of [{ width: -1, height: 5 }, { width: 1.5, height: 5 }, { width: 1e9, height: 5 }, 'big']) {
      assert.deepStrictEqual(parseWebviewMessage({ type: 'ready', plotArea }), { type: 'ready', plotArea: null, embedded: false, to: 0 });
    }
    assert.deepStrictEqual(parseWebviewMessage({ type: 'drawn', re: 4, to: 1 }), { type: 'drawn', re: 4, to: 1 });
    assert.strictEqual(parseWebviewMessage({ type: 'drawn', re: 'x' }), null);
    assert.deepStrictEqual(parseWebviewMessage({ type: 'pin', to: 3 }), { type: 'pin', to: 3 });
  });
  it('refuses malformed or oversized ones', () => {
    assert.strictEqual(parseWebviewMessage({ ...view, width: 4097, height: 4097 }), null);
    assert.ok(4097 * 4097 > MAX_CELLS);
    assert.strictEqual(parseWebviewMessage({ ...view, window: { r0: 5, r1: 5, c0: 0, c1: 1 } }), null);
    assert.strictEqual(parseWebviewMessage({ ...view, mode: 'median' }), null);
    assert.strictEqual(parseWebviewMessage({ ...view, slice: { ...slice, part: 'angle' } }), null);
    assert.strictEqual(parseWebviewMessage({ ...view, id: -1 }), null);
    assert.strictEqual(parseWebviewMessage({ ...view, id: undefined }), null);
    assert.strictEqual(parseWebviewMessage({ type: 'exportPng', dataUrl: 'data:text/html,<script>', suggestedName: 'x' }), null);
    assert.strictEqual(parseWebviewMessage({ type: 'stats', id: 1, slice, quantiles: [2], fresh: false }), null);
    assert.strictEqual(parseWebviewMessage({ type: 'nope' }), null);
    assert.strictEqual(parseWebviewMessage(undefined), null);
  });
});

describe('webview host: exact element values', () => {
  const dt = (s: string) => parseNumericDType(s)!;
  it('writes floats in their shortest round-trip form for their own width', () => {
    const f4 = new Uint8Array(new Float32Array([0.1]).buffer);
    assert.deepStrictEqual(decodeElement(f4, dt('<f4'), 'magnitude'), { text: '0.1', value: Math.fround(0.1) });
    const f8 = new Uint8Array(new Float64Array([0.1]).buffer);
    assert.strictEqual(decodeElement(f8, dt('<f8'), 'magnitude').text, '0.1');
    const be = new Uint8Array([0x3f, 0xc0, 0, 0]); // 1.5 as big-endian float32
    assert.strictEqual(decodeElement(be, dt('>f4'), 'magnitude').value, 1.5);
    assert.strictEqual(decodeElement(new Uint8Array([0x66, 0x2e]), dt('<f2'), 'magnitude').text, '0.1'); // float16 0.1 = 0x2e66
    assert.strictEqual(decodeElement(new Uint8Array([0xcd, 0x3d]), dt('bfloat16'), 'magnitude').text, '0.1'); // bf16 0x3dcd
    assert.strictEqual(decodeElement(new Uint8Array(new Float32Array([NaN]).buffer), dt('<f4'), 'magnitude').text, 'nan');
  });
  it('keeps 64-bit integers exact and writes complex numbers like Python', () => {
    const i8 = new Uint8Array(new BigInt64Array([9007199254740993n]).buffer);
    assert.strictEqual(decodeElement(i8, dt('<i8'), 'magnitude').text, '9007199254740993');
    const c = new Uint8Array(new Float32Array([3, -4]).buffer);
    assert.deepStrictEqual(decodeElement(c, dt('<c8'), 'magnitude'), { text: '(3-4j)', value: 5 });
    assert.strictEqual(decodeElement(c, dt('<c8'), 'imag').value, -4);
    assert.strictEqual(decodeElement(new Uint8Array([1]), dt('|b1'), 'magnitude').text, 'True');
  });
});

describe('webview host: NPY files and quantiles', () => {
  it('writes NPY v1.0 headers that numpy reads, data aligned to 64 bytes', () => {
    const h = npyHeader('<f4', [3, 4]);
    assert.strictEqual(h.length % 64, 0);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shmi-npy-'));
    try {
      const file = path.join(dir, 'a.npy');
      const data = new Float32Array(12).map((_, i) => i / 2);
      fs.writeFileSync(file, Buffer.concat([h, Buffer.from(data.buffer)]));
      assert.strictEqual(py(`import numpy as np,sys; a=np.load(sys.argv[1]); print(a.dtype.str, a.shape, a[2,3])`, file).trim(), '<f4 (3, 4) 5.5');
      fs.writeFileSync(file, Buffer.concat([npyHeader('>i8', [5]), Buffer.alloc(40)]));
      assert.strictEqual(py(`import numpy as np,sys; a=np.load(sys.argv[1]); print(a.dtype.str, a.shape)`, file).trim(), '>i8 (5,)');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("finds quantiles from a histogram with numpy's linear rule", () => {
    // 100 values 0..99 in 10 bins of width 10: the 50 % quantile (rank 49.5) lies in bin 4.
    const h = new Float64Array(10).fill(10);
    const q = quantileFromHistogram(h, 0, 100, 0, 100, 0.5);
    assert.strictEqual(q.bin, 4);
    assert.ok(Math.abs(q.value - 50) < 1, String(q.value));
    assert.strictEqual(quantileFromHistogram(h, 0, 100, 0, 100, 0).bin, 0);
    assert.strictEqual(quantileFromHistogram(h, 0, 100, 0, 100, 1).bin, 9);
  });

  it('reads windows, elements and quantiles of a real numpy file exactly', async function () {
    if (!tryNative()) this.skip();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shmi-win-'));
    const file = path.join(dir, 'x.npy');
    try {
      py(
        `import numpy as np,sys
rng = np.random.default_rng(3)
a = np.lib.format.open_memmap(sys.argv[1], mode='w+', dtype='>f4', shape=(300, 200), fortran_order=True)
a[...] = rng.standard_normal((300, 200)) * 10
a.flush()`,
        file,
      );
      const slice = resolveSlice({ dtype: '>f4', shape: [300, 200], fortranOrder: true, dataOffset: 128 });
      const view = await openView(file);
      try {
        const g = await gatherWindow(view, slice, { r0: 17, r1: 140, c0: 33, c1: 151 });
        const out = path.join(dir, 'w.npy');
        fs.writeFileSync(out, Buffer.concat([npyHeader(g.descr, g.shape), g.data]));
        assert.strictEqual(
          py(`import numpy as np,sys; a=np.load(sys.argv[1]); w=np.load(sys.argv[2]); print(w.dtype.str, np.array_equal(w, a[17:140, 33:151]))`, file, out).trim(),
          '>f4 True',
        );
        const e = await readElement(view, slice, 123, 45);
        assert.strictEqual(e.text, py(`import numpy as np,sys; print(np.load(sys.argv[1])[123,45])`, file).trim());
        await assert.rejects(gatherWindow(view, slice, { r0: 0, r1: 300, c0: 0, c1: 200 }, 1000), /limited to/);
        // A slice whose elements lie far apart (the first two axes of a 4-D array): 24 KB and 1.9 MB strides.
        const far = path.join(dir, 'far.npy');
        py(
          `import numpy as np,sys; a=np.lib.format.open_memmap(sys.argv[1], mode='w+', dtype='<f8', shape=(20, 80, 50, 60)); a[...] = np.arange(a.size, dtype='<f8').reshape(a.shape); a.flush()`,
          far,
        );
        const farView = await openView(far);
        try {
          const farSlice = resolveSlice({ dtype: '<f8', shape: [20, 80, 50, 60], fortranOrder: false, dataOffset: 128 }, { axes: [0, 1], index: [0, 0, 7, 9] });
          const fg = await gatherWindow(farView, farSlice, { r0: 3, r1: 17, c0: 5, c1: 70 });
          const fout = path.join(dir, 'fw.npy');
          fs.writeFileSync(fout, Buffer.concat([npyHeader(fg.descr, fg.shape), fg.data]));
          assert.strictEqual(
            py(
              `import numpy as np,sys; a=np.load(sys.argv[1], mmap_mode='r'); w=np.load(sys.argv[2]); print(np.array_equal(w, a[3:17, 5:70, 7, 9]))`,
              far,
              fout,
            ).trim(),
            'True',
          );
        } finally {
          farView.close();
        }
        const base = await baseStats(view, slice);
        const ours = [await sliceQuantile(view, slice, base, 0.01), await sliceQuantile(view, slice, base, 0.99)];
        const ref = JSON.parse(py(`import numpy as np,sys,json; print(json.dumps(np.percentile(np.load(sys.argv[1]).astype(np.float64), [1, 99]).tolist()))`, file));
        const range = base.max! - base.min!;
        for (let i = 0; i < 2; i++) assert.ok(Math.abs(ours[i] - ref[i]) < range * 1e-4, `${ours[i]} vs numpy ${ref[i]}`);
      } finally {
        view.close();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
