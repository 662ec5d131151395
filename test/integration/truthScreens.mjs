// Screenshots of the views that tell the truth about the active model (issue 15), in the light and
// the dark theme: the dataset gallery (predictions, states, the pre-flight estimate of a selection),
// a manifest with its diagnostics, notes and hover, the CodeLens over training code, and Run
// Experiment's view (progress over the grid, then the table). Each screenshot waits for what it
// shows, so a missing view fails its step instead of saving an empty picture; each view is its own
// step (screenSteps.mjs), so one that fails stops neither the others nor the other theme. Written to
// test-results/screenshots/ (kept by CI).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { THEMES, firstLine, runCommand, screenSteps, setTheme, updateSettings } from './screenSteps.mjs';

const EXPECTED = [
  ...THEMES.flatMap(([name]) => [`gallery-${name}.png`, `manifest-hover-${name}.png`, `manifest-fixes-${name}.png`, `codelens-${name}.png`]),
  'experiment-progress-dark.png',
  'experiment-dark.png',
  'experiment-light.png',
];

/**
 * Opens a workspace file by name with Quick Open: the row whose name is `name` (not a row that only
 * matches it, such as data/train/classes.json for train.js). The list fills in twice (recent editors,
 * then the file search): a click as it does can land on another row, so the step waits for the list
 * to settle, and checks the tab that opened (three tries).
 */
async function openFile(page, name) {
  const exact = new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
  for (let attempt = 1; ; attempt++) {
    await page.keyboard.press('Control+P');
    const input = page.locator('.quick-input-widget input');
    await input.waitFor({ timeout: 10_000 });
    await input.fill(name);
    const row = page
      .locator('.quick-input-list .monaco-list-row')
      .filter({ has: page.locator('.label-name', { hasText: exact }) })
      .first();
    await row.waitFor({ timeout: 10_000 });
    await page.waitForTimeout(500);
    await row.click({ timeout: 10_000 });
    const tab = page.locator(`.tab.active[aria-label^="${name}"]`).first();
    if (
      await tab.waitFor({ timeout: 10_000 }).then(
        () => true,
        () => false,
      )
    )
      return;
    const opened =
      (await page
        .locator('.tab.active')
        .first()
        .getAttribute('aria-label')
        .catch(() => null)) ?? 'nothing';
    if (attempt === 3) throw new Error(`Quick Open of ${name} opened ${opened}`);
    console.log(`  … Quick Open of ${name} opened ${opened}; once more`);
    await page.keyboard.press('Escape');
  }
}

/**
 * The version to make active and the manifest row to hover: the manifest's hover has its table of
 * what each run did (its "event" column) only on a row that a run in the active version's chain
 * selected. Read from the run records: a version whose record says earlier erasures came back
 * (the truth tests leave one) and a row that came back, else the newest version whose chain
 * selected a row of the manifest. `line`: the row's line (0-based); `text`: what the line says.
 */
export function manifestTarget(ws) {
  const manifest = path.join(ws.dir, 'data', 'train.csv');
  const versions = path.join(ws.dir, 'models', 'fmnist-cnn16.versions');
  const lines = fs.readFileSync(manifest, 'utf8').split(/\r?\n/);
  // Data rows with a file and a label, by the file they name (the first such line of each file).
  const rowOf = new Map();
  lines.forEach((text, line) => {
    const [rel, label] = text.split(',');
    if (line === 0 || !rel || !label) return;
    const file = path.resolve(path.dirname(manifest), rel);
    if (fs.existsSync(file) && !rowOf.has(file)) rowOf.set(file, { line, text });
  });
  const records = new Map();
  for (const id of fs.existsSync(versions) ? fs.readdirSync(versions) : []) {
    const file = path.join(versions, id, 'run.json');
    if (fs.existsSync(file)) records.set(id, JSON.parse(fs.readFileSync(file, 'utf8')));
  }
  const dirOf = (id) => path.join(versions, id);
  // The chain: each record's model.path names the version it started from (relative to its folder).
  const chainOf = (id) => {
    const chain = [];
    for (let r = records.get(id); r && !chain.includes(r);) {
      chain.unshift(r);
      const from = path.resolve(dirOf(r.id), r.model.path);
      r = path.dirname(path.dirname(from)) === versions ? records.get(path.basename(path.dirname(from))) : undefined;
    }
    return chain;
  };
  const rowsOf = (r, ids) => ids.map((f) => rowOf.get(path.resolve(dirOf(r.id), f))).filter(Boolean);
  const ids = [...records.keys()].sort().reverse();
  for (const id of ids.filter((n) => n.endsWith('-later'))) {
    const rows = rowsOf(records.get(id), records.get(id).earlier?.cameBack ?? []);
    if (rows.length) return { version: id, cameBack: true, ...rows.sort((a, b) => a.line - b.line)[0] };
  }
  for (const id of ids) {
    const rows = chainOf(id).flatMap((r) => rowsOf(r, r.forget.ids));
    if (rows.length) return { version: id, cameBack: false, ...rows.sort((a, b) => a.line - b.line)[0] };
  }
  return undefined;
}

/**
 * Takes the screenshots; never throws: each view that fails says so in one line. Resolves with the
 * files written and a summary line (how many of the expected, which are missing). `ws`: the
 * fixture workspace.
 */
