/**
 * What every e2e suite does in the real workbench: start code-server with the
 * extension, drive Chromium, answer quick inputs, find preview webviews, and save
 * screenshots (test-results/screenshots/, and one per failed test).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { chromium, type Browser, type Frame, type Locator, type Page } from 'playwright-core';
import { chromiumOptions, ROOT, startCodeServer, workbenchUrl, type CodeServer } from '../harness/code-server';

export const SHOTS = path.join(ROOT, process.env.SHM_RESULTS ?? 'test-results', 'screenshots');

export async function shot(page: Page, name: string): Promise<void> {
  fs.mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`) });
}

export interface Workbench {
  server: CodeServer;
  browser: Browser;
  page: Page;
  /** This suite's scratch folder (removed by close). */
  scratch: string;
  workspace: string;
  close(): Promise<void>;
}

/** Starts code-server with the extension from this repository and opens its workbench in headless Chromium. */
export async function openWorkbench(
  prefix: string,
  settings: Record<string, unknown> = {},
  /** Fills the workspace folder before the workbench opens (the Explorer lists what is there then). */
  prepare?: (workspace: string) => void,
): Promise<Workbench> {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), `shmi-e2e-${prefix}-`));
  const workspace = path.join(scratch, 'workspace');
  fs.mkdirSync(workspace);
  prepare?.(workspace);
  const server = await startCodeServer({
    userDataDir: path.join(scratch, 'user-data'),
    extensionsDir: path.join(scratch, 'extensions'),
    folder: workspace,
    settings,
  });
  const browser = await chromium.launch(chromiumOptions());
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  await page.goto(workbenchUrl(server.base, { folder: workspace, extensionPath: ROOT }));
  await page.waitForSelector('.monaco-workbench', { timeout: 60_000 });
  return {
    server,
    browser,
    page,
    scratch,
    workspace,
    async close() {
      await browser.close().catch(() => undefined);
      server.stop();
      fs.rmSync(scratch, { recursive: true, force: true });
    },
  };
}

/** Opens the Shared Memory view and waits for the tree (or its welcome content, on an empty /dev/shm). */
export async function openSharedMemoryView(page: Page): Promise<void> {
  await page.getByRole('tab', { name: /Shared Memory/ }).click();
  await page.locator('.part.sidebar .monaco-list:visible, .part.sidebar .welcome-view:visible').first().waitFor();
}

/** Expands or collapses the Shared Memory view's panes by name (`{ Segments: false, Processes: true }`), a few clicks at most. */
export async function setPanes(page: Page, panes: Record<string, boolean>): Promise<void> {
  for (const [name, expanded] of Object.entries(panes)) {
    const header = page.locator('.part.sidebar .pane-header', { hasText: new RegExp(`^${name}`, 'i') }).first();
    for (let i = 0; i < 3 && (await header.getAttribute('aria-expanded')) !== String(expanded); i++) {
      await header.locator('h3').click();
      await page.waitForTimeout(300);
    }
  }
}

/** Saves a screenshot named after the test when it failed (use in afterEach). */
export async function shotIfFailed(page: Page | undefined, test: Mocha.Test | undefined, prefix: string): Promise<void> {
  if (test?.state === 'failed' && page) {
    await shot(page, `failed-${prefix}-${test.title.replace(/[^a-z0-9]+/gi, '-').slice(0, 50)}`).catch(() => undefined);
  }
}

/**
 * Moves keyboard focus to the workbench (out of a webview, which keeps F1 to itself): a click on
 * the empty bottom of the sidebar (with Quick Look shown, that is its webview: see quicklook.test.ts).
 */
export async function focusWorkbench(page: Page): Promise<void> {
  // The sidebar's title label: it does nothing on a click, and the click takes the keyboard out of a
  // webview. (Not the sidebar's bottom: when the Processes view fills it, a row is there, and its
  // click opens the row and takes the focus from a palette opened meanwhile.)
  const title = page.locator('.part.sidebar > .composite.title .title-label').first();
  const box = (await title.boundingBox().catch(() => null)) ?? (await page.locator('.part.sidebar').boundingBox());
  if (box) await page.mouse.click(box.x + Math.min(box.width / 2, 40), box.y + Math.min(box.height / 2, 10));
}

/** Keyboard focus to the workbench when Quick Look is shown (the sidebar's bottom is its webview): a click on the empty end of the segment list. */
export async function focusSegmentList(page: Page): Promise<void> {
  const box = await page.locator('.part.sidebar .monaco-list').first().boundingBox();
  if (box) await page.mouse.click(box.x + box.width / 2, box.y + box.height - 6);
}

