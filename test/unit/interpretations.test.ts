/**
 * The interpretations file shared by the CLI and the extension: where it lives,
 * what identifies a segment, validation, atomic and serialised writes.
 */
import * as assert from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  configDir,
  getInterpretation,
  identityKey,
  identityOf,
  InterpretationError,
  loadInterpretations,
  removeInterpretation,
  setInterpretation,
  validateInterpretation,
  type SegmentIdentity,
} from '../../extension/core/interpretations';
import { py, SegmentJar } from '../fixtures/segments';

describe('interpretations file (shared by CLI and extension)', function () {
  this.timeout(30_000);
  const jar = new SegmentJar();
  let tmp: string;
  let file: string;
  let dir: string;

  before(() => {
    dir = jar.name('shmi_interp').path;
    fs.mkdirSync(dir);
  });
  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shmi-interp-'));
    file = path.join(tmp, 'shm-inspector', 'interpretations.json');
  });
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));
  after(() => jar.cleanup());

  const id = (over: Partial<SegmentIdentity> = {}): SegmentIdentity => ({ dev: 27, ino: 61, birth: 'b1795298638896418009', name: 'psm_x', ...over });

  it('lives in SHM_INSPECTOR_CONFIG_DIR, else $XDG_CONFIG_HOME/shm-inspector, else ~/.config/shm-inspector', () => {
    assert.strictEqual(configDir({ SHM_INSPECTOR_CONFIG_DIR: '/a/b', XDG_CONFIG_HOME: '/x', HOME: '/h' }), '/a/b');
    assert.strictEqual(configDir({ XDG_CONFIG_HOME: '/x', HOME: '/h' }), '/x/shm-inspector');
    assert.strictEqual(configDir({ HOME: '/h' }), '/h/.config/shm-inspector');
    assert.strictEqual(configDir({ XDG_CONFIG_HOME: 'relative', HOME: '/h' }), '/h/.config/shm-inspector', 'a relative XDG_CONFIG_HOME is ignored');
  });

  it('set, get and remove round-trip through one JSON file, normalising the dtype', async () => {
    assert.strictEqual(await getInterpretation(id(), file), null, 'no file yet');
    const stored = await setInterpretation(id(), { dtype: 'float32', shape: [3, 4], offset: 16, order: 'F' }, file);
    assert.deepStrictEqual(stored, { dtype: '<f4', shape: [3, 4], offset: 16, order: 'F' });
    assert.deepStrictEqual(await getInterpretation(id(), file), stored);
    const doc = JSON.parse(fs.readFileSync(file, 'utf8'));
    assert.strictEqual(doc.version, 1);
    const entry = doc.entries[identityKey(id())];
    assert.strictEqual(entry.name, 'psm_x');
    assert.strictEqual(entry.ino, 61);
    assert.strictEqual(await removeInterpretation(id(), file), true);
    assert.strictEqual(await removeInterpretation(id(), file), false);
    assert.strictEqual(await getInterpretation(id(), file), null);
    assert.deepStrictEqual(fs.readdirSync(path.dirname(file)), ['interpretations.json'], 'no temp or lock file left behind');
  });

  it('a segment with the same inode but another birth time, or another name, does not match', async () => {
    await setInterpretation(id(), { dtype: '<i2', shape: [5], offset: 0, order: 'C' }, file);
    assert.strictEqual(await getInterpretation(id({ birth: 'b1795298638896418010' }), file), null, 'inode number reused by a new file');
    assert.strictEqual(await getInterpretation(id({ name: 'psm_y' }), file), null, 'another name');
    assert.strictEqual(await getInterpretation(id({ ino: 62 }), file), null, 'another inode');
    assert.strictEqual(await getInterpretation(id({ dev: 28 }), file), null, 'another file system');
  });

  it("identityOf: a real segment's birth time; a recreated file with the same name is another segment", async () => {
    const p = path.join(dir, 'ident.bin');
    py(['raw', p, '<f4', '4']);
    const a = await identityOf(dir, 'ident.bin');
    assert.strictEqual(a.ino, fs.statSync(p).ino);
    assert.match(a.birth, /^[bc]\d+$/);
    assert.deepStrictEqual(await identityOf(dir, '/ident.bin'), a, 'the shm_open spelling names the same segment');
    fs.rmSync(p);
    py(['raw', p, '<f4', '4']);
    const b = await identityOf(dir, 'ident.bin');
    assert.notStrictEqual(identityKey(a), identityKey(b));
    await assert.rejects(identityOf(dir, 'missing.bin'), /no such segment/);
    fs.symlinkSync(p, path.join(dir, 'ident_link'));
    await assert.rejects(identityOf(dir, 'ident_link'), /only a regular file/);
  });

  it('rejects bad interpretations with a reason', () => {
    const ok = { dtype: '<f4', shape: [2], offset: 0, order: 'C' };
    for (const [bad, why] of [
      [{ ...ok, dtype: 'float128' }, /unsupported dtype/],
      [{ ...ok, dtype: 'object' }, /unsupported dtype/],
      [{ ...ok, shape: [2, -1] }, /bad dimension -1/],
      [{ ...ok, shape: [1.5] }, /bad dimension 1.5/],
      [{ ...ok, shape: 'x' }, /shape must be an array/],
      [{ ...ok, offset: -4 }, /offset must be a non-negative integer/],
      [{ ...ok, order: 'X' }, /order must be 'C' or 'F'/],
      [null, /an interpretation is an object/],
    ] as const) {
      assert.throws(
        () => validateInterpretation(bad),
        (e: unknown) => e instanceof InterpretationError && why.test((e as Error).message),
      );
    }
    assert.deepStrictEqual(validateInterpretation({ dtype: 'bfloat16', shape: [] }), { dtype: 'bfloat16', shape: [], offset: 0, order: 'C' });
    assert.deepStrictEqual(validateInterpretation({ dtype: '>f8', shape: [1] }).dtype, '>f8');
  });

  it('concurrent writers lose nothing (lock file + atomic rename)', async () => {
    const ids = Array.from({ length: 25 }, (_, i) => id({ ino: 1000 + i }));
    await Promise.all(ids.map((x, i) => setInterpretation(x, { dtype: '<u2', shape: [i + 1], offset: 0, order: 'C' }, file)));
    const all = await loadInterpretations(file);
    assert.strictEqual(Object.keys(all.entries).length, 25);
    for (const [i, x] of ids.entries()) assert.deepStrictEqual((await getInterpretation(x, file))!.shape, [i + 1]);
    assert.deepStrictEqual(fs.readdirSync(path.dirname(file)), ['interpretations.json']);
  });

  it('a stale lock (left by a crashed writer) is broken after a while; a live one is waited for', async () => {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file + '.lock', '99999 stale\n');
    const old = new Date(Date.now() - 60_000);
    fs.utimesSync(file + '.lock', old, old);
    await setInterpretation(id(), { dtype: '<f4', shape: [1], offset: 0, order: 'C' }, file);
    assert.ok(await getInterpretation(id(), file));
    assert.ok(!fs.existsSync(file + '.lock'));
    // A fresh lock: the writer waits until its holder lets go.
    fs.writeFileSync(file + '.lock', '99998 busy\n');
    let released = 0;
    setTimeout(() => {
      released = Date.now();
      fs.rmSync(file + '.lock');
    }, 150);
    await setInterpretation(id({ ino: 77 }), { dtype: '<f4', shape: [2], offset: 0, order: 'C' }, file);
    assert.ok(released > 0, 'wrote only after the lock was released');
    assert.ok(await getInterpretation(id({ ino: 77 }), file));
  });

  it('an unreadable or corrupt file reads as empty; the next write keeps the corrupt one aside', async () => {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, '{"version": 1, "entries": {');
    assert.deepStrictEqual((await loadInterpretations(file)).entries, {});
    await setInterpretation(id(), { dtype: '<f4', shape: [1], offset: 0, order: 'C' }, file);
    const names = fs.readdirSync(path.dirname(file)).sort();
    assert.strictEqual(names.length, 2);
    assert.match(names[1], /^interpretations\.json\.corrupt-\d+$/);
    assert.ok(await getInterpretation(id(), file));
  });

  it('an entry that does not match its key or has a bad field is dropped, the others kept', async () => {
    await setInterpretation(id(), { dtype: '<f4', shape: [1], offset: 0, order: 'C' }, file);
    const doc = JSON.parse(fs.readFileSync(file, 'utf8'));
    doc.entries['1:2:b3:forged'] = { ...doc.entries[identityKey(id())] };
    doc.entries[identityKey(id({ ino: 5 }))] = { ...doc.entries[identityKey(id())], ino: 5, shape: [-1] };
    fs.writeFileSync(file, JSON.stringify(doc));
    const loaded = await loadInterpretations(file);
    assert.deepStrictEqual(Object.keys(loaded.entries), [identityKey(id())]);
  });
});
