/**
 * A segment truncated (ftruncate) WHILE a full pass reads it through the mapping: the reading
 * threads get SIGBUS, which must become a clear rejection of that request, never the death of
 * the process. Repeated with different delays so that the truncation lands before, during and
 * after the passes; at least one must have been cut mid-pass (the SIGBUS path itself).
 */
import * as assert from 'assert';
import * as fs from 'fs';
import { resolveSlice } from '../../extension/core/array';
import { errorCode } from '../../extension/core/errors';
import { openView } from '../../extension/native';
import { SegmentJar } from '../fixtures/segments';

const ROWS = 4096;
const COLS = 16384; // 256 MiB of float32
const BYTES = ROWS * COLS * 4;

/** Writes ROWS x COLS float32 values (i * COLS + j) % 1000 / 10 as raw bytes. */
function writeSegment(p: string): void {
  const rowsPerChunk = 64;
  const chunk = Buffer.alloc(rowsPerChunk * COLS * 4);
  const f = new Float32Array(chunk.buffer, chunk.byteOffset, rowsPerChunk * COLS);
  const fd = fs.openSync(p, 'w', 0o600);
  try {
    for (let r = 0; r < ROWS; r += rowsPerChunk) {
      for (let k = 0; k < f.length; k++) f[k] = ((r * COLS + k) % 1000) / 10;
      fs.writeSync(fd, chunk, 0, chunk.length, r * COLS * 4);
    }
  } finally {
    fs.closeSync(fd);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('SIGBUS guard: truncating a big segment while it is read (sigbus)', function () {
  this.timeout(180_000);
  const jar = new SegmentJar();
  after(() => jar.cleanup());
  const slice = resolveSlice({ dtype: '<f4', shape: [ROWS, COLS], fortranOrder: false, dataOffset: 0 });
  const whole = { ...slice, r0: 0, r1: ROWS, c0: 0, c1: COLS };

  it('rejects or resolves cleanly, again and again, and the process lives on', async () => {
    const { path: p } = jar.name('shmi_sigbus', '.bin');
    const outcomes = { resolved: 0, sigbus: 0, shrank: 0 };
    const delays = [0, 1, 2, 3, 5, 8, 12, 0, 1, 2, 4, 6, 16, 0, 2, 3];
    for (const [i, delay] of delays.entries()) {
      writeSegment(p);
      const view = await openView(p);
      try {
        assert.strictEqual(view.size, BYTES);
        const passes = [
          view.reduce({ ...whole, gridHeight: 512, gridWidth: 512, mode: 'mean' }),
          view.reduce({ ...whole, gridHeight: 3, gridWidth: 700, mode: (['min', 'max', 'strided'] as const)[i % 3] }),
          view.stats(i % 2 ? slice : { ...slice, bins: 256 }),
        ];
        await sleep(delay);
        fs.truncateSync(p, i % 2 ? 0 : 1 << 20);
        const settled = await Promise.allSettled(passes);
        for (const s of settled) {
          if (s.status === 'fulfilled') {
            outcomes.resolved++;
            continue;
          }
          const msg = (s.reason as Error).message;
          assert.match(msg, /shrank/, `a clear error, got: ${msg}`);
          assert.strictEqual(errorCode(s.reason), 'SHRANK', `code SHRANK beside the message: ${msg}`);
          assert.ok(!msg.includes('\n'), 'one line');
          if (/SIGBUS/.test(msg)) outcomes.sigbus++;
          else outcomes.shrank++;
        }
        // The view stays usable: a read inside what is left, and a clear error past it.
        if (i % 2 === 0) assert.strictEqual((await view.read(0, 64)).length, 64);
        await assert.rejects(view.read(BYTES - 64, 64), (e: Error) => /shrank/.test(e.message) && errorCode(e) === 'SHRANK');
      } finally {
        view.close();
      }
    }
    console.log(`      ${JSON.stringify(outcomes)} over ${delays.length * 3} passes`);
    assert.ok(outcomes.sigbus >= 1, `no pass was cut by SIGBUS mid-read (${JSON.stringify(outcomes)})`);
    // Still alive, and a fresh view of a whole segment reads it exactly.
    writeSegment(p);
    const view = await openView(p);
    try {
      const r = await view.reduce({ ...whole, gridHeight: 2, gridWidth: 2, mode: 'max' });
      assert.deepStrictEqual(
        [...r.values],
        [99.9, 99.9, 99.9, 99.9].map((v) => Math.fround(v)),
      );
      const st = await view.stats(slice);
      assert.strictEqual(st.count, ROWS * COLS);
      assert.strictEqual(st.nanCount, 0);
    } finally {
      view.close();
    }
  });

  it('keeps reading a segment that is unlinked while it is read (its pages live on)', async () => {
    const { path: p } = jar.name('shmi_sigbus', '.bin');
    writeSegment(p);
    const view = await openView(p);
    try {
      const pass = view.reduce({ ...whole, gridHeight: 1, gridWidth: 1, mode: 'mean' });
      fs.unlinkSync(p);
      const r = await pass;
      // Every run of 1000 consecutive elements averages 49.95 and ROWS*COLS is a multiple of 8:
      // the exact mean is within a rounding of it.
      assert.ok(Math.abs(r.values[0] - 49.95) < 0.5, `mean ${r.values[0]}`);
    } finally {
      view.close();
    }
  });
});
