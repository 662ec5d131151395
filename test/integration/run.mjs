#!/usr/bin/env node
// Integration tests in a real VS Code (code-server 4.100.3, driven by Playwright and Debian's
// Chromium; recipe in ENVIRONMENT.md):
//   1. package the .vsix and install it into a fresh extensions folder;
//   2. extension tests inside the real extension host (test/integration/suite/index.js);
//   3. a UI test: right-click image files in the Explorer, click "Unlearn Selected Samples".
// code-server runs in its own process group and is stopped by group id, always.
//
//   npm run test:integration            (set UNLEARN_LENS_SKIP_PACKAGE=1 to reuse unlearn-lens.vsix,
//                                        UNLEARN_LENS_TESTS=<regex> to run only the extension tests it matches,
//                                        UNLEARN_LENS_SCREENSHOT_FAILURES=<folder> for a picture of each screenshot step that failed)
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { installCodeServer, installVsix, startCodeServer } from './codeServer.mjs';
import { buildFixtureWorkspace } from './fixtureWorkspace.mjs';
import { captureTruthScreenshots } from './truthScreens.mjs';
import { captureReportScreenshots } from './reportScreens.mjs';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const cache = path.join(repo, '.cache');
const work = path.join(cache, 'integration');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const started = Date.now();
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)} s`;
const step = (what) => console.log(`\n[integration ${elapsed()}] ${what}`);

function packageVsix() {
  const vsix = path.join(repo, 'unlearn-lens.vsix');
  if (process.env.UNLEARN_LENS_SKIP_PACKAGE && fs.existsSync(vsix)) return vsix;
  execFileSync('npm', ['run', 'package'], { cwd: repo, stdio: ['ignore', 'inherit', 'inherit'] });
  return vsix;
}

async function launchBrowser() {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  });
}

/** Runs the extension tests in the extension host; resolves with the exit code the workbench reports. */
async function runExtensionTests(browser, server, folder, extensionDir) {
  const host = `127.0.0.1:${server.port}`;
  const payload = [
    ['extensionDevelopmentPath', `vscode-remote://${host}${extensionDir}`],
    ['extensionTestsPath', `vscode-remote://${host}${path.join(repo, 'test', 'integration', 'suite', 'index.js')}`],
  ];
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  let resolveExit;
  const exited = new Promise((r) => (resolveExit = r));
  await page.exposeFunction('codeAutomationLog', (type, args) => console.log(`  [host ${type}]`, ...(Array.isArray(args) ? args : [args])));
  await page.exposeFunction('codeAutomationExit', (code) => resolveExit(code));
  const url = `http://${host}/?folder=${encodeURIComponent(folder)}&payload=${encodeURIComponent(JSON.stringify(payload))}`;
  await page.goto(url);
  const timeout = new Promise((_, reject) => setTimeout(() => reject(new Error('extension tests did not finish within 8 minutes')), 8 * 60_000));
  try {
    return await Promise.race([exited, timeout]);
  } finally {
    await context.close();
  }
}

/** Waits (10 s at most) for the report's first vscode-table to be upgraded by @vscode-elements (a shadow root). */
async function tableUpgraded(report) {
  await report.locator('vscode-table-cell').first().waitFor({ timeout: 30_000 });
  return report
    .locator('vscode-table')
    .first()
    .evaluate(
      (el) =>
        new Promise((resolve) => {
          const until = Date.now() + 10_000;
          const tick = () => (el.shadowRoot ? resolve(true) : Date.now() > until ? resolve(false) : setTimeout(tick, 200));
          tick();
        }),
    );
}

/** Runs a command from the Command Palette by its title. */
async function runCommand(page, title) {
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ timeout: 10_000 });
  await input.fill(`>${title}`);
  await page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first().click({ timeout: 10_000 });
}

/**
 * Runs `title` from the palette until `ready()` says so (polled every 250 ms for 20 s an attempt);
 * an attempt that showed nothing is retried after Escape, up to `attempts` times. A final failure
 * names what the window showed: the quick input's rows and the notifications.
 */