/** Answers the open input box (waiting until it is there, so no keystroke is lost). */
export async function answerInput(page: Page, text: string): Promise<void> {
  const input = page.locator('.quick-input-widget .quick-input-box input');
  await input.waitFor({ state: 'visible' });
  await input.fill(text);
  await page.keyboard.press('Enter');
  await input.waitFor({ state: 'hidden' });
}

/** Waits for the quick input step whose title contains `title`, types `text`, presses Enter. */
export async function answerStep(page: Page, title: string | RegExp, text: string): Promise<void> {
  await page.locator('.quick-input-widget .quick-input-title', { hasText: title }).waitFor({ state: 'visible' });
  const input = page.locator('.quick-input-widget .quick-input-box input');
  await input.fill(text);
  await page.waitForTimeout(150);
  await page.keyboard.press('Enter');
}

/** Runs a command from the palette by its full title (`focus` first moves keyboard focus out of any webview). */
export async function runCommand(page: Page, title: string, focus: (page: Page) => Promise<void> = focusWorkbench): Promise<void> {
  const input = page.locator('.quick-input-widget .quick-input-box input');
  const row = page.locator('.quick-input-widget .quick-input-list .monaco-list-row', { hasText: title }).first();
  // The palette closes when focus leaves it (a webview that takes focus back, a notification): then
  // the row is there but hidden, and Enter would go elsewhere. Open it again rather than press blind.
  for (let attempt = 1; ; attempt++) {
    await focus(page);
    await page.keyboard.press('F1');
    try {
      await input.waitFor({ state: 'visible', timeout: 5000 });
      await input.fill(`>${title}`, { timeout: 5000 });
      await row.waitFor({ state: 'visible', timeout: 10_000 });
      if (!(await input.evaluate((el) => el === (el.ownerDocument as { activeElement: unknown }).activeElement)))
        throw new Error('the command palette lost the focus');
      await page.keyboard.press('Enter');
      return;
    } catch (e) {
      if (attempt >= 3) throw e;
      await page.keyboard.press('Escape');
    }
  }
}

/**
 * Right-clicks a tree row and picks a context menu item (VS Code's menus ignore a click that lands at
 * once: hover, then Enter). A redraw between the right-click and the pick closes the menu, and Enter
 * would then open the focused row: the pick is tried again, as a user would, until `done` sees its effect.
 */
export async function contextMenu(page: Page, rowText: string, item: string, done?: (ms: number) => Promise<unknown>): Promise<void> {
  const row = page.locator('.part.sidebar .monaco-list-row', { hasText: rowText });
  const entry = page.getByRole('menuitem', { name: item });
  for (let attempt = 1; ; attempt++) {
    await whenStill(page, row);
    await row.first().click({ button: 'right' });
    try {
      await entry.hover({ timeout: 5000 });
      await page.waitForTimeout(300);
      if (!(await entry.isVisible())) throw new Error(`the menu closed before "${item}" was picked`);
      await page.keyboard.press('Enter');
      if (done) await done(attempt < 3 ? 10_000 : 30_000);
      return;
    } catch (e) {
      if (attempt >= 3) throw e;
      await page.keyboard.press('Escape');
    }
  }
}

/** Runs "SHM Inspector: Preview Segment" from the palette, picks `name`, and waits for its exact picture. */
export async function previewFromPalette(page: Page, name: string, ms = 30_000): Promise<Frame> {
  await pickInPreviewPalette(page, name);
  await page.keyboard.press('Enter');
  const frame = await heatmapFrame(page, name, ms);
  await frame.waitForSelector('body[data-state="exact"]', { timeout: ms });
  return frame;
}

/**
 * Opens Preview Segment's picker, types `name` and waits for its row, highlighted and not yet chosen. The picker
 * closes when something takes the focus from it (as the palette does): then it is opened again.
 */
export async function pickInPreviewPalette(page: Page, name: string): Promise<Locator> {
  const input = page.getByPlaceholder('Segment to preview');
  const listed = page.locator('.quick-input-widget .quick-input-list .monaco-list-row', { hasText: name }).first();
  for (let attempt = 1; ; attempt++) {
    await runCommand(page, 'SHM Inspector: Preview Segment');
    try {
      await input.waitFor({ state: 'visible', timeout: 10_000 });
      await input.fill(name, { timeout: 5000 });
      await listed.waitFor({ state: 'visible', timeout: 20_000 });
      if (!(await input.evaluate((el) => el === (el.ownerDocument as { activeElement: unknown }).activeElement))) throw new Error('the picker lost the focus');
      return listed;
    } catch (e) {
      if (attempt >= 3) throw e;
      await page.keyboard.press('Escape');
    }
  }
}

