// Screenshots of the run report and the model inspector (issue 15) in the light and the dark theme,
// each taken once what it shows is there (a missing view fails its step instead of saving an empty
// picture; each view is its own step, screenSteps.mjs, so one that fails stops neither the others
// nor the other theme): the report's top (summary, accuracy, instance thumbnails), its adversarial
// examples (made again with Regenerate: this window did not run them), heatmaps and per-layer bar
// chart; the inspector's layers and versions, and the importance of a chosen image. Written to
// test-results/screenshots/ (kept by CI).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { THEMES, firstLine, readSettings, runCommand, screenSteps, setTheme, writeSettings } from './screenSteps.mjs';

const EXPECTED = THEMES.flatMap(([name]) => [
  `report-${name}.png`,
  `report-adversarial-${name}.png`,
  `report-heatmap-${name}.png`,
  `report-heatmap-per-row-${name}.png`,
  `report-layers-${name}.png`,
  `inspector-${name}.png`,
  `inspector-versions-${name}.png`,
  `inspector-importance-${name}.png`,
]);

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

/**
 * Takes the screenshots; never throws: each view that fails says so in one line. Resolves with the
 * files written and a summary line (how many of the expected, which are missing). Leaves the
 * workspace settings as it found them.
 */
export async function captureReportScreenshots(browser, server, ws, outDir) {
  const run = reportRun(ws);
  const saved = readSettings(ws);
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  const { shot, step, summary, written } = screenSteps(page, outDir, EXPECTED);
  try {
    if (!run) throw new Error('no ADV run in the fixture workspace to show a report of');
    writeSettings(ws, { ...saved, 'unlearnLens.activeVersion': run.id });
    await page.goto(`http://127.0.0.1:${server.port}/?folder=${encodeURIComponent(ws.dir)}`);
    await page.locator('.statusbar-item', { hasText: 'fmnist-cnn16' }).first().waitFor({ timeout: 90_000 });
    const report = webview(page);
    const heading = report.locator('h1', { hasText: run.id });
    // The report of the run, open (a step that failed before closed it).
    const openReport = async () => {
      if (await heading.isVisible().catch(() => false)) return;
      await runCommand(page, 'Unlearn: Open Report');
      await heading.waitFor({ timeout: 30_000 });
    };
    const inspector = webview(page);
    const openInspector = async () => {
      if (
        await inspector
          .locator('#layers tr.layer')
          .first()
          .isVisible()
          .catch(() => false)
      )
        return;
      await runCommand(page, 'Unlearn: Open Model Inspector');
      await inspector.locator('#layers tr.layer').first().waitFor({ timeout: 30_000 });
    };
    for (const [name, theme] of THEMES) {
      if (!(await step('theme', name, () => setTheme(page, ws, name, theme)))) continue;
      await runCommand(page, 'View: Close All Editors').catch(() => {});
      const facts = [];
      await step('report', name, async () => {
        await openReport();
        const thumbs = report.locator('#instances img.thumb');
        await thumbs.first().waitFor({ timeout: 15_000 });
        const decoded = await thumbs.evaluateAll((imgs) => imgs.filter((i) => i.complete && i.naturalWidth > 0).length);
        if (decoded !== run.forget.ids.length) throw new Error(`report: ${decoded} of ${run.forget.ids.length} instance thumbnails shown`);
        const title = await thumbs.first().getAttribute('title');
        if (!title || !path.isAbsolute(title)) throw new Error(`report: the thumbnail's hover text is "${title}", not the full path`);
        await page.waitForTimeout(500);
        await shot(`report-${name}.png`);
        facts.push(`${decoded} thumbnails`);
      });
      // Adversarial examples: this window did not run them; Regenerate makes them in the engine (the dark pass finds them held).
      await step('report: adversarial examples', name, async () => {
        await openReport();
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
        facts.push(`${shown} adversarial examples, "${pager}"`);
      });
      // Heatmaps: hover a cell, its values appear in the row's readout line.
      await step('report: heatmap', name, async () => {
        await openReport();
        const cell = report.locator('.heatmap svg.strip.change rect').nth(1);
        await report.locator('h2', { hasText: 'Where the weights moved' }).scrollIntoViewIfNeeded();
        await cell.hover();
        const readout = report.locator('.unit-readout', { hasText: 'change ‖Δθ‖' }).first();
        await readout.waitFor({ timeout: 5_000 });
        const readoutText = (await readout.innerText()).trim();
        await shot(`report-heatmap-${name}.png`);
        facts.push(`readout "${readoutText}"`);
      });
      // The per-row toggle recolours the change strips: a cell whose bin differs between the two
      // scales (one in a row whose largest change is below its group's) must change colour.
      await step('report: heatmap per row', name, async () => {
        await openReport();
        const cells = report.locator('.heatmap svg.strip.change rect');
        const index = await cells.evaluateAll((rects) =>
          rects.findIndex((r) => {
            const bin = (scale) => [...r.classList].find((c) => new RegExp(`^${scale}\\d+$`).test(c))?.slice(1);
            return bin('g') !== undefined && bin('g') !== bin('r');
          }),
        );
        if (index < 0) throw new Error('report: no change cell whose bin differs between the group and the row scale');
        const cell = cells.nth(index);
        const toggle = report.locator('input.per-row');
        if (await toggle.isChecked()) await report.locator('.hm-toggle input:not(.per-row)').first().check();
        const before = await cell.evaluate((el) => getComputedStyle(el).fill);
        await toggle.check();
        const after = await cell.evaluate((el) => getComputedStyle(el).fill);
        const classes = await cell.getAttribute('class');
        if (before === after) throw new Error(`report: the per-row toggle left cell ${index} (${classes}) at ${before}`);
        await toggle.scrollIntoViewIfNeeded();
        await page.waitForTimeout(300);
        await shot(`report-heatmap-per-row-${name}.png`);
        facts.push(`per-row toggle on cell ${index} (${classes}): ${before} → ${after}`);
      });
      await step('report: per-layer change', name, async () => {
        await openReport();
        await report.locator('h2', { hasText: 'Per-layer change' }).scrollIntoViewIfNeeded();
        const bars = await report.locator('svg.bar-chart .bar-rect').count();
        if (bars !== run.layerChanges.length) throw new Error(`report: ${bars} bars, the run changed ${run.layerChanges.length} tensors`);
        await page.waitForTimeout(300);
        await shot(`report-layers-${name}.png`);
        facts.push(`${bars} bars`);
      });
      console.log(`  report (${name}): ${facts.join('; ')}`);
      await runCommand(page, 'View: Close All Editors').catch(() => {});
      // The inspector on the workspace model: layers and versions, then one image's importance.
      await step('inspector', name, async () => {
        await openInspector();
        await inspector.locator('#versions').waitFor({ timeout: 10_000 });
        await page.waitForTimeout(500);
        await shot(`inspector-${name}.png`);
        await inspector.locator('#versions').scrollIntoViewIfNeeded();
        await shot(`inspector-versions-${name}.png`);
        console.log(
          `  inspector (${name}): ${await inspector.locator('#layers tr.layer').count()} layers, ${await inspector.locator('#versions tbody tr').count()} versions`,
        );
      });
      // Choose Images… opens the editor's file dialog (in code-server: the simple file dialog, a
      // path box over a list of the folder). It opens on the workspace folder and writes that path
      // into the box once it has read the folder: a path typed before then is overwritten, and Enter
      // says "Please select a file". So: wait for the folder, type the image's path, wait for the list
      // to show it, Enter; once more if the dialog stays open.
      await step('inspector: importance', name, async () => {
        await openInspector();
        const image = ws.trainFiles[0].file;
        const dialog = page.locator('.quick-input-widget');
        const box = dialog.locator('input');
        const listed = (name) => dialog.locator('.quick-input-list .monaco-list-row', { hasText: name }).first();
        for (let attempt = 1; ; attempt++) {
          await inspector.locator('#choose-images').scrollIntoViewIfNeeded();
          await inspector.locator('#choose-images').click();
          await box.waitFor({ timeout: 10_000 });
          await listed('models').waitFor({ timeout: 15_000 });
          for (const until = Date.now() + 15_000; !(await box.inputValue()).startsWith(ws.dir); await page.waitForTimeout(200))
            if (Date.now() > until) throw new Error(`the file dialog's box says "${await box.inputValue()}", not the workspace folder`);
          await box.fill(image);
          await listed(path.basename(image)).waitFor({ timeout: 15_000 });
          await page.waitForTimeout(300);
          if ((await box.inputValue()) !== image) throw new Error(`the file dialog's box says "${await box.inputValue()}", not the image's path`);
          await page.keyboard.press('Enter');
          const closed = await dialog.waitFor({ state: 'hidden', timeout: 10_000 }).then(
            () => true,
            () => false,
          );
          if (closed) break;
          const message = (
            await dialog
              .locator('.quick-input-message')
              .innerText()
              .catch(() => '')
          ).trim();
          if (attempt === 2) throw new Error(`the file dialog did not take ${image}: "${message}"`);
          console.log(`  … the file dialog stayed open ("${message}"); once more`);
          await page.keyboard.press('Escape');
          await dialog.waitFor({ state: 'hidden', timeout: 5_000 });
        }
        const rows = inspector.locator('#importance-result .unit-row');
        await rows.first().waitFor({ timeout: 60_000 });
        await inspector.locator('#importance-result').scrollIntoViewIfNeeded();
        await page.waitForTimeout(500);
        await shot(`inspector-importance-${name}.png`);
        console.log(`  inspector (${name}): importance of ${path.basename(image)} in ${await rows.count()} rows`);
      });
      await runCommand(page, 'View: Close All Editors').catch(() => {});
    }
  } catch (e) {
    console.log(`  ✗ the report/inspector screenshots stopped: ${firstLine(e)}`);
  } finally {
    await context.close().catch(() => {});
    writeSettings(ws, {
      ...readSettings(ws),
      'unlearnLens.activeVersion': saved['unlearnLens.activeVersion'],
      'workbench.colorTheme': saved['workbench.colorTheme'],
    });
  }
  return { written, expected: EXPECTED, summary: summary() };
}
