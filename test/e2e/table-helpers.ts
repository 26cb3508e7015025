/** The table viewer's frame and cells as the e2e tests read them (webviews are nested iframes). */
import type { Frame, Page } from 'playwright-core';

// Functions given to $eval/waitForFunction run in the webview; the test build has no DOM types.
declare const document: any;

/** The table viewer's frame that shows `title`. */
export async function tableFrame(page: Page, title: string, ms = 30_000): Promise<Frame> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    for (const f of page.frames()) {
      try {
        if ((await f.$eval('#title', (el) => el.textContent ?? '')) === title && (await f.$('#scroller'))) return f;
      } catch {
        // detached or not ours
      }
    }
    await page.waitForTimeout(200);
  }
  throw new Error(`no table viewer showing ${title}`);
}

/** Waits until the grid has drawn every visible cell with rows from `first` on. */
export async function drawn(frame: Frame, first?: number): Promise<void> {
  await frame.waitForFunction(
    (f: number | null) => document.body.dataset.pending === '0' && (f === null || document.body.dataset.first === String(f)),
    first ?? null,
    { timeout: 30_000 },
  );
}

/** The text, class and hover of cell (r, c) as drawn. */
export function cellAt(frame: Frame, r: number, c: number): Promise<{ text: string; cls: string; title: string } | null> {
  return frame.$eval(
    '#rows',
    (rows: any, a: number[]) => {
      const d = rows.querySelector(`.cell[data-row="${a[0]}"][data-col="${a[1]}"]`);
      return d ? { text: d.textContent, cls: d.className, title: d.title } : null;
    },
    [r, c],
  );
}
