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
import * as os from 'os';
import * as path from 'path';
import { clearSysv } from '../../extension/core/kinds/clear';
import { listForeignSysv, parseForeignSysvName, removeForeignSysv } from '../../extension/core/kinds/ipcns';
import { ownIpcNamespace, type SysvSegment } from '../../extension/core/sysv';
import { runCli, type Run } from '../fixtures/cli';
import { sysvChildren, type Node } from '../../extension/sidebar/nodes';
import { PYTHON, runPython } from '../fixtures/segments';
import { holdSysv } from '../fixtures/sysv';

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
    ({ child, shmid, ns } = await holdSysv(['0', '--npy', '<f4', '64,32'], true));
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

  it('the sidebar: a group per other IPC namespace under System V, named as the CLI names it, with the segment and its holder', async () => {
    const scan = await listForeignSysv();
    const own = [{ sysv: { shmid: 1, ctimeMs: 5 } } as unknown as SysvSegment];
    const kids = sysvChildren(own, scan.segments);
    assert.strictEqual(kids[0].kind, 'sysvSegment', "this namespace's segments first");
    const groups = kids.filter((k): k is Extract<Node, { kind: 'sysvNsGroup' }> => k.kind === 'sysvNsGroup');
    assert.deepStrictEqual(
      groups.map((g) => g.namespace.id),
      [...new Set(scan.segments.map((s) => s.namespace.id))].sort((a, b) => a - b),
      'one group per namespace with segments, in namespace order',
    );
    const g = groups.find((x) => x.namespace.id === ns)!;
    assert.strictEqual(g.namespace.name, `pid ${child.pid}`, 'no container cgroup: named from its process, as list --kind sysv names it');
    const text = (await runCli(['list', '--kind', 'sysv'])).stdout;
    assert.ok(text.includes(`IPC namespace ${ns}, ${g.namespace.name} (pid ${child.pid})`), text);
    const rows = sysvChildren(g.segments, []);
    const row = rows.find((r) => r.kind === 'sysvSegment' && r.segment.sysv.shmid === shmid) as Extract<Node, { kind: 'sysvSegment' }>;
    assert.ok(row, JSON.stringify(rows.map((r) => r.id)));
    assert.strictEqual(row.segment.name, `sysv:${ns}/${shmid}`);
    assert.match(row.id, new RegExp(`^sysv:${ns}/${shmid}:`), 'its row id names the namespace: equal shmids of two namespaces are two rows');
    assert.deepStrictEqual(
      row.segment.holders.map((h) => h.pid),
      [child.pid],
    );
  });

  it('attach sysv:NS/SHMID: the code enters the namespace (or runs inside it: nsenter) and reads the right values', async () => {
    const s = json<{ kind: string; code: string }>(await runCli(['attach', `sysv:${ns}/${shmid}`, '--json']));
    assert.strictEqual(s.kind, 'ctypes');
    assert.match(s.code, new RegExp(`with open\\('/proc/${child.pid}/ns/ipc'\\) as ns_file:\\n    os\\.setns\\(ns_file\\.fileno\\(\\), os\\.CLONE_NEWIPC\\)`));
    // Debian's python3 is 3.11 (no os.setns): run it inside the namespace as the comment says, without those two lines.
    const inside = s.code.replace(/^with open\('\/proc\/\d+\/ns\/ipc'\) as ns_file:\n    os\.setns\(.*\n/m, '');
    const run = runPython(inside, 'print(arr.dtype, arr.shape, float(arr[63, 31]), float(arr.sum()))', ['nsenter', `--ipc=/proc/${child.pid}/ns/ipc`]);
    assert.strictEqual(run.stdout.trim(), 'float32 (64, 32) 2047.0 2096128.0', run.stderr);
    // persist: attached read-only by a thread inside the namespace; a POSIX snapshot on this side.
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shmi-ipcns-'));
    try {
      const file = path.join(tmp, 'c.npy');
      const p = json<{ format: string; fromKind: string }>(await runCli(['persist', `sysv:${ns}/${shmid}`, '--to', file, '--json']));
      assert.deepStrictEqual([p.format, p.fromKind], ['npy', 'sysv']);
      const back = runPython(`import numpy as np\na = np.load(${JSON.stringify(file)})\nprint(a.shape, float(a[63, 31]))`);
      assert.strictEqual(back.stdout.trim(), '(64, 32) 2047.0', back.stderr);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
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

  it('a header written after the segment was first listed is decoded at the next listing (the decoded headers kept between scans are only recognised ones)', async () => {
    const { child: late, shmid: id, ns: lateNs } = await holdSysv(['4096'], true);
    try {
      const first = (await listForeignSysv({ only: lateNs })).segments.find((x) => x.sysv.shmid === id);
      assert.strictEqual(first?.format, 'raw', 'zeros at first');
      // The producer writes its .npy now, through an attach of its own inside the namespace.
      const write = runPython(
        [
          'import ctypes, io, numpy as np',
          'libc = ctypes.CDLL(None, use_errno=True)',
          'libc.shmat.argtypes = (ctypes.c_int, ctypes.c_void_p, ctypes.c_int)',
          'libc.shmat.restype = ctypes.c_void_p',
          "b = io.BytesIO(); np.save(b, np.arange(12, dtype='<i2').reshape(3, 4)); data = b.getvalue()",
          `a = libc.shmat(${id}, None, 0)`,
          'ctypes.memmove(a, data, len(data))',
        ].join('\n'),
        '',
        ['nsenter', `--ipc=/proc/${late.pid}/ns/ipc`],
      );
      assert.strictEqual(write.code, 0, write.stderr);
      const again = (await listForeignSysv({ only: lateNs })).segments.find((x) => x.sysv.shmid === id);
      assert.deepStrictEqual([again?.format, again?.dtype, again?.shape], ['npy', '<i2', [3, 4]]);
      const third = (await listForeignSysv({ only: lateNs })).segments.find((x) => x.sysv.shmid === id);
      assert.deepStrictEqual([third?.format, third?.shape], ['npy', [3, 4]], 'and kept so');
    } finally {
      late.kill('SIGKILL');
    }
  });

  it('a shmid that names another segment since it was listed (kernel.shm_next_id gives the new one the old id): Remove and Clear leave the new one alone', async () => {
    // A producer in a private IPC namespace of its own: segment A (key 0x5eed0a), listed from here;
    // then, on "swap", A removed and B (key 0x5eed0b) made under the same shmid through shm_next_id
    // (the namespace's own). Its namespace, with B, goes when it exits.
    const code = [
      'import ctypes,sys',
      'l=ctypes.CDLL(None,use_errno=True)',
      'a=l.shmget(0x5eed0a,4096,0o1600); print("a",a,flush=True)',
      'sys.stdin.readline()',
      'l.shmctl(a,0,None)',
      'open("/proc/sys/kernel/shm_next_id","w").write(str(a))',
      'b=l.shmget(0x5eed0b,8192,0o1600); print("b",b,flush=True)',
      'sys.stdin.readline()',
    ].join('\n');
    const p = spawn('unshare', ['-i', PYTHON, '-c', code], { stdio: ['pipe', 'pipe', 'inherit'] });
    try {
      let out = '';
      const line = (re: RegExp) =>
        new Promise<number>((resolve, reject) => {
          const look = () => {
            const m = re.exec(out);
            if (m) resolve(Number(m[1]));
          };
          p.stdout!.on('data', (d: Buffer) => ((out += d.toString()), look()));
          p.once('exit', (c) => reject(new Error(`producer exited with ${c}: ${out}`)));
          look();
        });
      const a = await line(/^a (\d+)$/m);
      const pns = Number(/\[(\d+)\]/.exec(fs.readlinkSync(`/proc/${p.pid}/ns/ipc`))![1]);
      const listed = (await listForeignSysv({ only: pns, decode: false })).segments.find((x) => x.sysv.shmid === a);
      assert.ok(listed, 'A is listed');
      assert.strictEqual(listed.sysv.keyHex, '0x005eed0a');
      p.stdin!.write('swap\n');
      const b = await line(/^b (\d+)$/m);
      assert.strictEqual(b, a, 'B has the shmid A had');

      const removed = await removeForeignSysv(pns, a, { force: true, expected: listed.sysv });
      assert.notStrictEqual(removed.status, 'removed', JSON.stringify(removed));
      const cleared = await clearSysv({ segments: [listed], includeInUse: true, namespace: pns });
      assert.deepStrictEqual(cleared.removed, []);
      assert.deepStrictEqual(
        cleared.skipped.map((x) => [x.name, x.reason]),
        [[listed.name, 'replaced by another segment since it was listed; left alone']],
      );
      const now = (await listForeignSysv({ only: pns, decode: false })).segments.find((x) => x.sysv.shmid === a);
      assert.deepStrictEqual(now && [now.sysv.keyHex, now.size], ['0x005eed0b', 8192], 'B is still there');
    } finally {
      p.kill('SIGKILL');
    }
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