async function openUntil(page, title, ready, attempts = 3) {
  let seen = '';
  for (let attempt = 1; attempt <= attempts; attempt++) {
    await runCommand(page, title).catch((e) => (seen = `the palette: ${String(e.message ?? e).split('\n')[0]}`));
    const until = Date.now() + 20_000;
    while (Date.now() < until) {
      if (await ready()) return attempt;
      await page.waitForTimeout(250);
    }
    const rows = await page
      .locator('.quick-input-widget:visible .monaco-list-row')
      .allInnerTexts()
      .catch(() => []);
    const toasts = await page
      .locator('.notifications-toasts .notification-list-item')
      .allInnerTexts()
      .catch(() => []);
    const webviews = await page
      .locator('iframe.webview')
      .count()
      .catch(() => -1);
    seen = `${webviews} webview frame(s); quick input rows [${rows.map((r) => r.replace(/\s+/g, ' ')).join(' | ')}]; notifications [${toasts.map((r) => r.replace(/\s+/g, ' ')).join(' | ')}]`;
    const shot = path.join(work, `ui-attempt-${title.replace(/\W+/g, '-')}-${attempt}.png`);
    await page.screenshot({ path: shot }).catch(() => {});
    console.log(`    ("${title}" showed nothing expected in 20 s, attempt ${attempt} of ${attempts}: ${seen}; ${path.relative(repo, shot)})`);
    await page.keyboard.press('Escape');
  }
  throw new Error(`"${title}" never showed what was expected after ${attempts} attempts; the window showed ${seen}`);
}

