// Screenshots of the run report and the model inspector (issue 15) in the light and the dark theme,
// each taken once what it shows is there (a missing view fails the step instead of saving an empty
// picture): the report's top (summary, accuracy, instance thumbnails), its adversarial examples
// (made again with Regenerate: this window did not run them), heatmaps and per-layer bar chart; the
// inspector's layers and versions, and the importance of a chosen image. Written to
// test-results/screenshots/ (kept by CI).
import * as fs from 'node:fs';
import * as path from 'node:path';

const THEMES = [
  ['light', 'Default Light Modern'],
  ['dark', 'Default Dark Modern'],
];

const settingsFile = (ws) => path.join(ws.dir, '.vscode', 'settings.json');
const readSettings = (ws) => (fs.existsSync(settingsFile(ws)) ? JSON.parse(fs.readFileSync(settingsFile(ws), 'utf8')) : {});
const writeSettings = (ws, settings) => fs.writeFileSync(settingsFile(ws), JSON.stringify(settings, null, 2));

async function runCommand(page, title) {
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ timeout: 10_000 });
  await input.fill(`>${title}`);
  await page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first().click({ timeout: 10_000 });
}

/** The ADV+IMP (else ADV) run with the most instances: it has every section of the report. */
function reportRun(ws) {
  const dir = path.join(ws.dir, 'models', 'fmnist-cnn16.versions');
  const runs = fs
    .readdirSync(dir)
    .filter((n) => fs.existsSync(path.join(dir, n, 'run.json')))
    .map((n) => JSON.parse(fs.readFileSync(path.join(dir, n, 'run.json'), 'utf8')))
    .filter((r) => r.adversarial);
  const score = (r) => (r.layerChanges.some((c) => c.importance) ? 1000 : 0) + r.forget.ids.length;
  return runs.sort((a, b) => score(a) - score(b) || a.createdAt.localeCompare(b.createdAt)).pop();
}

const webview = (page) => page.frameLocator('iframe.webview.ready[src*="extensionId=unlearn-lens"]').frameLocator('iframe#active-frame');