export async function captureTruthScreenshots(browser, server, ws, outDir) {
  const target = manifestTarget(ws);
  updateSettings(ws, { 'unlearnLens.dataset': 'data/train', ...(target ? { 'unlearnLens.activeVersion': target.version } : {}) });
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  const { shot, step, summary, written } = screenSteps(page, outDir, EXPECTED);
  try {
    if (!target) console.log('  ✗ no version whose runs selected a row of data/train.csv: the manifest hover has no table of what happened');
    else
      console.log(
        `  active version ${target.version}; the hover is on line ${target.line + 1} ("${target.text}")${target.cameBack ? ', a row that came back' : ''}`,
      );
    await page.goto(`http://127.0.0.1:${server.port}/?folder=${encodeURIComponent(ws.dir)}`);
    await page.locator('.statusbar-item', { hasText: 'fmnist-cnn16' }).first().waitFor({ timeout: 90_000 });
    for (const [name, theme] of THEMES) {
      if (!(await step('theme', name, () => setTheme(page, ws, name, theme)))) continue;
      await runCommand(page, 'View: Close All Editors').catch(() => {});
      // The gallery: predictions under each thumbnail, state badges, two selected with their estimate.
      await step('gallery', name, async () => {
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
      });
      // The manifest: errors with relative paths, notes and warnings from the chain, and our hover
      // (its table of what each run did) on a row a run of the active version's chain selected.
      await step('manifest hover', name, async () => {
        if (!target) throw new Error('no row of data/train.csv that a run selected');
        await openFile(page, 'train.csv');
        await page.locator('.squiggly-error').first().waitFor({ timeout: 30_000 });
        if (target.cameBack) await page.locator('.squiggly-warning').first().waitFor({ timeout: 30_000 });
        // Over the row's text (a line's element is wider than its text; past the end there is no hover).
        const text = page.locator('.view-lines .view-line', { hasText: target.text }).first().locator('span > span').first();
        await text.waitFor({ timeout: 10_000 });
        await text.hover();
        // The provider waits for the engine's prediction and estimate (2.5 s at most), then answers.
        await page
          .locator('.monaco-hover-content', { hasText: /\bevent\b/ })
          .first()
          .waitFor({ timeout: 30_000 });
        await page.waitForTimeout(500);
        await shot(`manifest-hover-${name}.png`);
        await page.mouse.move(5, 5);
      });
      // The quick fixes of the unknown label (line 9).
      await step('manifest quick fixes', name, async () => {
        await openFile(page, 'train.csv');
        await page.locator('.squiggly-error').first().waitFor({ timeout: 30_000 });
        await page.keyboard.press('Control+G');
        await page.keyboard.type('9');
        await page.keyboard.press('Enter');
        await page.keyboard.press('Control+.');
        await page.locator('.action-widget', { hasText: 'Fix label to' }).first().waitFor({ timeout: 15_000 });
        await shot(`manifest-fixes-${name}.png`);
        await page.keyboard.press('Escape');
        await runCommand(page, 'View: Close All Editors');
      });
      // The CodeLens over training code that loads the original model.
      await step('CodeLens', name, async () => {
        await openFile(page, 'train.js');
        await page.locator('.codelens-decoration', { hasText: 'Unlearn Lens' }).first().waitFor({ timeout: 30_000 });
        await page.waitForTimeout(500);
        await shot(`codelens-${name}.png`);
      });
    }
    // Run Experiment, asked step by step from the palette (naive, k = 2, 4, 8, seeds 0, 1, 2), in the dark
    // theme left by the loop: its progress over the grid, then the table; then the same table in the light theme.
    const experiment = page.frameLocator('iframe.webview.ready[src*="extensionId=unlearn-lens"]').frameLocator('iframe#active-frame');
    const started = await step('experiment progress', 'dark', async () => {
      if (!(await page.locator('.monaco-workbench.vs-dark').count())) await setTheme(page, ws, 'dark', 'Default Dark Modern');
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
      // A grid of 9 runs (≈ 10 s here): one run alone is over before its page shows the progress.
      await answer('(5/6): k values', '2, 4, 8');
      await page.keyboard.press('Enter');
      await answer('(6/6): seeds', '0, 1, 2');
      await page.keyboard.press('Enter');
      await experiment.locator('#status').waitFor({ timeout: 30_000 });
      await shot('experiment-progress-dark.png');
    });
    const table = async () => {
      await experiment.locator('h1', { hasText: 'Unlearning experiment:' }).waitFor({ timeout: 240_000 });
      await experiment.locator('table tbody tr').nth(1).waitFor({ timeout: 10_000 });
    };
    if (started) {
      await step('experiment table', 'dark', async () => {
        await table();
        await shot('experiment-dark.png');
      });
      await step('experiment table', 'light', async () => {
        await table();
        await setTheme(page, ws, 'light', 'Default Light Modern');
        await page.waitForTimeout(200);
        await shot('experiment-light.png');
      });
    }
  } catch (e) {
    console.log(`  ✗ the truth screenshots stopped: ${firstLine(e)}`);
  } finally {
    await context.close().catch(() => {});
  }
  return { written, expected: EXPECTED, summary: summary() };
}
