/**
 * One scan of every kind of shared memory (issue #15): the listed directories' catalog, System V
 * segments of this IPC namespace and of the others, memfd regions and shared anonymous memory, and
 * containers' /dev/shm, read concurrently and returned together, once the slowest is done. The
 * Segments view takes the whole result at once, so it never shows one kind of a new scan beside
 * another kind of the previous one (or half of the groups). A kind that cannot be read is empty
 * (the catalog's own failure is `catalogError`); the others still come.
 *
 * No `vscode` import: the tree (sidebar/tree.ts) and the tests call this.
 */
import { listCatalog } from '../catalog';
import { listSysv, type SysvSegment } from '../sysv';
import type { Catalog } from '../types';
import { listContainers, type ContainerScan } from './containers';
import { listForeignSysv, type IpcNamespaceScan } from './ipcns';
import { listMemSegments, type MemSegment } from './memfd';

export interface FullScan {
  catalog: Catalog | null;
  /** Why the catalog could not be listed (then `catalog` is null), as thrown. */
  catalogError: unknown;
  sysv: SysvSegment[];
  foreignSysv: IpcNamespaceScan;
  mem: MemSegment[];
  containers: ContainerScan | null;
}

export async function scanEverything(dirs: string[]): Promise<FullScan> {
  let catalogError: unknown = null;
  const [catalog, sysv, foreignSysv, mem, containers] = await Promise.all([
    listCatalog({ dirs }).catch((e: unknown) => {
      catalogError = e;
      return null;
    }),
    listSysv().catch((): SysvSegment[] => []),
    listForeignSysv().catch((): IpcNamespaceScan => ({ segments: [], namespaces: [], unreadable: [] })),
    listMemSegments().catch((): MemSegment[] => []),
    listContainers().catch(() => null),
  ]);
  return { catalog, catalogError, sysv, foreignSysv, mem, containers };
}