/** Takes the screenshots; resolves with the files written. Leaves the workspace settings as it found them. */
export async function captureReportScreenshots(browser, server, ws, outDir) {
  fs.mkdirSync(outDir, { recursive: true });
  const run = reportRun(ws);
  if (!run) throw new Error('no ADV run in the fixture workspace to show a report of');
  const saved = readSettings(ws);
  writeSettings(ws, { ...saved, 'unlearnLens.activeVersion': run.id });
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
      writeSettings(ws, { ...readSettings(ws), 'workbench.colorTheme': theme });
      await page.waitForFunction((dark) => document.querySelector('.monaco-workbench')?.classList.contains(dark ? 'vs-dark' : 'vs'), name === 'dark', {
        timeout: 15_000,
      });
      await page.waitForTimeout(800);
      await runCommand(page, 'View: Close All Editors');
      await runCommand(page, 'Unlearn: Open Report');
      const report = webview(page);
      await report.locator('h1', { hasText: run.id }).waitFor({ timeout: 30_000 });
      const thumbs = report.locator('#instances img.thumb');
      await thumbs.first().waitFor({ timeout: 15_000 });
      const decoded = await thumbs.evaluateAll((imgs) => imgs.filter((i) => i.complete && i.naturalWidth > 0).length);
      if (decoded !== run.forget.ids.length) throw new Error(`report: ${decoded} of ${run.forget.ids.length} instance thumbnails shown`);
      const title = await thumbs.first().getAttribute('title');
      if (!title || !path.isAbsolute(title)) throw new Error(`report: the thumbnail's hover text is "${title}", not the full path`);
      await page.waitForTimeout(500);
      await shot(`report-${name}.png`);
      // Adversarial examples: this window did not run them; Regenerate makes them in the engine (the dark pass finds them held).
      const regenerate = report.locator('#regenerate');
      if (await regenerate.isVisible().catch(() => false)) {
        await regenerate.scrollIntoViewIfNeeded();
        await regenerate.click();
      }
      const cards = report.locator('#adversarial-examples .adv-card');
      await cards.first().waitFor({ timeout: 120_000 });
      const shown = await cards.count();
      const expected = Math.min(12, run.adversarial.examples);
      if (shown !== expected) throw new Error(`report: ${shown} adversarial examples on the first page, expected ${expected} of ${run.adversarial.examples}`);
      const pager = (await report.locator('#adversarial-page').innerText()).trim();
      await report.locator('h2', { hasText: 'Adversarial examples' }).scrollIntoViewIfNeeded();
      await page.waitForTimeout(500);
      await shot(`report-adversarial-${name}.png`);
      // Heatmaps: hover a cell, its values appear in the row's readout line.
      const cell = report.locator('.heatmap svg.strip.change rect').nth(1);
      await report.locator('h2', { hasText: 'Where the weights moved' }).scrollIntoViewIfNeeded();
      await cell.hover();
      const readout = report.locator('.unit-readout', { hasText: 'change ‖Δθ‖' }).first();
      await readout.waitFor({ timeout: 5_000 });
      const readoutText = (await readout.innerText()).trim();
      await shot(`report-heatmap-${name}.png`);
      // The per-row toggle recolours the change strips.
      const before = await cell.evaluate((el) => getComputedStyle(el).fill);
      await report.locator('input.per-row').check();
      const after = await cell.evaluate((el) => getComputedStyle(el).fill);
      await report.locator('input.per-row').scrollIntoViewIfNeeded();
      await page.waitForTimeout(300);
      await shot(`report-heatmap-per-row-${name}.png`);
      await report.locator('h2', { hasText: 'Per-layer change' }).scrollIntoViewIfNeeded();
      const bars = await report.locator('svg.bar-chart .bar-rect').count();
      if (bars !== run.layerChanges.length) throw new Error(`report: ${bars} bars, the run changed ${run.layerChanges.length} tensors`);
      await page.waitForTimeout(300);
      await shot(`report-layers-${name}.png`);
      console.log(
        `  ✓ report (${name}): ${decoded} thumbnails; ${shown} adversarial examples, "${pager}"; readout "${readoutText}"; per-row toggle ${before} → ${after}; ${bars} bars`,
      );
      await runCommand(page, 'View: Close All Editors');
      // The inspector on the workspace model: layers and versions, then one image's importance.
      await runCommand(page, 'Unlearn: Open Model Inspector');
      const inspector = webview(page);
      await inspector.locator('#layers tr.layer').first().waitFor({ timeout: 30_000 });
      await inspector.locator('#versions').waitFor({ timeout: 10_000 });
      await page.waitForTimeout(500);
      await shot(`inspector-${name}.png`);
      await inspector.locator('#versions').scrollIntoViewIfNeeded();
      await shot(`inspector-versions-${name}.png`);
      // Choose Images… opens the editor's file dialog (in code-server: a path box); one training image.
      const image = ws.trainFiles[0].file;
      await inspector.locator('#choose-images').scrollIntoViewIfNeeded();
      await inspector.locator('#choose-images').click();
      const box = page.locator('.quick-input-widget input');
      await box.waitFor({ timeout: 10_000 });
      await box.fill(image);
      await page.waitForTimeout(300);
      await page.keyboard.press('Enter');
      await inspector.locator('#importance-result .unit-row').first().waitFor({ timeout: 60_000 });
      await inspector.locator('#importance-result').scrollIntoViewIfNeeded();
      await page.waitForTimeout(500);
      await shot(`inspector-importance-${name}.png`);
      console.log(
        `  ✓ inspector (${name}): ${await inspector.locator('#layers tr.layer').count()} layers, ${await inspector.locator('#versions tbody tr').count()} versions, importance of ${path.basename(image)} in ${await inspector.locator('#importance-result .unit-row').count()} rows`,
      );
      await runCommand(page, 'View: Close All Editors');
    }
    return written;
  } finally {
    await context.close();
    writeSettings(ws, {
      ...readSettings(ws),
      'unlearnLens.activeVersion': saved['unlearnLens.activeVersion'],
      'workbench.colorTheme': saved['workbench.colorTheme'],
    });
  }
}
