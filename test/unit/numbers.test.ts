/**
 * The one number formatter (extension/core/numbers.ts) and the places that write values through it:
 * `shm-inspector stats` on a terminal (a real numpy segment), the viewer's hover text of an element
 * (decodeElement) and the webview's statistics/colorbar text (webview/ticks.ts).
 */
import * as assert from 'assert';
import { parseNumericDType } from '../../extension/core/dtype';
import { formatNumber } from '../../extension/core/numbers';
import { decodeElement } from '../../extension/preview/element';
import * as tk from '../../webview/ticks';
import { runCli } from '../fixtures/cli';
import { pyCode, SegmentJar } from '../fixtures/segments';

describe('number formatter', () => {
  const jar = new SegmentJar();
  after(() => jar.cleanup());

  it('keeps a whole exponent, also one ending in 0', () => {
    assert.strictEqual(formatNumber(1.4075229870513795e-10, 9), '1.40752299e-10');
    assert.strictEqual(formatNumber(1.4075229870513795e-10), '1.4075229870513795e-10');
    assert.strictEqual(formatNumber(2e-10, 9), '2e-10');
    assert.strictEqual(formatNumber(3.5e100, 9), '3.5e100');
    assert.strictEqual(formatNumber(-1e-300, 9), '-1e-300');
  });

  it('writes negative, huge, tiny and integral values in the fewest digits that hold them', () => {
    assert.strictEqual(formatNumber(-2.5e-7, 9), '-2.5e-7');
    assert.strictEqual(formatNumber(-0.5, 9), '-0.5');
    assert.strictEqual(formatNumber(1e20, 9), '1e20', 'an integral float beyond 1e16: no 21-digit integer');
    assert.strictEqual(formatNumber(1.2345e20, 9), '1.2345e20');
    assert.strictEqual(formatNumber(1.7976931348623157e308), '1.7976931348623157e308');
    assert.strictEqual(formatNumber(5e-324), '5e-324');
    assert.strictEqual(formatNumber(3, 9), '3');
    assert.strictEqual(formatNumber(100, 9), '100');
    assert.strictEqual(formatNumber(-16777216, 9), '-16777216');
    assert.strictEqual(formatNumber(1234567890, 9), '1.23456789e9', 'more digits than asked: scientific, like %g');
    assert.strictEqual(formatNumber(0.1 + 0.2), '0.30000000000000004', 'shortest round-trip at 17 digits');
    assert.strictEqual(formatNumber(0.1 + 0.2, 9), '0.3');
    assert.strictEqual(formatNumber(2.9342801502242417, 9), '2.93428015');
    assert.strictEqual(formatNumber(0.00012345, 9), '0.00012345');
    assert.strictEqual(formatNumber(0.000012345, 9), '1.2345e-5');
    assert.strictEqual(formatNumber(0), '0');
    assert.strictEqual(formatNumber(-0), '0');
    assert.strictEqual(formatNumber(null), '—');
    assert.strictEqual(formatNumber(NaN), 'NaN');
    assert.strictEqual(formatNumber(-Infinity), '-Inf');
    for (const v of [Math.PI, -1e-310, 123456.789, 9.999999e22, 1 / 3]) assert.strictEqual(Number(formatNumber(v)), v, `${v} round-trips`);
  });

  it('the hover and the webview write values the same way', () => {
    assert.strictEqual(tk.formatValue(1.4075229870513795e-10), '1.4075e-10');
    assert.strictEqual(tk.formatValue(1e20), '1e20');
    assert.strictEqual(tk.formatValue(-3e-10, 4), '-3e-10');
    const f8 = new Uint8Array(new Float64Array([1e20]).buffer);
    assert.strictEqual(decodeElement(f8, parseNumericDType('<f8')!, 'magnitude').text, '1e20', 'hover: not 100000000000000000000');
    const f4 = new Uint8Array(new Float32Array([1.5e-10]).buffer);
    assert.strictEqual(decodeElement(f4, parseNumericDType('<f4')!, 'magnitude').text, '1.5e-10');
  });

  it('stats on a terminal prints the numbers numpy has', async () => {
    const seg = jar.name('shmi_numbers', '.npy');
    pyCode('import numpy as np, sys; np.save(sys.argv[1], np.array([1.4075229870513795e-10, 1.2345e20, 1e20, -2.5e-7]))', [seg.path]);
    const r = await runCli(['stats', seg.name]);
    assert.strictEqual(r.code, 0, r.stderr);
    const row = (k: string) => new RegExp(`^${k}\\s+(\\S+)$`, 'm').exec(r.stdout)?.[1];
    assert.strictEqual(row('min'), '-2.5e-7');
    assert.strictEqual(row('max'), '1.2345e20');
    assert.strictEqual(row('mean'), '5.58625e19');
    const json = JSON.parse((await runCli(['stats', seg.name, '--json'])).stdout) as { min: number; max: number };
    assert.deepStrictEqual([json.min, json.max], [-2.5e-7, 1.2345e20], 'the JSON keeps every digit');
    const small = jar.name('shmi_numbers', '.npy');
    pyCode('import numpy as np, sys; np.save(sys.argv[1], np.array([1.4075229870513795e-10, 2e-10]))', [small.path]);
    const s = await runCli(['stats', small.name]);
    assert.match(s.stdout, /^min\s+1\.40752299e-10$/m, s.stdout);
    assert.match(s.stdout, /^max\s+2e-10$/m);
  });
});
