/**
 * Containers' shared memory (issue #15): the tmpfs at /dev/shm (or the configured directory) of
 * every other mount namespace, reached through /proc/PID/root of a process in it and resolved
 * inside that root (native openInRoot: openat2 RESOLVE_IN_ROOT, so neither `..` nor a symbolic
 * link leads out of it). One group per tmpfs, told apart by its device (one pod's containers
 * share one; a namespace that sees the host's own /dev/shm adds nothing), named from the cgroup
 * of its first process (a Docker container id, a Kubernetes pod uid, a systemd unit) or else that
 * PID. Its segments are listed and decoded by the catalog like any other (through
 * /proc/self/fd/DIRFD: every entry is opened relative to that folder, never following a link),
 * holders matched on device and inode across namespaces, and named `ns:NS/NAME` (docs/cli.md).
 *
 * No `vscode` import: the CLI, the UI and the tests all call this.
 */
import * as fs from 'fs';
import { DEFAULT_DIR, inspectSegment, listCatalog, UsageError } from '../catalog';
import { escapeText } from '../names';
import type { Segment } from '../types';
import { openInRoot, tryNative } from '../../native';

/** The namespace a container segment is in (`namespace` of the segment object). */
export interface ContainerNamespace {
  /** The mount namespace's inode (`NS` of `ns:NS/NAME`). */
  id: number;
  /** Docker container id (12 hex digits), `pod UID`, a systemd unit, or `pid N`. */
  name: string;
  /** What `name` was read from: `docker`, `containerd`, `cri-o`, `podman`, `kubernetes`, `unit` or `pid`. */
  source: string;
  /** The full container id or pod uid, when the cgroup names one. */
  containerId: string | null;
  /** The process it was reached through (its lowest PID here) and how many processes it has. */
  pid: number;
  processes: number;
}

export type ContainerSegment = Omit<Segment, 'path'> & { kind: 'container'; path: null; namespace: ContainerNamespace };

/** One container's /dev/shm: its tmpfs (device), its usage and its segments. */
export interface ContainerGroup {
  namespace: ContainerNamespace;
  /** The directory inside the namespace (`/dev/shm`). */
  path: string;
  dev: number;
  size: number;
  used: number;
  free: number;
  /** Other mount namespaces that see this same tmpfs (one pod's containers). */
  sharedWith: number[];
  segments: ContainerSegment[];
}

export interface ContainerScan {
  groups: ContainerGroup[];
  /** Namespaces whose /proc/PID/root or mountinfo this process may not read (counted, with why). */
  unreadable: { id: number; pid: number; error: string }[];
  /** Processes whose mount namespace could not even be read (another user's, unprivileged). */
  hiddenProcesses: number;
}

const NS_LINK = /\[(\d+)\]/;