/** The UI test: select two PNGs in the Explorer (click, shift-click), right-click, "Unlearn Selected Samples". */
async function runUiTest(browser, server, folder, ws) {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  const versions = path.join(ws.dir, 'models', 'fmnist-cnn16.versions');
  const count = () => (fs.existsSync(versions) ? fs.readdirSync(versions).filter((n) => !n.startsWith('.')).length : 0);
  const before = count();
  const browserErrors = [];
  page.on('console', (m) => {
    if (m.type() === 'error') browserErrors.push(`${m.text()} (${m.location().url})`);
  });
  try {
    const opened = Date.now();
    await page.goto(`http://127.0.0.1:${server.port}/?folder=${encodeURIComponent(folder)}`);
    // The status bar item appears once the extension has activated and registered its menus; it
    // names the backend the engine will use (wasm here), never "auto".
    const statusItem = page
      .locator('.statusbar-item', { hasText: 'Unlearn Lens' })
      .or(page.locator('.statusbar-item', { hasText: 'fmnist-cnn16' }))
      .first();
    await statusItem.waitFor({ timeout: 90_000 });
    const statusSeconds = (Date.now() - opened) / 1000;
    await page.locator('.statusbar-item', { hasText: 'fmnist-cnn16' }).first().waitFor({ timeout: 90_000 });
    const statusText = (await page.locator('.statusbar-item', { hasText: 'fmnist-cnn16' }).first().innerText()).trim();
    if (!/· wasm$/.test(statusText) || /auto/.test(statusText)) throw new Error(`status bar: "${statusText}", expected the backend in use (wasm)`);
    console.log(`  ✓ UI: status bar item ${statusSeconds.toFixed(1)} s after the page was opened; it reads "${statusText}"`);
    const explorer = page.locator('.explorer-folders-view');
    await explorer.waitFor({ timeout: 30_000 });
    const row = (name) => explorer.locator(`.monaco-list-row[aria-label^="${name}"]`).first();
    // Each folder is clicked until it shows expanded: a click before the one above has rendered its
    // children can land on a file with the same prefix (train.js for train).
    for (const name of ['data', 'train', 'Sandal']) {
      for (
        let i = 0;
        i < 5 &&
        (await row(name)
          .getAttribute('aria-expanded')
          .catch(() => null)) !== 'true';
        i++
      ) {
        await row(name).click();
        await page.waitForTimeout(500);
      }
    }
    const filesOf = (cls) => ws.trainFiles.filter((t) => ws.classes[t.label] === cls).map((t) => path.basename(t.rel));
    const sandals = filesOf('Sandal');
    /** Click one file, shift-click the next, right-click: the Explorer's multi-selection. */
    const selectTwo = async (names) => {
      await row(names[0]).click();
      await page.waitForTimeout(300);
      await row(names[1]).click({ modifiers: ['Shift'] });
      await page.waitForTimeout(300);
      const selected = await explorer.locator('.monaco-list-row.selected').count();
      if (selected !== 2) throw new Error(`expected 2 selected rows in the Explorer, found ${selected}`);
      await row(names[1]).click({ button: 'right' });
    };
    // The context menu's item, clicked once the menu has settled. A click that lands while the menu is
    // still opening can be dropped (seen in CI: the menu stayed open with the item highlighted); then
    // the highlighted item is chosen with Enter, and the test says so.
    const unlearnFromContextMenu = async (screenshot) => {
      const item = page.locator('.context-view .action-item', { hasText: 'Unlearn Selected Samples' }).first();
      await item.waitFor({ timeout: 10_000 });
      await page.waitForTimeout(300);
      if (screenshot) await page.screenshot({ path: path.join(work, screenshot) });
      await item.click();
      const menu = page.locator('.context-view .monaco-menu').first();
      await menu.waitFor({ state: 'hidden', timeout: 3_000 }).catch(async () => {
        console.log('  … the click on "Unlearn Selected Samples" did not close the menu; choosing it with Enter');
        await item.hover();
        await page.keyboard.press('Enter');
        await menu.waitFor({ state: 'hidden', timeout: 5_000 });
      });
    };
    await selectTwo(sandals);
    await unlearnFromContextMenu('ui-context-menu.png');
    const notification = page.locator('.notification-toast', { hasText: /forgotten in \d+ steps?/ }).first();
    await notification.waitFor({ timeout: 120_000 });
    const text = await notification.locator('.notification-list-item-message').innerText();
    await page.screenshot({ path: path.join(work, 'ui-after-run.png') });
    if (!/ of 2 forgotten/.test(text)) throw new Error(`expected both selected files in the run: "${text}"`);
    if (count() !== before + 1) throw new Error(`expected one new model version, found ${count() - before}`);
    console.log(`  ✓ UI: right-click → Unlearn Selected Samples → "${text.trim()}"`);
    // The notification's "Open Report" opens the report webview, rendered from the run record.
    await notification.locator('.monaco-button', { hasText: 'Open Report' }).click();
    const report = page.frameLocator('iframe.webview.ready[src*="extensionId=unlearn-lens"]').frameLocator('iframe#active-frame');
    await report.locator('h2', { hasText: 'Per-layer change' }).waitFor({ timeout: 30_000 });
    const summary = await report.locator('#summary').innerText();
    // The tables are @vscode-elements components: rendered only if the library loaded under the CSP.
    let upgraded = await tableUpgraded(report);
    if (!upgraded) {
      // code-server serves webview resources through a service worker; when the worker is not yet in
      // control, the browser resolves the resource host itself and, offline, fails with
      // ERR_NAME_NOT_RESOLVED (seen once in ~20 runs, unchanged code). One reload of the webview, said
      // out loud; a library that does not load after it still fails the test.
      console.log(`  … the report's component library did not load (${browserErrors.slice(-1)[0] ?? 'no browser error'}); reloading the webview once`);
      await runCommand(page, 'Developer: Reload Webviews');
      upgraded = await tableUpgraded(report);
    }
    if (!upgraded) throw new Error("the report's vscode-table was not upgraded: @vscode-elements/elements did not load");
    // The heatmaps: a row per weight tensor, a cell per output unit (and per unit's importance for IMP runs), as in the run record.
    const newest = fs
      .readdirSync(versions)
      .filter((n) => !n.startsWith('.'))
      .sort()
      .pop();
    const record = JSON.parse(fs.readFileSync(path.join(versions, newest, 'run.json'), 'utf8'));
    const cells = record.layerChanges.reduce((n, c) => n + c.units.length + (c.importance ? c.importance.length : 0), 0);
    await report.locator('.heatmap').scrollIntoViewIfNeeded();
    const [rows, rects] = [await report.locator('.heatmap .unit-row').count(), await report.locator('.heatmap svg.strip rect').count()];
    if (rows !== record.layerChanges.length || rects !== cells)
      throw new Error(`heatmap: ${rows} rows / ${rects} cells, the run record has ${record.layerChanges.length} tensors / ${cells} cells`);
    console.log(`  ✓ UI: report heatmap has ${rows} weight tensors and ${rects} unit cells (${record.options.method}), as the run record`);
    // ADV: every adversarial example beside its instance and the perturbation, 12 a page (in this session only: run.json holds no pixels).
    const pixels = await report.locator('img.pixels').count();
    const decoded = await report.locator('img.pixels').evaluateAll((imgs) => imgs.filter((i) => i.complete && i.naturalWidth === 28).length);
    const onFirstPage = Math.min(12, record.adversarial.examples);
    if (pixels !== 3 * onFirstPage || decoded !== pixels)
      throw new Error(
        `report: ${pixels} adversarial images (${decoded} decoded at 28 px), expected ${3 * onFirstPage} (${onFirstPage} examples of ${record.adversarial.examples})`,
      );
    if (fs.readFileSync(path.join(versions, newest, 'run.json'), 'utf8').includes('"preview"')) throw new Error('run.json holds the adversarial preview');
    await report.locator('img.pixels').first().scrollIntoViewIfNeeded();
    await page.screenshot({ path: path.join(work, 'ui-report-adversarial.png') });
    console.log(
      `  ✓ UI: report shows ${onFirstPage} of ${record.adversarial.examples} adversarial examples beside their instances and perturbations (${pixels} images; none on disk)`,
    );
    await page.screenshot({ path: path.join(work, 'ui-report.png') });
    console.log(`  ✓ UI: report webview shows the run ("${summary.replace(/\s+/g, ' ').trim()}")`);
    // The activity-bar view: models → runs.
    await page.locator('.activitybar .action-item a[aria-label^="Unlearn Lens"]').first().click();
    const view = page
      .locator('.pane-body', { has: page.locator('.monaco-list-row') })
      .filter({ hasText: 'fmnist-cnn16' })
      .first();
    await view.locator('.monaco-list-row', { hasText: 'fmnist-cnn16' }).first().waitFor({ timeout: 15_000 });
    const runRows = await view.locator('.monaco-list-row', { hasText: /k = \d+/ }).count();
    if (runRows < 1) throw new Error('the Unlearn Lens view lists no runs');
    await page.screenshot({ path: path.join(work, 'ui-tree.png') });
    console.log(`  ✓ UI: the Unlearn Lens view lists the model and ${runRows} runs`);
    // Runs are listed newest first; a click on one opens its report. The view-title buttons act on
    // the selected run (Restore) or ask (Run Experiment), never fail on it.
    await runCommand(page, 'View: Close All Editors');
    // Newest first by the records' createdAt, as the view lists them: a folder's name need not say
    // when its run was (the truth tests' hand-written "-later" record is a minute after its run).
    const createdAt = (id) => JSON.parse(fs.readFileSync(path.join(versions, id, 'run.json'), 'utf8')).createdAt;
    const versionIds = fs
      .readdirSync(versions)
      .filter((n) => !n.startsWith('.') && fs.existsSync(path.join(versions, n, 'run.json')))
      .sort((a, b) => createdAt(b).localeCompare(createdAt(a)));
    const settingsPath = path.join(ws.dir, '.vscode', 'settings.json');
    const activeVersion = () => JSON.parse(fs.readFileSync(settingsPath, 'utf8'))['unlearnLens.activeVersion'];
    const waitActive = async (id, what) => {
      const until = Date.now() + 15_000;
      while (activeVersion() !== id) {
        if (Date.now() > until) throw new Error(`${what}: the active version is ${activeVersion()}, expected ${id}`);
        await page.waitForTimeout(200);
      }
    };
    const runRow = (i) => view.locator('.monaco-list-row', { hasText: /k = \d+/ }).nth(i);
    // The fixture sets workbench.list.openMode to doubleClick (a single click only selects), so a double click opens.
    await runRow(1).dblclick();
    const clicked = page.frameLocator('iframe.webview.ready[src*="extensionId=unlearn-lens"]').frameLocator('iframe#active-frame');
    await clicked.locator('h1', { hasText: versionIds[1] }).waitFor({ timeout: 30_000 });
    console.log(`  ✓ UI: opening the second run row opened the report of ${versionIds[1]} (rows newest first)`);
    // The view's title bar (the sidebar's title when the view is alone in it), not a row's inline buttons.
    const titleAction = (label) =>
      page.locator(`.composite.title .action-label[aria-label^="${label}"], .pane-header .action-label[aria-label^="${label}"]`).first();
    await view.hover();
    await titleAction('Restore Model Version').click();
    await waitActive(versionIds[1], 'Restore Model Version with a run selected');
    if (await page.locator('.quick-input-widget').isVisible()) throw new Error('Restore Model Version with a run selected asked instead of restoring it');
    await titleAction('Run Experiment').click();
    const quickTitle = page.locator('.quick-input-widget .quick-input-title');
    await quickTitle.waitFor({ timeout: 10_000 });
    const asked = (await quickTitle.innerText()).trim();
    if (!/^Run Experiment \(1\/6\): model/.test(asked)) throw new Error(`Run Experiment with a run selected: "${asked}"`);
    await page.screenshot({ path: path.join(work, 'ui-tree-experiment-asks.png') });
    await page.keyboard.press('Escape');
    await runRow(0).click();
    await titleAction('Restore Model Version').click();
    await waitActive(versionIds[0], 'Restore Model Version with the newest run selected');
    await runCommand(page, 'View: Close All Editors');
    console.log(`  ✓ UI: with a run selected, the title bar's Restore made it active; Run Experiment asked "${asked}"`);
    // The dataset gallery: pick two thumbnails of one class, "Unlearn 2 Selected", and the gallery marks them.
    await runCommand(page, 'View: Close All Editors');
    const pick = page.locator('.quick-input-list .monaco-list-row', { hasText: 'data/train' }).first();
    const gallery = page.frameLocator('iframe.webview.ready[src*="extensionId=unlearn-lens"]').frameLocator('iframe#active-frame');
    // No dataset configured: the command asks for one first. Whichever shows, the question or the
    // gallery, is polled for (isVisible does not wait); a command that showed neither within 20 s
    // (a palette that swallowed the keystrokes on a loaded machine) is given again, up to 3 times,
    // and what the window showed instead is printed.
    await openUntil(page, 'Unlearn: Open Dataset Gallery', async () => {
      if (await pick.isVisible().catch(() => false)) {
        await pick.click();
        return false;
      }
      return gallery
        .locator('.thumb')
        .first()
        .isVisible()
        .catch(() => false);
    });
    await gallery.locator('.thumb').first().waitFor({ timeout: 30_000 });
    // A class no earlier test forgets: a request whose instances are all forgotten already saves no version.
    const bag = ws.classes.indexOf('Trouser');
    await gallery.locator('#class').selectOption(String(bag));
    await gallery.locator('.thumb[data-index="1"]').waitFor({ timeout: 10_000 });
    const shown = await gallery.locator('.thumb').count();
    if (shown !== filesOf('Trouser').length) throw new Error(`gallery: ${shown} thumbnails for Trouser, the dataset has ${filesOf('Trouser').length}`);
    await gallery.locator('.thumb[data-index="0"]').click();
    await gallery.locator('.thumb[data-index="1"]').click({ modifiers: ['Shift'] });
    const button = gallery.locator('#unlearn');
    if ((await button.innerText()).trim() !== 'Unlearn 2 Selected') throw new Error(`gallery button: "${await button.innerText()}"`);
    await page.screenshot({ path: path.join(work, 'ui-gallery-selected.png') });
    const galleryToasts = page.locator('.notification-toast', { hasText: /of 2 forgotten in \d+ steps?/ });
    const galleryToastsBefore = await galleryToasts.count();
    await button.click();
    const galleryDeadline = Date.now() + 120_000;
    while ((await galleryToasts.count()) <= galleryToastsBefore) {
      if (Date.now() > galleryDeadline) throw new Error('gallery: no run notification within 120 s');
      await page.waitForTimeout(250);
    }
    const galleryText = (await galleryToasts.last().locator('.notification-list-item-message').innerText()).trim();
    if (count() !== before + 2) throw new Error(`gallery: expected a new model version, found ${count() - before - 1}`);
    await gallery.locator('.thumb .badge').nth(1).waitFor({ timeout: 15_000 });
    const badges = await gallery.locator('.thumb .badge').allInnerTexts();
    await page.screenshot({ path: path.join(work, 'ui-gallery-after.png') });
    console.log(`  ✓ UI: gallery → 2 Trouser thumbnails → Unlearn 2 Selected → "${galleryText}"; badges: ${badges.join(', ')}`);
    await runCommand(page, 'View: Close All Editors');
    // Two sneakers with the guard set to ask (and a strict threshold, so that it trips): the run
    // pauses on a modal dialog; "Stop and Roll Back" ends it with the model as it was at the last
    // check that passed. The run starts from the original model (no active version): a continual run
    // from whatever the earlier tests left can find both sneakers already forgotten and end at step 0,
    // before any check that could ask. From the original both take 50+ steps (checked with the CLI).
    const settingsFile = path.join(ws.dir, '.vscode', 'settings.json');
    const { 'unlearnLens.activeVersion': _active, ...settings } = JSON.parse(fs.readFileSync(settingsFile, 'utf8'));
    fs.writeFileSync(
      settingsFile,
      JSON.stringify({ ...settings, 'unlearnLens.guard.action': 'ask', 'unlearnLens.guard.minAgreement': 0.99, 'unlearnLens.guard.every': 2 }, null, 2),
    );
    await page.waitForTimeout(3000);
    await page.locator('.activitybar .action-item a[aria-label^="Explorer"]').first().click();
    // Expand the folder, checking that it did: a click while the Explorer is still coming back into
    // view can be lost (seen once: the row was hovered, not expanded).
    for (let i = 0; i < 3 && (await row('Sneaker').getAttribute('aria-expanded')) !== 'true'; i++) {
      if (i > 0) console.log('  … the Sneaker folder did not expand; clicking it again');
      await row('Sneaker').click();
      await page.waitForTimeout(400);
    }
    await selectTwo(filesOf('Sneaker'));
    await unlearnFromContextMenu();
    const dialog = page.locator('.monaco-dialog-box', { hasText: 'collateral-damage guard tripped' }).first();
    // Either the question comes, or the run ends without it: then say how it ended.
    const toasts = page.locator('.notification-toast', { hasText: /forgotten in \d+ steps?/ });
    const toastsBefore = await toasts.count();
    const deadline = Date.now() + 120_000;
    while (!(await dialog.isVisible())) {
      if ((await toasts.count()) > toastsBefore) throw new Error(`the run ended without asking: "${(await toasts.last().innerText()).trim()}"`);
      if (Date.now() > deadline) throw new Error('no guard question within 120 s');
      await page.waitForTimeout(250);
    }
    const question = (await dialog.locator('.dialog-message-text').innerText()).trim();
    await page.screenshot({ path: path.join(work, 'ui-guard-question.png') });
    await dialog.locator('.monaco-button', { hasText: 'Stop and Roll Back' }).click();
    const answered = page.locator('.notification-toast', { hasText: /you chose to stop at step/ }).first();
    await answered.waitFor({ timeout: 60_000 });
    const answeredText = (await answered.locator('.notification-list-item-message').innerText()).trim();
    if (!/and rolled back to step \d+\./.test(answeredText)) throw new Error(`expected the rollback in the notification: "${answeredText}"`);
    if (count() !== before + 3) throw new Error(`expected another new model version, found ${count() - before} in all`);
    console.log(`  ✓ UI: guard "ask" → dialog "${question}" → Stop and Roll Back → "${answeredText}"`);
    // The same two sneakers from that version with a guard that reports and carries on: damage, shown
    // as a warning with the way back; Restore Previous Version makes the version the run started from active.
    const startedFrom = fs
      .readdirSync(versions)
      .filter((n) => !n.startsWith('.'))
      .sort()
      .pop();
    const current = JSON.parse(fs.readFileSync(settingsFile, 'utf8'));
    if (current['unlearnLens.activeVersion'] !== startedFrom)
      throw new Error(`expected the rolled-back version ${startedFrom} to be active, found ${current['unlearnLens.activeVersion']}`);
    fs.writeFileSync(settingsFile, JSON.stringify({ ...current, 'unlearnLens.guard.action': 'report' }, null, 2));
    await page.waitForTimeout(3000);
    await selectTwo(filesOf('Sneaker'));
    await unlearnFromContextMenu();
    // This run's notification (earlier damaged runs may still show theirs): it names the version to go back to.
    const damaged = page.locator('.notification-toast', { hasText: `makes version ${startedFrom} active again` }).first();
    await damaged.waitFor({ timeout: 180_000 });
    const damagedText = (await damaged.locator('.notification-list-item-message').innerText()).trim();
    if (!(await damaged.locator('.notification-list-item-icon.codicon-warning').count()))
      throw new Error(`the damage notification is not a warning: "${damagedText}"`);
    const buttons = (await damaged.locator('.monaco-button').allInnerTexts()).map((t) => t.trim());
    if (!buttons.includes('Open Report') || !buttons.includes('Restore Previous Version'))
      throw new Error(`damage notification buttons: ${buttons.join(', ')}`);
    await page.screenshot({ path: path.join(work, 'ui-damage-warning.png') });
    const damagedRun = fs
      .readdirSync(versions)
      .filter((n) => !n.startsWith('.'))
      .sort()
      .pop();
    if (damagedRun === startedFrom) throw new Error('the damaging run saved no version');
    await damaged.locator('.monaco-button', { hasText: 'Restore Previous Version' }).click();
    const restoreUntil = Date.now() + 15_000;
    while (JSON.parse(fs.readFileSync(settingsFile, 'utf8'))['unlearnLens.activeVersion'] !== startedFrom) {
      if (Date.now() > restoreUntil) throw new Error(`Restore Previous Version did not make ${startedFrom} active`);
      await page.waitForTimeout(200);
    }
    console.log(`  ✓ UI: a damaging run → warning "${damagedText}" [${buttons.join(' | ')}] → Restore Previous Version made ${startedFrom} active again`);
    return true;
  } catch (e) {
    await page.screenshot({ path: path.join(work, 'ui-failure.png') }).catch(() => {});
    console.log(`  ✗ UI test: ${e.stack ?? e}`);
    for (const line of browserErrors.slice(-10)) console.log(`    [browser error] ${line}`);
    return false;
  } finally {
    await context.close();
  }
}

