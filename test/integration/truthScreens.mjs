// Screenshots of the views that tell the truth about the active model (issue 15), in the light and
// the dark theme: the dataset gallery (predictions, states, the pre-flight estimate of a selection),
// a manifest with its diagnostics, notes and hover, the CodeLens over training code, and Run
// Experiment's view (progress over the grid, then the table). Each
// screenshot waits for what it shows, so a missing view fails the step instead of saving an empty
// picture. Written to test-results/screenshots/ (kept by CI).
import * as fs from 'node:fs';
import * as path from 'node:path';

const THEMES = [
  ['light', 'Default Light Modern'],
  ['dark', 'Default Dark Modern'],
];

function updateSettings(ws, change) {
  const file = path.join(ws.dir, '.vscode', 'settings.json');
  const settings = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : {};
  fs.writeFileSync(file, JSON.stringify({ ...settings, ...change }, null, 2));
}

async function runCommand(page, title) {
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ timeout: 10_000 });
  await input.fill(`>${title}`);
  await page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first().click({ timeout: 10_000 });
}

async function openFile(page, name) {
  await page.keyboard.press('Control+P');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ timeout: 10_000 });
  await input.fill(name);
  await page.locator('.quick-input-list .monaco-list-row', { hasText: name }).first().click({ timeout: 10_000 });
  await page.locator(`.tab.active[aria-label^="${name}"]`).first().waitFor({ timeout: 10_000 });
}

/**
 * Takes the screenshots; resolves with the files written. `ws`: the fixture workspace. The active
 * version is the one the truth tests left whose record says earlier erasures came back, when there is one.
 */
