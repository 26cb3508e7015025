/**
 * The catalog beyond decoding: directory figures from statfs, Shmem from
 * /proc/meminfo, folders (joblib_memmapping_folder_*) listed only as children,
 * symlinks never followed, special files, and user interpretations of raw segments.
 */
import * as assert from 'assert';
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { inspectSegment, listCatalog, resolveName, UsageError } from '../../extension/core/catalog';
import { identityOf, interpretationsPath, removeInterpretation, setInterpretation } from '../../extension/core/interpretations';
import { py, SegmentJar } from '../fixtures/segments';

function sh(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8' });
}

describe('catalog: memory, folders, symlinks, interpretations', function () {
  this.timeout(60_000);
  const jar = new SegmentJar();
  let dir: string;
  let outside: string;
  let configDir: string;
  let interpFile: string;

  before(() => {
    dir = jar.name('shmi_cat').path;
    fs.mkdirSync(dir);
    outside = fs.mkdtempSync(path.join(os.tmpdir(), 'shmi-outside-'));
    configDir = fs.mkdtempSync(path.join(os.tmpdir(), 'shmi-config-'));
    interpFile = path.join(configDir, 'interpretations.json');
  });
  after(() => {
    jar.cleanup();
    fs.rmSync(outside, { recursive: true, force: true });
    fs.rmSync(configDir, { recursive: true, force: true });
  });

  it('reports the directory as statfs does (size, used, free) and Shmem from /proc/meminfo in bytes', async () => {
    const cat = await listCatalog({ dirs: [dir], holders: false });
    assert.strictEqual(cat.directories.length, 1);
    const d = cat.directories[0];
    assert.strictEqual(d.path, dir);
    const s = fs.statfsSync(dir);
    assert.strictEqual(d.size, s.bsize * s.blocks);
    // used/free move as other processes write to the tmpfs: compare with a little slack.
    const slack = 64 * 1024 * 1024;
    assert.ok(Math.abs(d.used - s.bsize * (s.blocks - s.bfree)) < slack, `used ${d.used}`);
    assert.ok(Math.abs(d.free - s.bsize * s.bavail) < slack, `free ${d.free}`);
    const kb = Number(/^Shmem:\s+(\d+) kB/m.exec(fs.readFileSync('/proc/meminfo', 'utf8'))![1]);
    assert.ok(cat.shmem !== null && cat.shmem % 1024 === 0, `shmem ${cat.shmem}`);
    assert.ok(Math.abs(cat.shmem - kb * 1024) < slack, `shmem ${cat.shmem} vs ${kb} kB`);
  });

  it('lists several directories, one entry each, segments named relative to their own directory', async () => {
    const other = jar.name('shmi_cat2').path;
    fs.mkdirSync(other);
    const a = py(['npy', path.join(dir, 'multi_a.npy'), '<f4', '2,2']).trim();
    py(['npy', path.join(other, 'multi_b.npy'), '<f4', '3']);
    const cat = await listCatalog({ dirs: [dir, other + '/'], holders: false });
    assert.deepStrictEqual(
      cat.directories.map((d) => d.path),
      [dir, other],
    );
    assert.ok(cat.segments.some((s) => s.name === 'multi_a.npy' && s.path === a));
    assert.ok(cat.segments.some((s) => s.name === 'multi_b.npy' && s.path === path.join(other, 'multi_b.npy')));
    fs.rmSync(a);
  });

  it('a joblib_memmapping_folder_* lists its entries only as children, with size and RAM summed', async () => {
    const folder = path.join(dir, 'joblib_memmapping_folder_1234_abcd');
    fs.mkdirSync(path.join(folder, 'sub'), { recursive: true });
    py(['npy', path.join(folder, '111-222-a.pkl_01.npy'), '<f8', '100,10']);
    py(['npy', path.join(folder, '111-222-b.pkl_02.npy'), '<i4', '7']);
    py(['npy', path.join(folder, 'sub', 'deep.npy'), '|u1', '5000']);
    const cat = await listCatalog({ dirs: [dir], holders: false });
    const top = cat.segments.filter((s) => s.name.startsWith('joblib_memmapping_folder_1234_abcd'));
    assert.strictEqual(top.length, 1, 'the folder alone at the top level');
    const f = top[0];
    assert.strictEqual(f.format, 'directory');
    assert.strictEqual(f.producer, 'joblib');
    assert.deepStrictEqual(
      f.children!.map((c) => c.name),
      [
        'joblib_memmapping_folder_1234_abcd/111-222-a.pkl_01.npy',
        'joblib_memmapping_folder_1234_abcd/111-222-b.pkl_02.npy',
        'joblib_memmapping_folder_1234_abcd/sub',
      ],
    );
    const files = ['111-222-a.pkl_01.npy', '111-222-b.pkl_02.npy', 'sub/deep.npy'].map((n) => fs.statSync(path.join(folder, n)));
    assert.strictEqual(
      f.size,
      files.reduce((s, st) => s + st.size, 0),
    );
    assert.strictEqual(
      f.allocatedBytes,
      files.reduce((s, st) => s + st.blocks * 512, 0),
    );
    const a = f.children![0];
    assert.strictEqual(a.format, 'npy');
    assert.strictEqual(a.dtype, '<f8');
    assert.deepStrictEqual(a.shape, [100, 10]);
    assert.strictEqual(a.path, path.join(folder, '111-222-a.pkl_01.npy'));
    const sub = f.children![2];
    assert.strictEqual(sub.format, 'directory');
    assert.deepStrictEqual(
      sub.children!.map((c) => c.name),
      ['joblib_memmapping_folder_1234_abcd/sub/deep.npy'],
    );
    // inspect reaches an entry inside the folder by its relative name.
    const viaInspect = await inspectSegment('joblib_memmapping_folder_1234_abcd/sub/deep.npy', { dirs: [dir], holders: false });
    assert.ok(viaInspect);
    assert.deepStrictEqual(viaInspect.shape, [5000]);
    assert.strictEqual(viaInspect.dtype, '|u1');
  });

  it('a symlink is reported with its text and never followed (a big NPY outside is not read)', async () => {
    const big = path.join(outside, 'big.npy');
    py(['npy', big, '<f4', '1024,1024']); // 4 MiB, outside the listed directory
    fs.symlinkSync(big, path.join(dir, 'link_to_big'));
    fs.symlinkSync('/nonexistent/target', path.join(dir, 'dangling_link'));
    const before = fs.statSync(big).atimeMs;
    const cat = await listCatalog({ dirs: [dir], holders: false });
    const link = cat.segments.find((s) => s.name === 'link_to_big')!;
    assert.strictEqual(link.format, 'symlink');
    assert.strictEqual(link.symlinkTarget, big);
    assert.strictEqual(link.size, Buffer.byteLength(big), 'lstat size: the length of the link text');
    assert.strictEqual(link.dtype, null);
    assert.strictEqual(link.shape, null);
    assert.strictEqual(link.children, null);
    assert.strictEqual(link.error, null);
    const dangling = cat.segments.find((s) => s.name === 'dangling_link')!;
    assert.strictEqual(dangling.format, 'symlink');
    assert.strictEqual(dangling.symlinkTarget, '/nonexistent/target');
    assert.strictEqual(fs.statSync(big).atimeMs, before, 'the target was not read');
    const viaInspect = await inspectSegment('link_to_big', { dirs: [dir], holders: false });
    assert.strictEqual(viaInspect!.format, 'symlink');
    assert.strictEqual(viaInspect!.dtype, null);
  });

  it('a FIFO is listed as not a regular file, without blocking on it', async () => {
    const fifo = path.join(dir, 'a_fifo');
    sh('mkfifo', [fifo]);
    const cat = await listCatalog({ dirs: [dir], holders: false });
    const s = cat.segments.find((x) => x.name === 'a_fifo')!;
    assert.strictEqual(s.format, 'raw');
    assert.match(s.error ?? '', /not a regular file/);
    fs.rmSync(fifo);
  });

  it('a missing directory is an error naming it', async () => {
    await assert.rejects(listCatalog({ dirs: [path.join(dir, 'nope')] }), /nope: no such directory/);
  });

  it('resolveName: relative names, the shm_open spelling, absolute paths inside; escapes are usage errors', () => {
    assert.deepStrictEqual(resolveName('/dev/shm', 'psm_1a2b'), { rel: 'psm_1a2b', full: '/dev/shm/psm_1a2b' });
    assert.deepStrictEqual(resolveName('/dev/shm/', '/psm_1a2b'), { rel: 'psm_1a2b', full: '/dev/shm/psm_1a2b' });
    assert.deepStrictEqual(resolveName('/dev/shm', 'folder/x.pkl'), { rel: 'folder/x.pkl', full: '/dev/shm/folder/x.pkl' });
    assert.deepStrictEqual(resolveName('/dev/shm', '/dev/shm/folder/x.pkl'), { rel: 'folder/x.pkl', full: '/dev/shm/folder/x.pkl' });
    for (const bad of ['../etc/passwd', '/etc/passwd', 'a/../../x', '..', '', '/', 'a\0b', '/tmp/x']) {
      assert.throws(() => resolveName('/dev/shm', bad), UsageError, bad);
    }
  });

  describe('interpretations of raw segments', () => {
    const opts = () => ({ dirs: [dir], holders: false, interpretations: interpFile });

    it('a raw segment gets dtype, shape, order and offset from its interpretation; format stays raw', async () => {
      const p = path.join(dir, 'raw_interp.bin');
      py(['raw', p, '<f4', '6,4', '--offset', '64', '--order', 'F']);
      const id = await identityOf(dir, 'raw_interp.bin');
      let seg = await inspectSegment('raw_interp.bin', opts());
      assert.strictEqual(seg!.format, 'raw');
      assert.strictEqual(seg!.dtype, null);
      await setInterpretation(id, { dtype: 'float32', shape: [6, 4], offset: 64, order: 'F' }, interpFile);
      seg = await inspectSegment('raw_interp.bin', opts());
      assert.strictEqual(seg!.format, 'raw');
      assert.strictEqual(seg!.dtype, '<f4');
      assert.deepStrictEqual(seg!.shape, [6, 4]);
      assert.strictEqual(seg!.fortranOrder, true);
      assert.strictEqual(seg!.dataOffset, 64);
      assert.strictEqual(seg!.error, null);
      const listed = (await listCatalog(opts())).segments.find((s) => s.name === 'raw_interp.bin')!;
      assert.strictEqual(listed.dtype, '<f4');
      assert.deepStrictEqual(listed.details?.interpretation, { dtype: '<f4', shape: [6, 4], offset: 64, order: 'F', leftoverBytes: 0 });
      assert.ok(await removeInterpretation(id, interpFile));
      seg = await inspectSegment('raw_interp.bin', opts());
      assert.strictEqual(seg!.dtype, null);
    });

    it('a new segment reusing the name does not inherit the interpretation', async () => {
      const p = path.join(dir, 'raw_reused.bin');
      py(['raw', p, '<f4', '8']);
      await setInterpretation(await identityOf(dir, 'raw_reused.bin'), { dtype: '<f4', shape: [8], offset: 0, order: 'C' }, interpFile);
      assert.strictEqual((await inspectSegment('raw_reused.bin', opts()))!.dtype, '<f4');
      fs.rmSync(p);
      py(['raw', p, '<f4', '8']);
      const seg = await inspectSegment('raw_reused.bin', opts());
      assert.strictEqual(seg!.dtype, null, 'a new file, not the one interpreted');
    });

    it('an interpretation beyond the end of the segment gives an error, not a layout', async () => {
      const p = path.join(dir, 'raw_short.bin');
      py(['raw', p, '<f8', '10']);
      await setInterpretation(await identityOf(dir, 'raw_short.bin'), { dtype: '<f8', shape: [10, 10], offset: 0, order: 'C' }, interpFile);
      const seg = await inspectSegment('raw_short.bin', opts());
      assert.strictEqual(seg!.format, 'raw');
      assert.strictEqual(seg!.dtype, null);
      assert.strictEqual(seg!.shape, null);
      assert.match(seg!.error ?? '', /interpretation does not fit: <f8 \[10,10\] from offset 0 needs 800 bytes, the segment has 80/);
    });

    it('an NPY segment ignores interpretations (its header wins)', async () => {
      const p = path.join(dir, 'interp_npy.npy');
      py(['npy', p, '<i2', '4']);
      await setInterpretation(await identityOf(dir, 'interp_npy.npy'), { dtype: '<f8', shape: [1], offset: 0, order: 'C' }, interpFile);
      const seg = await inspectSegment('interp_npy.npy', opts());
      assert.strictEqual(seg!.format, 'npy');
      assert.strictEqual(seg!.dtype, '<i2');
    });

    it('reads the shared file from SHM_INSPECTOR_CONFIG_DIR by default', async () => {
      const p = path.join(dir, 'raw_default.bin');
      py(['raw', p, '|u1', '16']);
      const saved = process.env.SHM_INSPECTOR_CONFIG_DIR;
      process.env.SHM_INSPECTOR_CONFIG_DIR = configDir;
      try {
        assert.strictEqual(interpretationsPath(), interpFile);
        await setInterpretation(await identityOf(dir, 'raw_default.bin'), { dtype: 'u1', shape: [4, 4], offset: 0, order: 'C' });
        const seg = await inspectSegment('raw_default.bin', { dirs: [dir], holders: false });
        assert.strictEqual(seg!.dtype, '|u1');
        assert.deepStrictEqual(seg!.shape, [4, 4]);
      } finally {
        if (saved === undefined) delete process.env.SHM_INSPECTOR_CONFIG_DIR;
        else process.env.SHM_INSPECTOR_CONFIG_DIR = saved;
      }
    });
  });
});
