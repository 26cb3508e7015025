/**
 * contract/: the registries that host, CLI and webview share, and the message validators of both
 * sides held to them (every registered name accepted, anything else refused).
 */
import * as assert from 'assert';
import { COLORMAPS, colorize, isColormap, linearNorm, lut, type ColormapName } from '../../contract/colormaps';
import { formatBytes } from '../../contract/bytes';
import { ERROR_CODES, type ErrorCode } from '../../contract/errors';
import { ERROR_KINDS, MAX_GRID_COLUMNS, MAX_GRID_ROWS, type ErrorKind } from '../../contract/protocol';
import { COMPLEX_PART_NAMES, REDUCE_MODE_NAMES } from '../../contract/reduce';
import { parseWebviewMessage } from '../../extension/preview/validate';
import { validateHostMessage } from '../../webview/validate';

// A colormap without its table does not compile (checked by `tsc -p .`, which includes this file).
// @ts-expect-error: gray and the others are missing
const incomplete: Record<ColormapName, string> = { viridis: '' };
void incomplete;

const slice = { axes: [0, 1], index: [0, 0], part: 'magnitude' };
const view = { type: 'view', id: 3, to: 0, slice, window: { r0: 0, r1: 10, c0: 0, c1: 10 }, width: 5, height: 5, mode: 'mean', plot: 'heatmap', live: false };
const tile = {
  type: 'tile',
  re: 3,
  window: { r0: 0, r1: 2, c0: 0, c1: 2 },
  width: 2,
  height: 2,
  values: new Float32Array(4),
  min: 0,
  max: 0,
  elapsedMs: 1,
  final: true,
  mode: 'mean',
};

describe('contract: registries and the validators derived from them', () => {
  it('every colormap has a 256-entry table; gray is (i, i, i), not a fallback', () => {
    for (const name of COLORMAPS) {
      assert.ok(isColormap(name));
      assert.strictEqual(lut(name).length, 768, name);
    }
    const gray = lut('gray');
    for (const i of [0, 1, 127, 255]) assert.deepStrictEqual(Array.from(gray.subarray(i * 3, i * 3 + 3)), [i, i, i]);
    assert.ok(!isColormap('jet') && !isColormap('toString'));
  });

  it('one colorize: an empty domain paints the lowest colour, NaN/Inf their own', () => {
    const out = new Uint8Array(12);
    colorize([5, NaN, Infinity], out, linearNorm(5, 5), 'gray');
    assert.deepStrictEqual(Array.from(out), [0, 0, 0, 255, 0, 0, 0, 0, 255, 0, 255, 255]);
  });

  it('the host accepts every reduce mode and complex part, and nothing else', () => {
    for (const mode of REDUCE_MODE_NAMES) assert.ok(parseWebviewMessage({ ...view, mode }), mode);
    for (const part of COMPLEX_PART_NAMES) assert.ok(parseWebviewMessage({ ...view, slice: { ...slice, part } }), part);
    for (const mode of ['median', 'toString', '', null]) assert.strictEqual(parseWebviewMessage({ ...view, mode }), null, String(mode));
    assert.strictEqual(parseWebviewMessage({ ...view, slice: { ...slice, part: 'hasOwnProperty' } }), null);
  });

  it('the webview accepts every reduce mode, error kind and error code, and nothing else', () => {
    for (const mode of REDUCE_MODE_NAMES) assert.ok(validateHostMessage({ ...tile, mode }), mode);
    assert.strictEqual(validateHostMessage({ ...tile, mode: 'median' }), null);
    for (const kind of Object.keys(ERROR_KINDS) as ErrorKind[]) {
      assert.ok(validateHostMessage({ type: 'error', kind, message: 'm' }), kind);
      for (const code of Object.keys(ERROR_CODES) as ErrorCode[]) assert.ok(validateHostMessage({ type: 'error', kind, code, message: 'm' }), code);
    }
    assert.strictEqual(validateHostMessage({ type: 'error', kind: 'fatal', message: 'm' }), null);
    assert.strictEqual(validateHostMessage({ type: 'error', kind: 'other', code: 'ENOTREAL', message: 'm' }), null);
  });

  it("the Table toggle's cells: a window of at most MAX_GRID_ROWS × MAX_GRID_COLUMNS asked; a reply of exactly its texts", () => {
    const ask = { type: 'cells', id: 4, to: 0, slice, window: { r0: 10, r1: 10 + MAX_GRID_ROWS, c0: 5, c1: 5 + MAX_GRID_COLUMNS } };
    assert.deepStrictEqual(parseWebviewMessage(ask), { type: 'cells', id: 4, to: 0, slice, window: ask.window });
    assert.strictEqual(parseWebviewMessage({ ...ask, window: { ...ask.window, r1: 11 + MAX_GRID_ROWS } }), null, 'too many rows');
    assert.strictEqual(parseWebviewMessage({ ...ask, window: { ...ask.window, c1: 6 + MAX_GRID_COLUMNS } }), null, 'too many columns');
    assert.strictEqual(parseWebviewMessage({ ...ask, id: undefined }), null, 'a request without its number');
    const reply = { type: 'cells', re: 4, window: { r0: 0, r1: 2, c0: 0, c1: 3 }, texts: ['1', '2.5', 'nan', '-inf', '0', '7'] };
    assert.ok(validateHostMessage(reply));
    assert.strictEqual(validateHostMessage({ ...reply, texts: reply.texts.slice(1) }), null, 'one text short');
    assert.strictEqual(validateHostMessage({ ...reply, texts: [...reply.texts.slice(1), 7] }), null, 'a number, not a text');
    assert.strictEqual(validateHostMessage({ ...reply, re: undefined }), null, 'a reply answers a request');
  });

  it('says byte counts alike on both sides', () => {
    assert.deepStrictEqual([0, 1023, 1024, 1.5 * 2 ** 30, NaN].map(formatBytes), ['0 B', '1023 B', '1.0 KiB', '1.5 GiB', '?']);
  });
});
