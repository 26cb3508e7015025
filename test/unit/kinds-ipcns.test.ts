/**
 * System V segments of other IPC namespaces (issue #15, item 1): a real producer (Python ctypes
 * shmget/shmat, test/fixtures/sysv_producer.py) in a private IPC namespace (unshare -i) holding an
 * .npy segment, found from outside as `sysv:NS/SHMID` by entering its namespace on a thread of its
 * own (setns), decoded, read (stats), removed (unlink --force); and, without CAP_SYS_ADMIN, counted
 * as a namespace that could not be entered. The producer (and with it its namespace) ends in `after`.
 */
import * as assert from 'assert';
import { spawn, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { listForeignSysv, parseForeignSysvName } from '../../extension/core/kinds/ipcns';
import { ownIpcNamespace, type SysvSegment } from '../../extension/core/sysv';
import { runCli, type Run } from '../fixtures/cli';
import { PYTHON, untilReady } from '../fixtures/segments';

const PRODUCER = path.resolve(__dirname, '..', '..', '..', 'test', 'fixtures', 'sysv_producer.py');

function json<T>(r: Run): T {
  assert.strictEqual(r.code, 0, `exit 0 (stderr: ${r.stderr})`);
  return JSON.parse(r.stdout) as T;
}

describe('System V segments of other IPC namespaces (sysv:NS/SHMID)', function () {
  this.timeout(60_000);
  let child: ChildProcess;
  let shmid = 0;
  let ns = 0;

  before(async function () {
    if (process.getuid?.() !== 0) this.skip();
    child = spawn('unshare', ['-i', PYTHON, PRODUCER, 'make', '0', '--npy', '<f4', '64,32', '--hold'], { stdio: ['pipe', 'pipe', 'inherit'] });
    shmid = Number(/shmid (\d+)/.exec(await untilReady(child, 'producer'))![1]);
    ns = Number(/\[(\d+)\]/.exec(fs.readlinkSync(`/proc/${child.pid}/ns/ipc`))![1]);
  });

  after(async () => {
    if (child && child.exitCode === null) {
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await gone;
    }
  });

  it('reads sysv:NS/SHMID of another namespace only', async () => {
    const own = await ownIpcNamespace();
    assert.deepStrictEqual(parseForeignSysvName('sysv:7/3', own), { ns: 7, shmid: 3 });
    assert.strictEqual(parseForeignSysvName(`sysv:${own}/3`, own), null, 'our own namespace is plain sysv:');
    assert.strictEqual(parseForeignSysvName('sysv:3', own), null);
  });

  it('enters the namespace from outside: its segment, decoded, held by its process, named from its namespace', async () => {
    const scan = await listForeignSysv();
    const s = scan.segments.find((x) => x.namespace.id === ns && x.sysv.shmid === shmid);
    assert.ok(s, `found (namespaces: ${scan.namespaces.map((n) => n.id).join(', ')}; unreadable: ${JSON.stringify(scan.unreadable)})`);
    assert.strictEqual(s.name, `sysv:${ns}/${shmid}`);
    assert.deepStrictEqual([s.format, s.dtype, s.shape], ['npy', '<f4', [64, 32]]);
    assert.strictEqual(s.sysv.nattch, 1);
    assert.deepStrictEqual(
      s.holders.map((h) => h.pid),
      [child.pid],
    );
    assert.strictEqual(s.namespace.pid, child.pid);
  });

  it('CLI: list --kind sysv shows it under its namespace; inspect, stats; unlink refuses an attached one without --force', async () => {
    const doc = json<{ segments: SysvSegment[]; ipcNamespacesUnreadable: unknown[] }>(await runCli(['list', '--kind', 'sysv', '--json']));
    assert.ok(doc.segments.some((s) => s.name === `sysv:${ns}/${shmid}`));
    assert.ok(Array.isArray(doc.ipcNamespacesUnreadable));
    const text = (await runCli(['list', '--kind', 'sysv'])).stdout;
    assert.match(text, new RegExp(`IPC namespace ${ns}, .*\\(pid ${child.pid}\\):\\nSystem V segments there: 1`));
    const one = json<SysvSegment>(await runCli(['inspect', `sysv:${ns}/${shmid}`, '--json']));
    assert.strictEqual(one.sysv.shmid, shmid);
    const st = json<{ count: number; mean: number }>(await runCli(['stats', `sysv:${ns}/${shmid}`, '--json']));
    assert.deepStrictEqual([st.count, st.mean], [2048, 1023.5]);
    const held = await runCli(['unlink', `sysv:${ns}/${shmid}`]);
    assert.strictEqual(held.code, 1);
    assert.match(held.stderr, /attached 1 time; pass --force/);
    const gone = json<{ outcomes: { status: string; pendingBytes: number }[] }>(await runCli(['unlink', `sysv:${ns}/${shmid}`, '--force', '--json']));
    assert.strictEqual(gone.outcomes[0].status, 'removed');
    const after = (await listForeignSysv({ only: ns })).segments.find((x) => x.sysv.shmid === shmid);
    assert.strictEqual(after?.sysv.markedForRemoval, true, 'marked for removal, still attached');
  });

  it('without CAP_SYS_ADMIN: the namespace is counted as not entered, with why', async () => {
    const r = await runCli(['list', '--kind', 'sysv', '--json'], { as: ['--bounding-set', '-sys_admin', '--inh-caps', '-all'] });
    const doc = json<{ segments: SysvSegment[]; ipcNamespacesUnreadable: { id: number; error: string }[] }>(r);
    const u = doc.ipcNamespacesUnreadable.find((x) => x.id === ns);
    assert.ok(u, JSON.stringify(doc.ipcNamespacesUnreadable));
    assert.match(u.error, /cannot be entered \(needs CAP_SYS_ADMIN\)/);
    assert.ok(!doc.segments.some((s) => s.name.startsWith(`sysv:${ns}/`)));
  });
});
