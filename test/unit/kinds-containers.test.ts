/**
 * Containers' shared memory (issue #15, item 4), against a real stand-in for a container
 * (test/fixtures/container_producer.py): a process in its own mount namespace (unshare -m) with
 * two tmpfs stacked on /dev/shm, a numpy segment on the top one that it keeps mapped, placed in a
 * cgroup named like Docker's (`docker-<64 hex>.scope`), and a symbolic link in its /dev/shm that
 * leads out of its root. Found from outside by the core (listContainers) and the CLI (list --kind
 * container, inspect/stats/render/persist/unlink ns:NS/NAME), named from the cgroup, never following the
 * link out. The process, its cgroup and the host folder are removed in `after`; its mounts go with
 * its namespace.
 */
import * as assert from 'assert';
import { spawn, type ChildProcess } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { listContainers, nameFromCgroup, parseContainerName, type ContainerSegment } from '../../extension/core/kinds/containers';
import { openInRoot } from '../../extension/native';
import { clearContainers } from '../../extension/core/kinds/clear';
import { unlinkContainerSegments } from '../../extension/core/kinds/unlink';
import { runCli, type Run } from '../fixtures/cli';
import { PYTHON, untilReady } from '../fixtures/segments';

const PRODUCER = path.resolve(__dirname, '..', '..', '..', 'test', 'fixtures', 'container_producer.py');

/** Where cgroup v2 is mounted (the unified hierarchy), or null. */
function cgroup2Root(): string | null {
  for (const line of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const f = line.split(' ');
    const dash = f.indexOf('-');
    if (dash > 0 && f[dash + 1] === 'cgroup2') return f[4];
  }
  return null;
}

function json<T>(r: Run): T {
  assert.strictEqual(r.code, 0, `exit 0 (stderr: ${r.stderr})`);
  return JSON.parse(r.stdout) as T;
}

