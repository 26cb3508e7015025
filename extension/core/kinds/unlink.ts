/**
 * `unlink ns:NS/NAME` (issue #15): removes a file of another mount namespace's /dev/shm (a
 * container's) by the rules of the plain `unlink` (core/manage/remove.ts: never following a
 * symbolic link, the race-safe rename, check, unlink of the very inode found; a held one only
 * with `force`, holders matched across namespaces by device and inode). The folder is opened
 * inside the container's root (openat2 RESOLVE_IN_ROOT, through /proc/PID/root of one of its
 * processes) and must be a tmpfs of its own (not this host's /dev/shm), the one listed when a
 * device is given. A name planned with its device and inode (the sidebar's row) whose file is
 * another inode now is left alone.
 *
 * No `vscode` import: the CLI, the UI and the tests all call this.
 */
import * as fs from 'fs';
import { DEFAULT_DIR } from '../catalog';
import type { PlannedName, UnlinkOutcome } from '../manage/api';
import { unlinkSegments } from '../manage/remove';
import { namespacesOf, openShmDir, parseContainerName } from './containers';

/** A container's entry to unlink: its name (`ns:NS/NAME`), and the device and inode it was listed with, when it was. */
export type ContainerName = string | PlannedName;

const nameOf = (n: ContainerName) => (typeof n === 'string' ? n : n.name);

/** A planned name (and its planned entries, for a folder) as named inside its namespace: without `ns:NS/`. */
function inNamespace(n: PlannedName, prefix: string): PlannedName {
  return {
    name: n.name.startsWith(prefix) ? n.name.slice(prefix.length) : n.name,
    dev: n.dev,
    ino: n.ino,
    children: n.children ? n.children.map((c) => inNamespace(c, prefix)) : n.children,
  };
}

/**
 * Unlinks containers' entries; one outcome per name, in the order given (names `ns:NS/NAME`).
 * `dir`: the folder inside each namespace (default /dev/shm).
 */
export async function unlinkContainerSegments(names: ContainerName[], opts: { force?: boolean; dir?: string } = {}): Promise<UnlinkOutcome[]> {
  const dir = opts.dir ?? DEFAULT_DIR;
  const none = { bytes: 0, pendingBytes: 0, holders: [] };
  const out: UnlinkOutcome[] = names.map((n) => ({ name: nameOf(n), status: 'failed', error: 'not tried', ...none }));
  const byNs = new Map<number, { at: number; rel: ContainerName }[]>();
  names.forEach((n, at) => {
    const p = parseContainerName(nameOf(n))!;
    const rel: ContainerName = typeof n === 'string' ? p.rel : inNamespace(n, `ns:${p.ns}/`);
    let l = byNs.get(p.ns);
    if (!l) byNs.set(p.ns, (l = []));
    l.push({ at, rel });
  });
  const { byNs: pidsByNs, own } = await namespacesOf('mnt');
  const hostDev = await fs.promises.stat(dir).then(
    (s) => s.dev,
    () => -1,
  );
  for (const [ns, items] of byNs) {
    const fail = (status: UnlinkOutcome['status'], error: string) => {
      for (const { at } of items) out[at] = { ...out[at], status, error };
    };
    const pids = pidsByNs.get(ns);
    if (ns === own) {
      fail('failed', `mount namespace ${ns} is this process's own: unlink the file by its name`);
      continue;
    }
    if (!pids) {
      fail('missing', `no process is in mount namespace ${ns} any more (its container is gone)`);
      continue;
    }
    // Its first process may exit meanwhile: the next one reaches the same namespace.
    let opened: { fd: number; dev: number } | null = null;
    let error = '';
    for (const pid of pids.slice(0, 4)) {
      try {
        opened = await openShmDir(pid, dir);
        if (!opened) error = `mount namespace ${ns} has no ${dir}`;
        break;
      } catch (e) {
        error = `mount namespace ${ns} could not be entered: ${(e as Error).message}`;
        const code = (e as { code?: string }).code;
        if (code === 'EACCES' || code === 'EPERM') break;
      }
    }
    if (!opened) {
      fail('failed', error || `mount namespace ${ns}: its processes exited`);
      continue;
    }
    try {
      const listedDevs = new Set(items.flatMap(({ rel }) => (typeof rel === 'string' ? [] : [rel.dev])));
      if (opened.dev === hostDev) {
        fail('failed', `mount namespace ${ns} sees this host's ${dir}: unlink the file by its name`);
        continue;
      }
      if (listedDevs.size > 0 && !listedDevs.has(opened.dev)) {
        fail('failed', `its ${dir} is another file system than the one listed; left alone`);
        continue;
      }
      const r = await unlinkSegments({ dir: `/proc/self/fd/${opened.fd}`, names: items.map((x) => x.rel), force: opts.force });
      r.forEach((o, i) => (out[items[i].at] = { ...o, name: `ns:${ns}/${o.name}` }));
    } finally {
      fs.closeSync(opened.fd);
    }
  }
  return out;
}
