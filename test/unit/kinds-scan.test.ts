/**
 * One scan of every kind (issue #15, the tree's scan: core/kinds/scan.ts): a file of the listed
 * folder, a System V segment (Python ctypes shmget) and a memfd (os.memfd_create, held by a forked
 * child) made by real producers come back in one result, so the Segments view draws them together;
 * a listed folder that does not exist fails the catalog only, the other kinds still come. What is
 * made here is removed in `after` (the folder, IPC_RMID, the producer's process group).
 */
import * as assert from 'assert';
import { execFileSync, spawn, type ChildProcess } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { scanEverything } from '../../extension/core/kinds/scan';
import { PYTHON } from '../fixtures/segments';

const FIXTURES = path.resolve(__dirname, '..', '..', '..', 'test', 'fixtures');

describe('one scan of every kind (the tree takes it whole)', function () {
  this.timeout(60_000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shmi-scan-'));
  const label = `shmi_unit_scan_${process.pid}_${crypto.randomBytes(3).toString('hex')}`;
  let shmid = -1;
  let memfd: ChildProcess | undefined;

  before(async () => {
    fs.writeFileSync(path.join(dir, 'shmi_unit_scan.bin'), Buffer.alloc(4096, 1));
    shmid = Number(/shmid (\d+)/.exec(execFileSync(PYTHON, [path.join(FIXTURES, 'sysv_producer.py'), 'make', '4096'], { encoding: 'utf8' }))![1]);
    memfd = spawn(PYTHON, [path.join(FIXTURES, 'memfd_producer.py'), 'memfd', label, '4', '4'], { stdio: ['pipe', 'pipe', 'inherit'], detached: true });
    await new Promise<void>((resolve, reject) => {
      let buf = '';
      memfd!.stdout!.on('data', (d: Buffer) => {
        buf += d.toString();
        if (/ready parent=\d+ child=\d+/.test(buf)) resolve();
      });
      memfd!.on('exit', (code) => reject(new Error(`memfd producer exited with ${code}`)));
    });
  });

  after(() => {
    if (memfd?.pid) {
      try {
        process.kill(-memfd.pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    if (shmid >= 0) execFileSync(PYTHON, [path.join(FIXTURES, 'sysv_producer.py'), 'rm', String(shmid)]);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("returns the folder's files, System V segments and memfd regions together, from one call", async () => {
    const all = await scanEverything([dir]);
    assert.deepStrictEqual(
      all.catalog?.segments.map((s) => s.name),
      ['shmi_unit_scan.bin'],
    );
    assert.ok(
      all.sysv.some((s) => s.sysv.shmid === shmid),
      'the System V segment',
    );
    assert.ok(
      all.mem.some((s) => s.kind === 'memfd' && s.label === label),
      'the memfd',
    );
    assert.ok(Array.isArray(all.foreignSysv.segments) && all.containers !== undefined, 'the other namespaces were asked too');
  });

  it('a listed folder that does not exist fails the catalog alone: the other kinds still come', async () => {
    const all = await scanEverything([path.join(dir, 'missing')]);
    assert.strictEqual(all.catalog, null);
    assert.strictEqual((all.catalogError as { code?: string }).code, 'ENOENT');
    assert.ok(all.sysv.some((s) => s.sysv.shmid === shmid));
    assert.ok(all.mem.some((s) => s.label === label));
  });
});
