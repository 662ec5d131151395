// What the screenshot passes (truthScreens.mjs, reportScreens.mjs) share: the palette, the theme
// switch, and steps that each take their own screenshots, so that one view that fails to show
// neither stops the other views nor the other theme.
import * as fs from 'node:fs';
import * as path from 'node:path';

export const THEMES = [
  ['light', 'Default Light Modern'],
  ['dark', 'Default Dark Modern'],
];

const settingsFile = (ws) => path.join(ws.dir, '.vscode', 'settings.json');
export const readSettings = (ws) => (fs.existsSync(settingsFile(ws)) ? JSON.parse(fs.readFileSync(settingsFile(ws), 'utf8')) : {});
export const writeSettings = (ws, settings) => fs.writeFileSync(settingsFile(ws), JSON.stringify(settings, null, 2));
export const updateSettings = (ws, change) => writeSettings(ws, { ...readSettings(ws), ...change });

export async function runCommand(page, title) {
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ timeout: 10_000 });
  await input.fill(`>${title}`);
  await page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first().click({ timeout: 10_000 });
}

/** Switches the workbench to `theme` through the workspace settings and waits until it is painted. */
export async function setTheme(page, ws, name, theme) {
  updateSettings(ws, { 'workbench.colorTheme': theme });
  await page.waitForFunction((dark) => document.querySelector('.monaco-workbench')?.classList.contains(dark ? 'vs-dark' : 'vs'), name === 'dark', {
    timeout: 15_000,
  });
  await page.waitForTimeout(800);
}

export const firstLine = (e) => String(e?.message ?? e).split('\n')[0];

/**
 * The steps of one pass. `shot(file)` saves a screenshot of the page; `step(name, theme, fn)` runs
 * one block and, when it throws, says so in one line, closes what it left open and goes on
 * (resolves with whether it ran through). `summary()` is the line that says what was written of
 * the `expected` file names, and what is missing.
 */
export function screenSteps(page, outDir, expected) {
  fs.mkdirSync(outDir, { recursive: true });
  const written = [];
  const shot = async (name) => {
    const file = path.join(outDir, name);
    await page.screenshot({ path: file });
    written.push(file);
  };
  const step = async (name, theme, fn) => {
    try {
      await fn();
      return true;
    } catch (e) {
      console.log(`  ✗ ${name} (${theme}): ${firstLine(e)}`);
      // UNLEARN_LENS_SCREENSHOT_FAILURES=<folder>: the page as the step left it, and the whole error.
      const failures = process.env.UNLEARN_LENS_SCREENSHOT_FAILURES;
      if (failures) {
        console.log(
          `    ${String(e?.stack ?? e)
            .split('\n')
            .join('\n    ')}`,
        );
        fs.mkdirSync(failures, { recursive: true });
        await page.screenshot({ path: path.join(failures, `failed-${name.replace(/\W+/g, '-')}-${theme}.png`) }).catch(() => {});
      }
      await page.keyboard.press('Escape').catch(() => {});
      await runCommand(page, 'View: Close All Editors').catch((e2) => console.log(`    (closing the editors failed too: ${firstLine(e2)})`));
      return false;
    }
  };
  const summary = () => {
    const names = new Set(written.map((f) => path.basename(f)));
    const missing = expected.filter((n) => !names.has(n));
    return `${names.size} of ${expected.length} screenshots written${missing.length ? `; missing: ${missing.join(', ')}` : ''}`;
  };
  return { shot, step, summary, written };
}