describe("containers: other mount namespaces' /dev/shm (ns:NS/NAME)", function () {
  this.timeout(90_000);
  const id = crypto.randomBytes(32).toString('hex');
  const name = `shmi_ct_${process.pid}_${crypto.randomBytes(3).toString('hex')}.npy`;
  const hostDir = fs.mkdtempSync(path.join(os.tmpdir(), 'shmi-host-'));
  const cgRoot = cgroup2Root();
  const cgDir = cgRoot ? path.join(cgRoot, `docker-${id}.scope`) : null;
  let child: ChildProcess;
  let ns = 0;
  let dev = 0;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shmi-ct-out-'));

  before(async function () {
    if (process.getuid?.() !== 0 || !cgDir) this.skip();
    fs.writeFileSync(path.join(hostDir, 'secret'), 'host only');
    fs.mkdirSync(cgDir);
    child = spawn('unshare', ['-m', '--propagation', 'private', PYTHON, PRODUCER, hostDir, name, '16', '32'], { stdio: ['pipe', 'pipe', 'inherit'] });
    const m = /ready ns=(\d+) dev=(\d+)/.exec(await untilReady(child, 'container producer'))!;
    ns = Number(m[1]);
    dev = Number(m[2]);
    fs.writeFileSync(path.join(cgDir, 'cgroup.procs'), String(child.pid));
  });

  after(async () => {
    if (child && child.exitCode === null) {
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await gone;
    }
    if (cgDir && fs.existsSync(cgDir)) fs.rmdirSync(cgDir);
    fs.rmSync(hostDir, { recursive: true, force: true });
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('names a container from its cgroup: Docker, Kubernetes pod, unit, else the PID', () => {
    const hex = 'ab'.repeat(32);
    assert.deepStrictEqual(nameFromCgroup(`0::/system.slice/docker-${hex}.scope\n`, 9), { name: `docker ${hex.slice(0, 12)}`, source: 'docker', containerId: hex });
    assert.deepStrictEqual(nameFromCgroup(`12:memory:/docker/${hex}\n`, 9).name, `docker ${hex.slice(0, 12)}`);
    const uid = '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0';
    assert.strictEqual(
      nameFromCgroup(`0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${uid.replace(/-/g, '_')}.slice/cri-containerd-${hex}.scope\n`, 9).name,
      `pod ${uid}`,
    );
    assert.strictEqual(nameFromCgroup('0::/system.slice/postgresql.service\n', 9).name, 'postgresql.service');
    assert.strictEqual(nameFromCgroup('0::/\n', 42).name, 'pid 42');
    assert.deepStrictEqual(parseContainerName(`ns:5/a/b`), { ns: 5, rel: 'a/b' });
    assert.strictEqual(parseContainerName('psm_1'), null);
    assert.throws(() => parseContainerName('ns:x/y'), /not a container segment name/);
  });

  it("finds the namespace's top tmpfs from outside: named from the cgroup, sized, its numpy segment decoded and held", async () => {
    const scan = await listContainers();
    const g = scan.groups.find((x) => x.namespace.id === ns);
    assert.ok(g, `namespace ${ns} listed (groups: ${scan.groups.map((x) => x.namespace.id).join(', ')}; unreadable: ${JSON.stringify(scan.unreadable)})`);
    assert.strictEqual(g.namespace.name, `docker ${id.slice(0, 12)}`);
    assert.strictEqual(g.namespace.containerId, id);
    assert.strictEqual(g.namespace.pid, child.pid);
    assert.strictEqual(g.dev, dev, 'the top one of the two stacked tmpfs');
    assert.strictEqual(g.size, 1 << 20);
    assert.ok(g.used > 0 && g.free < g.size);
    const names = g.segments.map((s) => s.name).sort();
    assert.deepStrictEqual(names, [`ns:${ns}/dirlink`, `ns:${ns}/${name}`], "the lower tmpfs's file is not reachable, so not listed");
    const s = g.segments.find((x) => x.name === `ns:${ns}/${name}`)!;
    assert.strictEqual(s.kind, 'container');
    assert.strictEqual(s.path, null);
    assert.deepStrictEqual([s.format, s.dtype, s.shape], ['npy', '<f8', [16, 32]]);
    assert.deepStrictEqual(
      s.holders.map((h) => h.pid),
      [child.pid],
      'held across namespaces (device + inode)',
    );
    assert.strictEqual(s.namespace.id, ns);
    const link = g.segments.find((x) => x.name === `ns:${ns}/dirlink`)!;
    assert.deepStrictEqual([link.format, link.symlinkTarget], ['symlink', hostDir]);
  });

  it("never follows a link out of the container's root", async () => {
    // What a path through /proc/PID/root would do: the absolute link resolves against the host's root.
    assert.strictEqual(fs.readFileSync(`/proc/${child.pid}/root/dev/shm/dirlink/secret`, 'utf8'), 'host only');
    await assert.rejects(openInRoot(`/proc/${child.pid}/root`, '/dev/shm/dirlink/secret'), (e: { code?: string }) => e.code === 'ENOENT');
    await assert.rejects(openInRoot(`/proc/${child.pid}/root`, '/dev/shm/dirlink'), (e: { code?: string }) => e.code === 'ELOOP');
    for (const cmd of ['inspect', 'stats']) {
      const r = await runCli([cmd, `ns:${ns}/dirlink/secret`]);
      assert.strictEqual(r.code, 1, `${cmd}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, /no such segment/);
      assert.ok(!r.stdout.includes('host only'));
    }
  });

  it('CLI: list --kind container, inspect, stats, render and persist ns:NS/NAME', async () => {
    const doc = json<{ segments: ContainerSegment[]; containers: { namespace: { id: number; name: string }; size: number; dev: number }[] }>(
      await runCli(['list', '--kind', 'container', '--json']),
    );
    const c = doc.containers.find((x) => x.namespace.id === ns)!;
    assert.ok(c);
    assert.deepStrictEqual([c.namespace.name, c.size, c.dev], [`docker ${id.slice(0, 12)}`, 1 << 20, dev]);
    assert.ok(doc.segments.some((s) => s.name === `ns:${ns}/${name}` && s.namespace.name === `docker ${id.slice(0, 12)}`));
    const seg = `ns:${ns}/${name}`;
    assert.strictEqual(json<ContainerSegment>(await runCli(['inspect', seg, '--json'])).holders[0].pid, child.pid);
    const st = json<{ count: number; mean: number }>(await runCli(['stats', seg, '--json']));
    assert.deepStrictEqual([st.count, st.mean], [512, 255.5]);
    const png = path.join(tmp, 'c.png');
    assert.strictEqual((await runCli(['render', seg, '--out', png, '--width', '32', '--height', '16'])).code, 0);
    const file = path.join(tmp, 'c.npy');
    assert.strictEqual(json<{ format: string }>(await runCli(['persist', seg, '--to', file, '--json'])).format, 'npy');
    assert.ok(fs.readFileSync(file).equals(fs.readFileSync(`/proc/${child.pid}/root/dev/shm/${name}`)));
    const text = (await runCli(['list', '--kind', 'container'])).stdout;
    assert.match(text, new RegExp(`docker ${id.slice(0, 12)} \\(mount namespace ${ns}, pid ${child.pid}\\): /dev/shm .* used of 1\\.0 MiB`));
  });

  it("clear --kind container: a plan of the container's orphans by the posix rules, then removed inside its root; the held one and the link's target stay", async () => {
    const shm = `/proc/${child.pid}/root/dev/shm`;
    const orphan = `shmi_ct_orphan_${process.pid}.bin`;
    fs.writeFileSync(`${shm}/${orphan}`, Buffer.alloc(8192, 7));
    const plan = json<{ dryRun: boolean; planned: string[]; skipped: { name: string; reason: string }[]; bytes: number }>(
      await runCli(['clear', '--kind', 'container', '--namespace', String(ns), '--glob', 'shmi_ct_*', '--json']),
    );
    assert.deepStrictEqual(plan.planned, [`ns:${ns}/${orphan}`], 'a plan without --yes');
    assert.ok(plan.bytes >= 8192);
    const held = plan.skipped.find((x) => x.name === `ns:${ns}/${name}`);
    assert.match(held?.reason ?? '', new RegExp(`in use by python3 \\(pid ${child.pid}\\)`), JSON.stringify(plan.skipped));
    assert.ok(fs.existsSync(`${shm}/${orphan}`), 'a plan removes nothing');
    const done = json<{ removed: string[] }>(await runCli(['clear', '--kind', 'container', '--namespace', String(ns), '--glob', 'shmi_ct_*', '--yes', '--json']));
    assert.deepStrictEqual(done.removed, [`ns:${ns}/${orphan}`]);
    assert.ok(!fs.existsSync(`${shm}/${orphan}`));
    assert.ok(fs.existsSync(`${shm}/${name}`), 'the held segment stays');
    // The link is an entry of the container's folder: clearing it removes the link, never what it points to on the host.
    const link = json<{ removed: string[] }>(await runCli(['clear', '--kind', 'container', '--namespace', String(ns), '--glob', 'dirlink', '--yes', '--json']));
    assert.deepStrictEqual(link.removed, [`ns:${ns}/dirlink`]);
    assert.strictEqual(fs.readFileSync(path.join(hostDir, 'secret'), 'utf8'), 'host only');
    // The UI's selection: exactly the listed entry (device and inode), nothing that took its name since.
    fs.writeFileSync(`${shm}/${orphan}`, 'first');
    const listed = (await listContainers({ only: ns })).groups[0].segments.find((x) => x.name === `ns:${ns}/${orphan}`)!;
    fs.renameSync(`${shm}/${orphan}`, `${shm}/${orphan}.old`);
    fs.writeFileSync(`${shm}/${orphan}`, 'second');
    const swapped = await clearContainers({ segments: [listed] });
    assert.deepStrictEqual(swapped.removed, []);
    assert.match(swapped.skipped[0]?.reason ?? '', /replaced by a different file since it was listed/);
    assert.strictEqual(fs.readFileSync(`${shm}/${orphan}`, 'utf8'), 'second');
    fs.unlinkSync(`${shm}/${orphan}`);
    fs.unlinkSync(`${shm}/${orphan}.old`);
    // memfd and anonymous memory: refused, saying why.
    const memfd = await runCli(['clear', '--kind', 'memfd', '--orphans']);
    assert.strictEqual(memfd.code, 2);
    assert.match(memfd.stderr, /memfd regions cannot be cleared: nothing names them .* freed when the processes that hold it close and unmap it/);
  });

  it("unlink ns:NS/NAME: removed inside the container's root by the plain unlink's rules; held only with --force, a link as a link, a name swapped to another inode left alone", async () => {
    const shm = `/proc/${child.pid}/root/dev/shm`;
    const orphan = `shmi_ct_unlink_${process.pid}.bin`;
    fs.writeFileSync(`${shm}/${orphan}`, Buffer.alloc(4096, 3));
    const done = json<{ outcomes: { name: string; status: string }[]; bytes: number }>(await runCli(['unlink', `ns:${ns}/${orphan}`, '--json']));
    assert.deepStrictEqual(
      done.outcomes.map((o) => [o.name, o.status]),
      [[`ns:${ns}/${orphan}`, 'removed']],
    );
    assert.ok(done.bytes >= 4096);
    assert.ok(!fs.existsSync(`${shm}/${orphan}`));
    // Held by the container's process: refused without --force, naming it; the segment stays.
    const held = await runCli(['unlink', `ns:${ns}/${name}`]);
    assert.strictEqual(held.code, 1);
    assert.match(held.stderr, new RegExp(`ns:${ns}/${name.replace(/\./g, '\\.')}: held by python3 \\(pid ${child.pid}\\); pass --force`));
    assert.ok(fs.existsSync(`${shm}/${name}`));
    // A symbolic link out of the container's root: the link goes, never what it points to on the host.
    fs.symlinkSync(hostDir, `${shm}/shmi_ct_link`);
    const link = await runCli(['unlink', `ns:${ns}/shmi_ct_link`]);
    assert.strictEqual(link.code, 0, link.stderr);
    assert.match(link.stdout, new RegExp(`unlinked ns:${ns}/shmi_ct_link`));
    assert.ok(!fs.existsSync(`${shm}/shmi_ct_link`));
    assert.strictEqual(fs.readFileSync(path.join(hostDir, 'secret'), 'utf8'), 'host only');
    // Missing names and namespaces; mixed with a posix name in one command.
    const missing = await runCli(['unlink', `ns:${ns}/shmi_ct_none_${process.pid}`]);
    assert.deepStrictEqual([missing.code, /no such segment/.test(missing.stderr)], [1, true]);
    const gone = json<{ outcomes: { name: string; status: string; error: string }[] }>(
      await runCli(['unlink', 'ns:1/x', `shmi_ct_none_${process.pid}`, '--json']).then((r) => ({ ...r, code: 0 })),
    );
    assert.deepStrictEqual(
      gone.outcomes.map((o) => o.status),
      ['missing', 'missing'],
    );
    assert.match(gone.outcomes[0].error, /no process is in mount namespace 1/);
    // The sidebar's Unlink: exactly the listed entry (device and inode), nothing that took its name since.
    fs.writeFileSync(`${shm}/${orphan}`, 'first');
    const listed = (await listContainers({ only: ns })).groups[0].segments.find((x) => x.name === `ns:${ns}/${orphan}`)!;
    fs.renameSync(`${shm}/${orphan}`, `${shm}/${orphan}.old`);
    fs.writeFileSync(`${shm}/${orphan}`, 'second');
    const [swapped] = await unlinkContainerSegments([{ name: listed.name, dev: listed.dev, ino: listed.ino }]);
    assert.deepStrictEqual([swapped.name, swapped.status], [`ns:${ns}/${orphan}`, 'failed']);
    assert.match(swapped.error ?? '', /replaced by a different file since it was listed; left alone/);
    assert.strictEqual(fs.readFileSync(`${shm}/${orphan}`, 'utf8'), 'second');
    const old = (await listContainers({ only: ns })).groups[0].segments.find((x) => x.name === `ns:${ns}/${orphan}.old`)!;
    const [ok] = await unlinkContainerSegments([{ name: old.name, dev: old.dev, ino: old.ino }]);
    assert.strictEqual(ok.status, 'removed');
    fs.unlinkSync(`${shm}/${orphan}`);
  });

  it("without the privilege to enter a namespace's root, says so and counts it", async () => {
    const r = await runCli(['list', '--kind', 'container', '--json'], {
      as: ['--bounding-set', '-sys_ptrace,-dac_read_search,-dac_override,-sys_admin', '--inh-caps', '-all'],
    });
    const doc = json<{ containers: { namespace: { id: number } }[]; containersUnreadable: { id: number; error: string }[] }>(r);
    // Root without CAP_SYS_PTRACE may not follow another process's /proc/PID/root.
    const u = doc.containersUnreadable.find((x) => x.id === ns);
    assert.ok(u || !doc.containers.some((x) => x.namespace.id === ns), JSON.stringify(doc.containersUnreadable));
    if (u) assert.match(u.error, /ermission denied|not permitted/);
  });
});