export async function captureTruthScreenshots(browser, server, ws, outDir) {
  fs.mkdirSync(outDir, { recursive: true });
  const versions = path.join(ws.dir, 'models', 'fmnist-cnn16.versions');
  const cameBack = fs.existsSync(versions)
    ? fs
        .readdirSync(versions)
        .filter((n) => n.endsWith('-later'))
        .sort()
        .pop()
    : undefined;
  updateSettings(ws, { 'unlearnLens.dataset': 'data/train', ...(cameBack ? { 'unlearnLens.activeVersion': cameBack } : {}) });
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  const written = [];
  const shot = async (name) => {
    const file = path.join(outDir, name);
    await page.screenshot({ path: file });
    written.push(file);
  };
  try {
    await page.goto(`http://127.0.0.1:${server.port}/?folder=${encodeURIComponent(ws.dir)}`);
    await page.locator('.statusbar-item', { hasText: 'fmnist-cnn16' }).first().waitFor({ timeout: 90_000 });
    for (const [name, theme] of THEMES) {
      updateSettings(ws, { 'workbench.colorTheme': theme });
      await page.waitForFunction((dark) => document.querySelector('.monaco-workbench')?.classList.contains(dark ? 'vs-dark' : 'vs'), name === 'dark', {
        timeout: 15_000,
      });
      await page.waitForTimeout(800);
      await runCommand(page, 'View: Close All Editors');
      // The gallery: predictions under each thumbnail, state badges, two selected with their estimate.
      await runCommand(page, 'Unlearn: Open Dataset Gallery');
      const gallery = page.frameLocator('iframe.webview.ready[src*="extensionId=unlearn-lens"]').frameLocator('iframe#active-frame');
      await gallery.locator('.thumb .prediction').first().waitFor({ timeout: 60_000 });
      await gallery.locator('.thumb:not(.misclassified)').nth(2).click();
      await gallery.locator('.thumb:not(.misclassified)').nth(3).click();
      await gallery.locator('.thumb .estimate').nth(1).waitFor({ timeout: 60_000 });
      await page.waitForTimeout(500);
      await shot(`gallery-${name}.png`);
      await gallery.locator('#clear').click();
      await runCommand(page, 'View: Close All Editors');
      // The manifest: errors with relative paths, notes and warnings from the chain, a hover on a row a run touched.
      await openFile(page, 'train.csv');
      await page.locator('.squiggly-error').first().waitFor({ timeout: 30_000 });
      const touched = cameBack ? page.locator('.squiggly-warning').first() : page.locator('.view-line').nth(1);
      await touched.waitFor({ timeout: 30_000 });
      await touched.hover({ force: true });
      // Our hover (its table), not only the diagnostic's: it waits for the engine's prediction and estimate.
      await page.locator('.monaco-hover-content', { hasText: 'what happened' }).first().waitFor({ timeout: 30_000 });
      await page.waitForTimeout(500);
      await shot(`manifest-hover-${name}.png`);
      await page.mouse.move(5, 5);
      // The quick fixes of the unknown label (line 9).
      await page.keyboard.press('Control+G');
      await page.keyboard.type('9');
      await page.keyboard.press('Enter');
      await page.keyboard.press('Control+.');
      await page.locator('.action-widget', { hasText: 'Fix label to' }).first().waitFor({ timeout: 15_000 });
      await shot(`manifest-fixes-${name}.png`);
      await page.keyboard.press('Escape');
      await runCommand(page, 'View: Close All Editors');
      // The CodeLens over training code that loads the original model.
      await openFile(page, 'train.js');
      await page.locator('.codelens-decoration', { hasText: 'Unlearn Lens' }).first().waitFor({ timeout: 30_000 });
      await page.waitForTimeout(500);
      await shot(`codelens-${name}.png`);
    }
    // Run Experiment, asked step by step from the palette (naive, k = 2, one seed: short), in the dark
    // theme left by the loop: its progress over the grid, then the table; then the same table in the light theme.
    await runCommand(page, 'View: Close All Editors');
    await runCommand(page, 'Unlearn: Run Experiment');
    const input = page.locator('.quick-input-widget input');
    const answer = async (title, text) => {
      await page.locator('.quick-input-widget .quick-input-title', { hasText: title }).waitFor({ timeout: 15_000 });
      await input.fill(text);
      await page.waitForTimeout(300);
    };
    const pick = async (title, text) => {
      await answer(title, text);
      await page.locator('.quick-input-list .monaco-list-row', { hasText: text }).first().click();
    };
    await pick('(1/6): model', 'fmnist-cnn16');
    await pick('(2/6): training data', 'data/train');
    await pick('(3/6): held-out test data', 'data/test');
    await page.locator('.quick-input-widget .quick-input-title', { hasText: '(4/6): methods' }).waitFor({ timeout: 15_000 });
    // Only naive: untick every method, then tick the one row.
    for (const row of await page.locator('.quick-input-list .monaco-list-row').all()) {
      const box = row.locator('input[type=checkbox], .monaco-checkbox, .quick-input-list-checkbox').first();
      const checked = (await box.getAttribute('aria-checked').catch(() => null)) ?? String(await box.isChecked().catch(() => false));
      const isNaive = (await row.innerText()).trim().startsWith('naive');
      if ((checked === 'true') !== isNaive) await box.click({ force: true }); // a tooltip may lie over it
    }
    await page.keyboard.press('Enter');
    await answer('(5/6): k values', '2');
    await page.keyboard.press('Enter');
    await answer('(6/6): seeds', '0');
    await page.keyboard.press('Enter');
    const experiment = page.frameLocator('iframe.webview.ready[src*="extensionId=unlearn-lens"]').frameLocator('iframe#active-frame');
    await experiment.locator('#status').waitFor({ timeout: 30_000 });
    await shot('experiment-progress-dark.png');
    await experiment.locator('h1', { hasText: 'Unlearning experiment:' }).waitFor({ timeout: 240_000 });
    await experiment.locator('table tbody tr').nth(1).waitFor({ timeout: 10_000 });
    await shot('experiment-dark.png');
    updateSettings(ws, { 'workbench.colorTheme': 'Default Light Modern' });
    await page.waitForFunction(() => document.querySelector('.monaco-workbench')?.classList.contains('vs'), undefined, { timeout: 15_000 });
    await page.waitForTimeout(1000);
    await shot('experiment-light.png');
    return written;
  } finally {
    await context.close();
  }
}
