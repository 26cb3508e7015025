/**
 * The holder scan and System V shmid 0: maps name an attachment `/SYSV%08x (deleted)` with the
 * shmid as its inode, and shmid 0 is the first segment of every new IPC namespace, so inode 0
 * must not be skipped as anonymous memory there. A real producer (libc shmget/shmat through
 * ctypes) in its own IPC namespace (`unshare -i`) holds one; the scan must name its process.
 */
import * as assert from 'assert';
import { spawn, type ChildProcess } from 'child_process';
import * as path from 'path';
import { scanHolders } from '../../extension/native';
import { untilReady } from '../fixtures/segments';

const PRODUCER = path.resolve(__dirname, '..', '..', '..', 'test', 'fixtures', 'sysv_producer.py');

describe('holder scan: System V shmid 0 in a new IPC namespace', function () {
  this.timeout(30_000);
  let child: ChildProcess | null = null;
  after(() => {
    // Closing stdin lets the producer detach and exit; the namespace (and its segment) goes with it.
    child?.stdin?.end();
    child?.kill();
  });

  it('lists the process attached to shmid 0 as a holder of it', async () => {
    child = spawn('unshare', ['-i', '/usr/bin/python3', PRODUCER, 'make', '4096', '--hold'], { stdio: ['pipe', 'pipe', 'inherit'] });
    const out = await untilReady(child, 'producer');
    assert.match(out, /shmid 0\b/, 'a new IPC namespace gives its first segment shmid 0');
    const scan = await scanHolders([], { sysv: true, pids: [child.pid!] });
    const me = scan.processes.find((p) => p.pid === child!.pid);
    assert.ok(me, `the producer (pid ${child.pid}) is a holder: ${JSON.stringify(scan)}`);
    assert.ok(
      me.maps.some((m) => m.ino === 0 && /^\/SYSV00000000/.test(m.path)),
      JSON.stringify(me.maps),
    );
  });
});