/** The webview frame of a preview editor that shows `title` (webviews are nested iframes; Quick Look's is not one). */
export function heatmapFrame(page: Page, title: string, ms = 30_000): Promise<Frame> {
  return viewerFrame(page, title, false, ms);
}

/** The Quick Look view's webview frame, once it shows `title` (or its placeholder). */
export function quickLookFrame(page: Page, title: string | RegExp, ms = 30_000): Promise<Frame> {
  return viewerFrame(page, title, true, ms);
}

async function viewerFrame(page: Page, title: string | RegExp, compact: boolean, ms: number): Promise<Frame> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    for (const f of page.frames()) {
      try {
        const t = await f.$eval('#title', (el) => el.textContent ?? '');
        if (!(typeof title === 'string' ? t === title : title.test(t)) || !(await f.$('#heatmap'))) continue;
        if ((await f.$eval('body', (b) => b.getAttribute('data-layout') === 'compact')) === compact) return f;
      } catch {
        // detached or not ours
      }
    }
    await page.waitForTimeout(200);
  }
  throw new Error(`no ${compact ? 'Quick Look' : 'preview'} webview showing ${title}`);
}

/** Hovers `row` until `hover` shows (a hover that opened elsewhere first is moved away from; five tries). */
export async function hoverUntil(page: Page, row: Locator, hover: Locator): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    await page.mouse.move(900, 600);
    await row.hover();
    try {
      await hover.waitFor({ timeout: 3000 });
      return;
    } catch (e) {
      if (attempt >= 4) throw e;
    }
  }
}

/**
 * Waits until `loc` is visible and its box has not moved for `quietMs`. The tree redraws whenever a
 * scan lands (other suites share /dev/shm), and a click computed before a redraw lands on whatever
 * moved under it.
 */
export async function whenStill(page: Page, loc: Locator, quietMs = 500, ms = 30_000): Promise<void> {
  const target = loc.first();
  await target.waitFor({ state: 'visible', timeout: ms });
  const deadline = Date.now() + ms;
  let last = '';
  let since = Date.now();
  while (Date.now() < deadline) {
    const key = JSON.stringify(await target.boundingBox({ timeout: 1000 }).catch(() => null));
    if (key === 'null' || key !== last) {
      last = key;
      since = Date.now();
    } else if (Date.now() - since >= quietMs) return;
    await page.waitForTimeout(100);
  }
  throw new Error(`${String(loc)} did not stop moving in ${ms} ms`);
}

/**
 * Clicks a tree row once it is still, then waits for what the click does (`done`, given how long
 * it may wait); three tries. The product opens a row clicked during a redraw (sidebar/opened.ts, and
 * sidebar.test.ts clicks once under a churning producer); this repeats a click only for a row that
 * moved under the pointer between Playwright's check and its click.
 */
export async function clickUntil<T>(
  page: Page,
  loc: Locator,
  done: (ms: number) => Promise<T>,
  options: { position?: { x: number; y: number }; tries?: number; ms?: number } = {},
): Promise<T> {
  const tries = options.tries ?? 3;
  for (let attempt = 1; ; attempt++) {
    await whenStill(page, loc);
    try {
      // A row's hover (a table of facts under the row hovered last) can lie over the row to click.
      await loc.first().click({ ...(options.position ? { position: options.position } : {}), timeout: 5000 });
      return await done(attempt < tries ? 10_000 : (options.ms ?? 30_000));
    } catch (e) {
      if (attempt >= tries) throw e;
      await page.keyboard.press('Escape');
      await page.mouse.move(5, 5);
    }
  }
}

/** Expands a tree row (clicking its twistie again if a redraw swallowed the click) until VS Code says it is expanded. */
export async function expandRow(page: Page, row: Locator): Promise<void> {
  await whenStill(page, row);
  if ((await row.first().getAttribute('aria-expanded')) === 'true') return;
  await clickUntil(page, row.first().locator('.monaco-tl-twistie'), async (ms) => {
    const deadline = Date.now() + Math.min(ms, 5000);
    while ((await row.first().getAttribute('aria-expanded')) !== 'true') {
      if (Date.now() > deadline) throw new Error(`${String(row)} did not expand`);
      await page.waitForTimeout(100);
    }
  });
}