async function nsOf(pid: number | 'self', kind: 'mnt' | 'ipc'): Promise<number | null> {
  try {
    const m = NS_LINK.exec(await fs.promises.readlink(`/proc/${pid}/ns/${kind}`));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** Every process's namespace of `kind` (PIDs ascending per namespace), our own, and how many could not be read. */
export async function namespacesOf(kind: 'mnt' | 'ipc'): Promise<{ own: number | null; byNs: Map<number, number[]>; hidden: number }> {
  const pids = (await fs.promises.readdir('/proc'))
    .filter((n) => /^\d+$/.test(n))
    .map(Number)
    .sort((a, b) => a - b);
  const [own, nss] = await Promise.all([nsOf('self', kind), Promise.all(pids.map((p) => nsOf(p, kind)))]);
  const byNs = new Map<number, number[]>();
  let hidden = 0;
  pids.forEach((p, i) => {
    const ns = nss[i];
    if (ns === null) {
      // Gone meanwhile, a kernel thread, or not ours to read: a kernel thread shares init's namespaces.
      if (fs.existsSync(`/proc/${p}`)) hidden++;
      return;
    }
    let l = byNs.get(ns);
    if (!l) byNs.set(ns, (l = []));
    l.push(p);
  });
  return { own, byNs, hidden };
}

/** A container's name from /proc/PID/cgroup (docs/cli.md: the Docker id, the pod uid, the unit), else `pid N`. */
export function nameFromCgroup(text: string, pid: number): { name: string; source: string; containerId: string | null } {
  const paths = text
    .split('\n')
    .map((l) => l.slice(l.indexOf(':', l.indexOf(':') + 1) + 1))
    .filter((p) => p.length > 1);
  const find = (re: RegExp) => {
    for (const p of paths) {
      const m = re.exec(p);
      if (m) return m;
    }
    return null;
  };
  const pod = find(/kubepods[^/]*\/(?:[^/]*\/)?(?:kubepods-[a-z]+-)?pod([0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12})/);
  if (pod) {
    const uid = pod[1].replace(/_/g, '-');
    return { name: `pod ${uid}`, source: 'kubernetes', containerId: uid };
  }
  const runtimes: [RegExp, string][] = [
    [/(?:^|\/)docker-([0-9a-f]{64})\.scope(?:\/|$)|\/docker\/([0-9a-f]{64})(?:\/|$)/, 'docker'],
    [/(?:^|\/)cri-containerd-([0-9a-f]{64})\.scope(?:\/|$)|\/containerd\/([0-9a-f]{64})(?:\/|$)/, 'containerd'],
    [/(?:^|\/)crio-([0-9a-f]{64})(?:\.scope)?(?:\/|$)/, 'cri-o'],
    [/(?:^|\/)libpod-([0-9a-f]{64})(?:\.scope)?(?:\/|$)/, 'podman'],
  ];
  for (const [re, source] of runtimes) {
    const m = find(re);
    if (m) {
      const id = m[1] ?? m[2];
      return { name: `${source} ${id.slice(0, 12)}`, source, containerId: id };
    }
  }
  const unit = find(/([^/]+\.(?:scope|service))(?:\/[^/]*)?$/);
  if (unit) return { name: unit[1], source: 'unit', containerId: null };
  return { name: `pid ${pid}`, source: 'pid', containerId: null };
}

async function namespaceOf(id: number, pids: number[]): Promise<ContainerNamespace> {
  const pid = pids[0];
  const text = await fs.promises.readFile(`/proc/${pid}/cgroup`, 'utf8').catch(() => '');
  return { id, ...nameFromCgroup(text, pid), pid, processes: pids.length };
}

/** `ns:NS/NAME` to the namespace and the name inside its directory; null when NAME is not of this form. */
export function parseContainerName(name: string): { ns: number; rel: string } | null {
  const m = /^ns:([^/]*)\/(.*)$/s.exec(name);
  if (!m) {
    if (name.startsWith('ns:')) throw new UsageError(`'${name}' is not a container segment name (ns:NS/NAME)`);
    return null;
  }
  if (!/^\d+$/.test(m[1]) || m[2] === '') throw new UsageError(`'${name}' is not a container segment name (ns:NS/NAME, NS the mount namespace's number)`);
  return { ns: Number(m[1]), rel: m[2] };
}

/** The segment object of a container's entry: named `ns:NS/NAME`, `path` null, its path inside the namespace in details. */
function asContainerSegment(s: Segment, ns: ContainerNamespace, dirInNs: string, fdDir: string): ContainerSegment {
  const inside = s.path.startsWith(fdDir + '/') ? dirInNs + s.path.slice(fdDir.length) : s.path;
  const out = { kind: 'container' as const, ...s, name: `ns:${ns.id}/${s.name}`, path: null, namespace: ns } as ContainerSegment;
  if (out.nameBytes !== undefined) out.nameBytes = Buffer.concat([Buffer.from(`ns:${ns.id}/`), Buffer.from(s.nameBytes!, 'hex')]).toString('hex');
  out.details = { ...(s.details ?? {}), pathInNamespace: inside };
  if (s.children) out.children = s.children.map((c) => asContainerSegment(c, ns, dirInNs, fdDir) as unknown as Segment);
  return out;
}

/** The folder `dir` inside the namespace of `pid`, opened inside its root; null when it is not there. */
export async function openShmDir(pid: number, dir: string): Promise<{ fd: number; dev: number } | null> {
  try {
    const o = await openInRoot(`/proc/${pid}/root`, dir, true);
    return { fd: o.fd, dev: o.dev };
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw e;
  }
}

export interface ContainerListOptions {
  /** The directory inside each namespace (default /dev/shm). */
  dir?: string;
  /** Only this mount namespace. */
  only?: number;
  /** Look up holders (default true). */
  holders?: boolean;
}

/**
 * Every other mount namespace's /dev/shm tmpfs with its segments. Namespaces whose root cannot be
 * opened (another user's process without CAP_SYS_PTRACE, a process gone mid-scan) are counted in
 * `unreadable` with the reason; one whose process exits mid-scan is tried through its next process.
 */
export async function listContainers(opts: ContainerListOptions = {}): Promise<ContainerScan> {
  const out: ContainerScan = { groups: [], unreadable: [], hiddenProcesses: 0 };
  if (tryNative() === null) return out;
  const dir = opts.dir ?? DEFAULT_DIR;
  const { own, byNs, hidden } = await namespacesOf('mnt');
  out.hiddenProcesses = hidden;
  const hostDev = await fs.promises.stat(dir).then(
    (s) => s.dev,
    () => -1,
  );
  const byDev = new Map<number, ContainerGroup>();
  const jobs = [...byNs].filter(([ns]) => ns !== own && (opts.only === undefined || ns === opts.only));
  await Promise.all(
    jobs.map(async ([ns, pids]) => {
      let opened: { fd: number; dev: number } | null = null;
      let pid = -1;
      let error = '';
      // Its first process may exit mid-scan: the next one reaches the same namespace.
      for (const p of pids.slice(0, 4)) {
        try {
          opened = await openShmDir(p, dir);
          pid = p;
          if (opened) break;
          return; // no such folder in this namespace
        } catch (e) {
          error = (e as Error).message;
          if ((e as { code?: string }).code === 'EACCES' || (e as { code?: string }).code === 'EPERM') break;
        }
      }
      if (!opened) {
        out.unreadable.push({ id: ns, pid: pids[0], error: error || 'its processes exited' });
        return;
      }
      try {
        if (opened.dev === hostDev) return; // the host's own /dev/shm (--ipc=host, a bind mount): listed as posix
        const known = byDev.get(opened.dev);
        if (known) {
          known.sharedWith.push(ns);
          return;
        }
        const namespace = await namespaceOf(
          ns,
          pids.filter((p) => p >= pid),
        );
        const group: ContainerGroup = { namespace, path: dir, dev: opened.dev, size: 0, used: 0, free: 0, sharedWith: [], segments: [] };
        byDev.set(opened.dev, group);
        const fdDir = `/proc/self/fd/${opened.fd}`;
        const cat = await listCatalog({ dirs: [fdDir], holders: opts.holders, interpretations: false });
        const usage = cat.directories[0];
        if (usage) Object.assign(group, { size: usage.size, used: usage.used, free: usage.free });
        group.segments = cat.segments.map((s) => asContainerSegment(s, namespace, escapeText(dir), fdDir));
      } catch (e) {
        out.unreadable.push({ id: ns, pid, error: (e as Error).message });
      } finally {
        fs.closeSync(opened.fd);
      }
    }),
  );
  // Two namespaces that see one tmpfs: the group keeps the one listed first (lowest inode).
  out.groups = [...byDev.values()].sort((a, b) => a.namespace.id - b.namespace.id);
  for (const g of out.groups) g.sharedWith.sort((a, b) => a - b);
  out.unreadable.sort((a, b) => a.id - b.id);
  return out;
}

/** One container segment by name (`ns:NS/NAME`); null when there is none. */
export async function inspectContainerSegment(name: string, opts: { dir?: string; holders?: boolean } = {}): Promise<ContainerSegment | null> {
  const p = parseContainerName(name);
  if (!p) return null;
  const dir = opts.dir ?? DEFAULT_DIR;
  const { byNs } = await namespacesOf('mnt');
  const pids = byNs.get(p.ns);
  if (!pids) return null;
  for (const pid of pids.slice(0, 4)) {
    let opened: { fd: number; dev: number } | null;
    try {
      opened = await openShmDir(pid, dir);
    } catch (e) {
      if ((e as { code?: string }).code === 'ENOENT' || (e as { code?: string }).code === 'ESRCH') continue;
      throw e;
    }
    if (!opened) return null;
    try {
      const fdDir = `/proc/self/fd/${opened.fd}`;
      const seg = await inspectSegment(p.rel, { dirs: [fdDir], holders: opts.holders, interpretations: false });
      if (!seg) return null;
      const namespace = await namespaceOf(
        p.ns,
        pids.filter((x) => x >= pid),
      );
      return asContainerSegment(seg, namespace, escapeText(dir), fdDir);
    } finally {
      fs.closeSync(opened.fd);
    }
  }
  return null;
}

/**
 * Where to read a container segment from this namespace: /proc/PID/root and its path inside.
 * Readers open it there only as the (dev, ino) that was listed (openView's `expect`; persist's
 * check), so a symbolic link swapped in on the way reaches another file and is refused.
 */
export function containerReadPath(s: ContainerSegment): string {
  return `/proc/${s.namespace.pid}/root${String(s.details?.pathInNamespace ?? '')}`;
}
