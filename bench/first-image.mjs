// Benchmark: time from the preview request to the first pixels drawn in the webview, in the
// real workbench (code-server + headless Chromium), on a 16384 x 16384 float32 matrix
// (1 GiB) made by numpy in /dev/shm. Prints figures; not part of npm test.
//
//   node scripts/build.mjs && node bench/first-image.mjs
//
// It runs the opt-in e2e test "the matrix viewer on a 1 GiB matrix" (test/e2e/viewer.test.ts,
// SHM_VIEWER_BIG=1), which previews the matrix from the command palette 3 times in a new
// panel and 3 times in the running panel of another segment (reused, as VS Code reuses its
// preview editors), then 3 times in Quick Look (a click on the row), and reads the webview's own timestamps (host clock at the request, webview
// clock at each step: both are this machine's Date.now()). Its segments have unique names and
// are removed when it ends.
import { loadavg } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runTimingTest } from './common.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
console.log(
  `load average before: ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')} (2-core machine)`,
);
const lines = runTimingTest(root, { SHM_VIEWER_BIG: '1', SHM_TEST_LEVELS: 'e2e', SHM_TEST_GREP: '1 GiB matrix' }, 'viewer-timing.txt');
for (const l of lines) console.log(l);
const firstPixels = (kind) => lines.filter((l) => l.startsWith(kind)).map((l) => Number(/first pixels (\d+) ms/.exec(l)?.[1]));
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
for (const kind of ['new panel', 'reused panel', 'Quick Look']) {
  const xs = firstPixels(kind);
  console.log(`${kind}: first pixels ${xs.join(' / ')} ms (median ${median(xs)} ms; target 100 ms: ${median(xs) <= 100 ? 'met' : 'MISSED'})`);
}
console.log(
  `load average after: ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}`,
);