async function main() {
  step('packaging the .vsix');
  const vsix = packageVsix();
  console.log(`  ${path.relative(repo, vsix)}: ${(fs.statSync(vsix).size / 1024 / 1024).toFixed(2)} MB`);
  step('code-server (cached in .cache/)');
  const { bin } = installCodeServer(cache);
  fs.rmSync(work, { recursive: true, force: true });
  fs.mkdirSync(work, { recursive: true });
  step('fixture workspace');
  const ws = buildFixtureWorkspace(repo, path.join(work, 'workspace'));
  // Small attack settings: the paper's defaults are slow on WASM; the tests check wiring, not the method.
  fs.writeFileSync(
    path.join(ws.dir, '.vscode', 'settings.json'),
    JSON.stringify(
      {
        'unlearnLens.backend': 'wasm',
        'unlearnLens.attack.steps': 5,
        'unlearnLens.attack.examplesPerInstance': 2,
        'security.workspace.trust.enabled': false,
        // A single click selects without opening a preview that takes the focus from the Explorer.
        'workbench.list.openMode': 'doubleClick',
        // The repository's own .git lies above the workspace: no toast asking to open it over the screenshots.
        'git.openRepositoryInParentFolders': 'never',
      },
      null,
      2,
    ),
  );
  const extensionsDir = path.join(work, 'extensions');
  const userDataDir = path.join(work, 'user-data');
  step('installing the .vsix into code-server');
  installVsix(bin, vsix, extensionsDir, userDataDir);
  const installed = fs.readdirSync(extensionsDir).find((n) => n.startsWith('unlearn-lens.unlearn-lens-'));
  if (!installed) throw new Error(`the .vsix did not install into ${extensionsDir}`);
  const extensionDir = path.join(extensionsDir, installed);

  let server;
  let browser;
  let failures = 0;
  try {
    step('starting code-server');
    server = await startCodeServer({ bin, workDir: work, folder: ws.dir, logFile: path.join(work, 'code-server.log') });
    // Interrupted (Ctrl+C, CI timeout): stop code-server's process group before leaving.
    for (const signal of ['SIGINT', 'SIGTERM']) {
      process.once(signal, () => {
        console.error(`\n${signal}: stopping code-server (process group ${server.pgid})`);
        void server.stop().finally(() => process.exit(130));
      });
    }
    console.log(`  http://127.0.0.1:${server.port} (process group ${server.pgid})`);
    browser = await launchBrowser();
    step('extension tests in the extension host (the installed .vsix)');
    if (process.env.UNLEARN_LENS_TESTS) fs.writeFileSync(path.join(work, 'test-filter.txt'), process.env.UNLEARN_LENS_TESTS);
    const code = await runExtensionTests(browser, server, ws.dir, extensionDir);
    const resultsFile = path.join(work, 'extension-test-results.json');
    if (fs.existsSync(resultsFile)) {
      const results = JSON.parse(fs.readFileSync(resultsFile, 'utf8'));
      for (const r of results.results) console.log(`  ${r.ok ? '✓' : '✗'} ${r.name} (${r.ms} ms)${r.ok ? '' : `\n    ${r.error.split('\n').join('\n    ')}`}`);
      const lag = results.measurements.eventLoopLag;
      if (lag)
        console.log(
          `  extension-host event loop during a full unlearn: p50 ${lag.p50.toFixed(1)} ms, p99 ${lag.p99.toFixed(1)} ms, max ${lag.max.toFixed(1)} ms over ${lag.samples} ticks of a 10 ms timer`,
        );
      const pgd = results.measurements.eventLoopLagDuringPgd;
      if (pgd)
        console.log(
          `  extension-host event loop during a PGD attack (then cancelled): p50 ${pgd.p50.toFixed(1)} ms, p99 ${pgd.p99.toFixed(1)} ms, max ${pgd.max.toFixed(1)} ms over ${pgd.samples} ticks`,
        );
      if (results.measurements.cancelMs !== undefined)
        console.log(
          `  cancel took effect ${results.measurements.cancelMs} ms after Cancel Run (during PGD); demo cancelled during set-up in ${results.measurements.demoCancelMs} ms`,
        );
      if (results.measurements.inspectorOpenMs)
        console.log(
          `  model inspector open time (ms from Open With to the page in place; inside the provider: the engine's answer, the page ready, the page in place): ${Object.entries(
            results.measurements.inspectorOpenMs,
          )
            .map(([k, v]) =>
              typeof v === 'object'
                ? `${k} ${v.total} (engine ${v.engine}, page ready ${v.ready}, in place ${v.rendered}${v.first ? `; a first open took ${v.first}` : ''})`
                : `${k} ${v}`,
            )
            .join(', ')}`,
        );
      console.log(`  extension tests: ${results.seconds.toFixed(1)} s`);
    } else {
      console.log('  (no results file: the extension tests did not run to the end)');
    }
    if (code !== 0) failures++;
    step('UI test: Explorer right-click');
    // UNLEARN_LENS_SKIP_UI=1 leaves it out (while iterating on the extension tests or the screenshots).
    if (process.env.UNLEARN_LENS_SKIP_UI) console.log('  skipped (UNLEARN_LENS_SKIP_UI)');
    else if (!(await runUiTest(browser, server, ws.dir, ws))) failures++;
    // Screenshots are pictures for people, not checks: a view that fails is reported, not counted.
    const screenshots = path.join(repo, 'test-results', 'screenshots');
    const passes = [
      ['screenshots: gallery, manifest, CodeLens, experiment in the light and dark theme', captureTruthScreenshots],
      ['screenshots: the run report and the model inspector in the light and dark theme', captureReportScreenshots],
    ];
    const shots = { written: [], expected: [] };
    for (const [title, capture] of passes) {
      step(title);
      try {
        const { written, expected, summary } = await capture(browser, server, ws, screenshots);
        for (const f of written) console.log(`  ✓ ${path.relative(repo, f)}`);
        console.log(`  ${summary} (not counted as a test failure)`);
        shots.written.push(...written.map((f) => path.basename(f)));
        shots.expected.push(...expected);
      } catch (e) {
        console.log(`  ✗ screenshots (not counted as a test failure): ${e.stack ?? e}`);
      }
    }
    const missing = shots.expected.filter((n) => !shots.written.includes(n));
    console.log(
      `  screenshots in ${path.relative(repo, screenshots)}: ${shots.expected.length - missing.length} of ${shots.expected.length} written` +
        `${missing.length ? `; missing: ${missing.join(', ')}` : ''} (not counted as a test failure)`,
    );
  } finally {
    await browser?.close().catch(() => {});
    await server?.stop();
  }
  step(failures ? `FAILED (${failures} part${failures > 1 ? 's' : ''})` : 'all integration tests passed');
  return failures ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
