import type { Producer } from './types';

/** Who made a segment, as far as its name tells (docs/cli.md values). */
export function producerOf(name: string): Producer {
  const base = name.includes('/') ? name.slice(0, name.indexOf('/')) : name;
  if (base.startsWith('psm_')) return 'python-shared-memory';
  if (base.startsWith('pym-')) return 'python-heap';
  if (base.startsWith('torch_')) return 'torch';
  if (base.startsWith('joblib_memmapping_folder_') || base.startsWith('joblib_')) return 'joblib';
  if (base.startsWith('sem.')) return 'semaphore';
  if (base.startsWith('plasma')) return 'plasma';
  return null;
}
