// Extension tests, run inside the real extension host of code-server (extensionTestsPath).
// Plain CommonJS with a tiny runner: each test is named, timed and reported; results also go to
// a JSON file beside the workspace so the outer script can print them even if logs are lost.
/* eslint-disable @typescript-eslint/no-require-imports -- the extension host loads this file with require(), and `vscode` exists only there */
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const vscode = require('vscode');

const EXTENSION_ID = 'unlearn-lens.unlearn-lens';
const tests = [];
const test = (name, fn) => tests.push({ name, fn });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function ws() {
  return vscode.workspace.workspaceFolders[0].uri.fsPath;
}

async function waitFor(what, predicate, timeoutMs = 20000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await predicate();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** sha256 of every file under `dir`, by relative path. */
function hashTree(dir, out = {}, base = dir) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) hashTree(full, out, base);
    else out[path.relative(base, full)] = crypto.createHash('sha256').update(fs.readFileSync(full)).digest('hex');
  }
  return out;
}

/** Timer drift of the extension host's event loop while `work` runs: every lateness of a 10 ms interval. */
async function measureLag(work) {
  const drifts = [];
  let expected = performance.now() + 10;
  const timer = setInterval(() => {
    const now = performance.now();
    drifts.push(Math.max(0, now - expected));
    expected = now + 10;
  }, 10);
  try {
    const result = await work();
    return { result, drifts };
  } finally {
    clearInterval(timer);
  }
}

/** The extension host's timer drift (p99) a run may cause: far below one training step on this thread. */
const HOST_LAG_BOUND_MS = 250;

const percentile = (values, p) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
};

const config = () => vscode.workspace.getConfiguration('unlearnLens');
const versionsDir = () => path.join(ws(), 'models', 'fmnist-cnn16.versions');
const listVersions = () => (fs.existsSync(versionsDir()) ? fs.readdirSync(versionsDir()).filter((n) => !n.startsWith('.')) : []);
const measurements = {};

test('activates, and every command is registered', async () => {
  const ext = vscode.extensions.getExtension(EXTENSION_ID);
  assert.ok(ext, `${EXTENSION_ID} is installed`);
  await ext.activate();
  assert.equal(ext.isActive, true);
  const all = await vscode.commands.getCommands(true);
  for (const c of ['unlearnSelected', 'runExperiment', 'runDemo', 'selectModel', 'selectDataset', 'openGallery', 'cancelRun', 'restoreVersion', 'openReport']) {
    assert.ok(all.includes(`unlearnLens.${c}`), `unlearnLens.${c} registered`);
  }
  assert.equal(ext.exports.engineStarted(), false, 'the engine worker starts lazily');
});

test('the status bar names the backend in use before any run, never "auto"', async () => {
  const ext = vscode.extensions.getExtension(EXTENSION_ID);
  await waitFor('the status bar item with the model', () => /fmnist-cnn16/.test(ext.exports.statusText()));
  assert.match(ext.exports.statusText(), / · wasm$/);
  // auto with no tfjs-node in the workspace: the engine will run on wasm, and the status bar says so at once.
  await config().update('backend', 'auto', vscode.ConfigurationTarget.Workspace);
  try {
    assert.equal(ext.exports.engineStarted(), false);
    await waitFor('the status bar after the backend setting changed', () => / · wasm$/.test(ext.exports.statusText()));
    assert.doesNotMatch(ext.exports.statusText(), /auto/);
  } finally {
    await config().update('backend', 'wasm', vscode.ConfigurationTarget.Workspace);
  }
});

test('Select Model and Select Dataset remember their choice in workspace settings', async () => {
  const model = path.join(ws(), 'models', 'fmnist-cnn16', 'model.json');
  assert.equal(await vscode.commands.executeCommand('unlearnLens.selectModel', model), model);
  assert.equal(config().get('model'), 'models/fmnist-cnn16/model.json');
  const data = path.join(ws(), 'data', 'train');
  assert.equal(await vscode.commands.executeCommand('unlearnLens.selectDataset', data), data);
  assert.equal(config().get('dataset'), 'data/train');
});

test('Open Dataset Gallery lists the training images; a dataset that does not exist is an error, not a throw', async () => {
  const data = path.join(ws(), 'data', 'train');
  const images = fs
    .readdirSync(data, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .reduce((n, d) => n + fs.readdirSync(path.join(data, d.name)).filter((f) => f.endsWith('.png')).length, 0);
  assert.equal(await vscode.commands.executeCommand('unlearnLens.openGallery', data), images);
  assert.equal(await vscode.commands.executeCommand('unlearnLens.openGallery', path.join(ws(), 'data', 'no-such-folder')), undefined);
  await vscode.commands.executeCommand('workbench.action.closeAllEditors');
});

test('Cancel Run with nothing running says so and returns false', async () => {
  assert.equal(await vscode.commands.executeCommand('unlearnLens.cancelRun'), false);
});

test('diagnostics on a manifest: errors for a missing file, an unknown label, a non-image', async () => {
  const manifest = vscode.Uri.file(path.join(ws(), 'data', 'train.csv'));
  await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(manifest));
  const diagnostics = await waitFor('manifest error diagnostics', () => {
    const d = vscode.languages.getDiagnostics(manifest).filter((x) => x.severity === vscode.DiagnosticSeverity.Error);
    return d.length >= 3 ? d : undefined;
  });
  const byLine = Object.fromEntries(diagnostics.map((d) => [d.range.start.line, d]));
  assert.match(byLine[7].message, /does not exist/);
  assert.match(byLine[8].message, /unknown label "Jacket"/);
  assert.match(byLine[9].message, /not a PNG or JPEG/);
});

test('full unlearn of 4 samples through the Explorer command; event loop stays responsive', async () => {
  const files = fs
    .readdirSync(path.join(ws(), 'data', 'train'), { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .flatMap((e) => fs.readdirSync(path.join(ws(), 'data', 'train', e.name)).map((f) => path.join(ws(), 'data', 'train', e.name, f)))
    .sort()
    .slice(0, 4);
  const uris = files.map((f) => vscode.Uri.file(f));
  const before = listVersions().length;
  const started = Date.now();
  const { result: record, drifts } = await measureLag(() => vscode.commands.executeCommand('unlearnLens.unlearnSelected', uris[0], uris));
  const seconds = (Date.now() - started) / 1000;
  assert.ok(record, 'the command returned a run record');
  assert.equal(record.forget.ids.length, 4);
  assert.equal(record.after.forget, 0, 'every selected instance is forgotten');
  assert.equal(record.stopped, 'forgotten');
  assert.ok(typeof record.after.test === 'number', 'test accuracy measured on data/test');
  assert.equal(listVersions().length, before + 1);
  assert.ok(fs.existsSync(path.join(versionsDir(), record.id, 'run.json')));
  assert.equal(config().get('activeVersion'), record.id, 'the new version is active');
  // Later tests use this run even when the responsiveness check below fails (a loaded machine).
  measurements.lastRun = record.id;
  const p50 = percentile(drifts, 50);
  const p99 = percentile(drifts, 99);
  const max = Math.max(...drifts);
  measurements.unlearnSeconds = seconds;
  measurements.eventLoopLag = { samples: drifts.length, p50, p99, max };
  console.log(
    `[measure] unlearn of 4 samples: ${seconds.toFixed(1)} s; extension-host timer drift over ${drifts.length} ticks: p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, max ${max.toFixed(1)} ms`,
  );
  // Tensor math on this thread would stall it for a whole training step (1–3 s here); a machine busy with
  // other work adds tens of milliseconds of drift on its own, so the bound sits well between the two.
  assert.ok(p99 < HOST_LAG_BOUND_MS, `timer drift p99 ${p99.toFixed(1)} ms < ${HOST_LAG_BOUND_MS} ms`);
});

test('forgotten manifest rows get a note at the end of the line (not a problem) and hovers show before/after', async () => {
  const manifest = vscode.Uri.file(path.join(ws(), 'data', 'train.csv'));
  await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(manifest));
  const api = vscode.extensions.getExtension(EXTENSION_ID).exports;
  const notes = await waitFor('forgotten notes', () => {
    const n = api.manifestNotes(manifest).filter((x) => /forgotten in run/.test(x.text));
    return n.length > 0 ? n : undefined;
  });
  assert.match(notes[0].text, /^✓ forgotten in run .+: was .+, now .+$/);
  assert.equal(vscode.languages.getDiagnostics(manifest).filter((x) => x.severity === vscode.DiagnosticSeverity.Information).length, 0);
  const hovers = await vscode.commands.executeCommand('vscode.executeHoverProvider', manifest, new vscode.Position(notes[0].line, 2));
  const text = hovers.flatMap((h) => h.contents.map((c) => (typeof c === 'string' ? c : c.value))).join('\n');
  assert.match(text, /before&nbsp;&nbsp;\|&nbsp;&nbsp;after/);
});

test('CodeLens over training code that loads or saves the model', async () => {
  for (const file of ['train.py', 'train.js']) {
    const uri = vscode.Uri.file(path.join(ws(), file));
    await vscode.workspace.openTextDocument(uri);
    const lenses = await waitFor(`lenses in ${file}`, async () => {
      const l = await vscode.commands.executeCommand('vscode.executeCodeLensProvider', uri, 10);
      return l && l.length ? l : undefined;
    });
    const titles = lenses.map((l) => l.command && l.command.title);
    // Both files load the original model while a version is active.
    assert.ok(
      titles.some((t) => /loads the original, un-erased weights — Load the active version$/.test(t)),
      `${file}: ${titles.join(' | ')}`,
    );
    assert.ok(
      titles.some((t) => /^active version .+: 1 run: \d of 4 instances forgotten/.test(t)),
      `${file}: ${titles.join(' | ')}`,
    );
  }
});

test('Open Report shows the run in a webview', async () => {
  assert.equal(await vscode.commands.executeCommand('unlearnLens.openReport', measurements.lastRun), true);
});

test('Restore Model Version switches the active version and deletes nothing', async () => {
  const before = listVersions();
  assert.equal(await vscode.commands.executeCommand('unlearnLens.restoreVersion', 'original'), 'original');
  assert.equal(config().get('activeVersion') || '', '');
  assert.equal(await vscode.commands.executeCommand('unlearnLens.restoreVersion', measurements.lastRun), measurements.lastRun);
  assert.equal(config().get('activeVersion'), measurements.lastRun);
  assert.deepEqual(listVersions(), before);
});

test('Cancel stops a running unlearn and leaves every file byte-identical', async () => {
  // Slow settings (paper defaults for the attack) so that the run is still going when cancelled.
  await config().update('attack.steps', 100, vscode.ConfigurationTarget.Workspace);
  await config().update('attack.examplesPerInstance', 20, vscode.ConfigurationTarget.Workspace);
  try {
    // A whole class-folder dataset selected as one folder: 20 images, 400 adversarial examples.
    const files = [vscode.Uri.file(path.join(ws(), 'data', 'train'))];
    const hashesBefore = hashTree(ws());
    const ext = vscode.extensions.getExtension(EXTENSION_ID);
    let stopMs = 0;
    const { result, drifts } = await measureLag(async () => {
      const run = vscode.commands.executeCommand('unlearnLens.unlearnSelected', files[0], files);
      await waitFor('the run to start', () => ext.exports.busy());
      await sleep(2500);
      const t0 = Date.now();
      assert.equal(await vscode.commands.executeCommand('unlearnLens.cancelRun'), true);
      const value = await run;
      stopMs = Date.now() - t0;
      return value;
    });
    measurements.eventLoopLagDuringPgd = { samples: drifts.length, p50: percentile(drifts, 50), p99: percentile(drifts, 99), max: Math.max(...drifts) };
    console.log(
      `[measure] timer drift during the PGD attack of 20 images: p99 ${measurements.eventLoopLagDuringPgd.p99.toFixed(1)} ms, max ${measurements.eventLoopLagDuringPgd.max.toFixed(1)} ms over ${drifts.length} ticks`,
    );
    assert.ok(
      measurements.eventLoopLagDuringPgd.p99 < HOST_LAG_BOUND_MS,
      `timer drift p99 during PGD ${measurements.eventLoopLagDuringPgd.p99.toFixed(1)} ms < ${HOST_LAG_BOUND_MS} ms`,
    );
    measurements.cancelMs = stopMs;
    console.log(`[measure] cancel took effect in ${stopMs} ms`);
    assert.equal(result, undefined, 'a cancelled run returns no record');
    assert.equal(ext.exports.busy(), false);
    assert.deepEqual(hashTree(ws()), hashesBefore, 'no file was written, changed or removed');
  } finally {
    await config().update('attack.steps', undefined, vscode.ConfigurationTarget.Workspace);
    await config().update('attack.examplesPerInstance', undefined, vscode.ConfigurationTarget.Workspace);
    await config().update('attack.steps', 5, vscode.ConfigurationTarget.Workspace);
    await config().update('attack.examplesPerInstance', 2, vscode.ConfigurationTarget.Workspace);
  }
});

test('runs queue: a second request waits for the first', async () => {
  const coat = fs.readdirSync(path.join(ws(), 'data', 'train', 'Coat')).map((f) => vscode.Uri.file(path.join(ws(), 'data', 'train', 'Coat', f)));
  const bag = fs.readdirSync(path.join(ws(), 'data', 'train', 'Bag')).map((f) => vscode.Uri.file(path.join(ws(), 'data', 'train', 'Bag', f)));
  const [a, b] = await Promise.all([
    vscode.commands.executeCommand('unlearnLens.unlearnSelected', coat[0], coat),
    vscode.commands.executeCommand('unlearnLens.unlearnSelected', bag[0], bag),
  ]);
  assert.ok(a && b);
  assert.ok(new Date(a.createdAt) < new Date(b.createdAt));
  assert.equal(b.model.path, a.result.path, 'the second run continued from the first (continual unlearning)');
});

/** The Models and Runs view's nodes, as VS Code passes them to the view's commands. */
async function viewNodes() {
  const api = vscode.extensions.getExtension(EXTENSION_ID).exports;
  const models = await api.view.children();
  const model = models.find((n) => n.kind === 'model' && n.modelJson.endsWith(path.join('fmnist-cnn16', 'model.json')));
  assert.ok(model, 'the view lists fmnist-cnn16');
  return { api, model, runs: await api.view.children(model) };
}

/** Starts a command and checks it is waiting for the user (a quick pick), not running or failing; then dismisses it. */
async function asksTheUser(command, ...args) {
  const ext = vscode.extensions.getExtension(EXTENSION_ID);
  let settled = false;
  const pending = Promise.resolve(vscode.commands.executeCommand(command, ...args)).finally(() => (settled = true));
  await sleep(1500);
  assert.equal(settled, false, `${command} waits for an answer`);
  assert.equal(ext.exports.busy(), false, `${command} started nothing`);
  await vscode.commands.executeCommand('workbench.action.closeQuickOpen');
  return pending;
}

test('the Models and Runs view: runs newest first, labelled with method, k, when and what was forgotten; a click opens the report', async () => {
  const { api, model, runs } = await viewNodes();
  const records = runs.map((n) => n.run.record);
  assert.ok(runs.length >= 3, `${runs.length} runs`);
  assert.deepEqual(
    records.map((r) => r.createdAt),
    [...records.map((r) => r.createdAt)].sort().reverse(),
    'newest first',
  );
  assert.match(api.view.item(model).description, /active · \d+ runs/);
  for (const node of runs) {
    const item = api.view.item(node);
    const r = node.run.record;
    assert.match(item.label, new RegExp(`^${r.options.method.replace('+', '\\+')}, k = ${r.forget.ids.length} · (just now|\\d+ min ago)$`));
    const first = r.forget.ids[0].split(path.sep).slice(-2).join('/');
    assert.ok(item.description.includes(first), `"${item.description}" names ${first}`);
    assert.match(item.tooltip.value, /Forgot: /);
    assert.equal(item.command.command, 'unlearnLens.openReport');
  }
  const older = runs[runs.length - 1];
  const click = api.view.item(older).command;
  assert.equal(await vscode.commands.executeCommand(click.command, ...click.arguments), true, 'clicking a run opens its report');
  await vscode.commands.executeCommand('workbench.action.closeAllEditors');
});

test('the view-title commands with a selected node: Restore restores that run, the beaker and Select Model ask, the gallery opens', async () => {
  const { model, runs } = await viewNodes();
  const before = config().get('activeVersion');
  const older = runs[runs.length - 1];
  try {
    // Restore Model Version from a run node (or its action child) restores that run.
    assert.equal(await vscode.commands.executeCommand('unlearnLens.restoreVersion', older), older.run.id);
    assert.equal(config().get('activeVersion'), older.run.id);
    const { api } = await viewNodes();
    const [, restoreAction] = await api.view.children(runs[0]);
    assert.equal(restoreAction.action, 'restore');
    assert.equal(await vscode.commands.executeCommand('unlearnLens.restoreVersion', restoreAction), runs[0].run.id);
    // From the model node it asks which version.
    assert.equal(await asksTheUser('unlearnLens.restoreVersion', model), undefined);
    assert.equal(config().get('activeVersion'), runs[0].run.id, 'dismissing the question changes nothing');
    // The beaker asks which model and data instead of running on the embedded model.
    assert.equal(await asksTheUser('unlearnLens.runExperiment', older), undefined);
    assert.equal(await asksTheUser('unlearnLens.runExperiment', model), undefined);
    // Select Model… asks, and keeps the model when dismissed.
    const modelSetting = config().get('model');
    assert.equal(await asksTheUser('unlearnLens.selectModel', older), undefined);
    assert.equal(config().get('model'), modelSetting);
    // Open Dataset Gallery opens the configured dataset.
    const images = fs
      .readdirSync(path.join(ws(), 'data', 'train'), { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .reduce((n, d) => n + fs.readdirSync(path.join(ws(), 'data', 'train', d.name)).filter((f) => f.endsWith('.png')).length, 0);
    assert.equal(await vscode.commands.executeCommand('unlearnLens.openGallery', older), images);
    // Open Report from a run's context menu or inline button.
    assert.equal(await vscode.commands.executeCommand('unlearnLens.openReport', older), true);
  } finally {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    await vscode.commands.executeCommand('unlearnLens.restoreVersion', before || 'original');
  }
});

test('a run whose guard tripped and carried on is damage: the view marks it with a warning and says why', async () => {
  const before = config().get('activeVersion');
  await vscode.commands.executeCommand('unlearnLens.restoreVersion', 'original');
  await config().update('guard.action', 'report', vscode.ConfigurationTarget.Workspace);
  await config().update('guard.minAgreement', 0.99, vscode.ConfigurationTarget.Workspace);
  await config().update('guard.every', 2, vscode.ConfigurationTarget.Workspace);
  try {
    const dir = path.join(ws(), 'data', 'train', 'Sneaker');
    const files = fs.readdirSync(dir).map((f) => vscode.Uri.file(path.join(dir, f)));
    const record = await vscode.commands.executeCommand('unlearnLens.unlearnSelected', files[0], files);
    assert.ok(record, 'the run finished');
    assert.ok(record.guard.tripped, 'the strict guard tripped');
    assert.equal(record.guard.tripped.action, 'report');
    const { api, runs } = await viewNodes();
    const node = runs.find((n) => n.run.id === record.id);
    assert.equal(runs[0], node, 'the new run is listed first');
    const item = api.view.item(node);
    assert.equal(item.iconPath.id, 'warning');
    assert.equal(item.contextValue, 'run.damaged');
    assert.match(item.description, /^active · damaged · /);
    assert.match(item.tooltip.value, new RegExp(`Damage: the collateral\\-damage guard tripped at step ${record.guard.tripped.step} `));
    // Undamaged runs keep their plain icon.
    for (const other of runs.filter((n) => !n.run.record.guard.tripped && n.run.record.after.test - n.run.record.before.test > -0.05))
      assert.notEqual(api.view.item(other).iconPath.id, 'warning');
  } finally {
    await config().update('guard.action', undefined, vscode.ConfigurationTarget.Workspace);
    await config().update('guard.minAgreement', undefined, vscode.ConfigurationTarget.Workspace);
    await config().update('guard.every', undefined, vscode.ConfigurationTarget.Workspace);
    await vscode.commands.executeCommand('unlearnLens.restoreVersion', before || 'original');
  }
});

test('Run Experiment writes a table and a CSV into the workspace', async () => {
  const out = await vscode.commands.executeCommand('unlearnLens.runExperiment', {
    model: path.join(ws(), 'models', 'fmnist-cnn16', 'model.json'),
    trainData: path.join(ws(), 'data', 'train'),
    testData: path.join(ws(), 'data', 'test'),
    methods: ['naive', 'adv+imp'],
    ks: [2],
    seeds: [0],
  });
  assert.ok(out, 'the experiment returned its outputs');
  assert.equal(out.summary.rows.length, 3);
  assert.match(fs.readFileSync(out.markdown, 'utf8'), /\| k \| seed \| method \|/);
  assert.equal(fs.readFileSync(out.csv, 'utf8').trim().split('\n').length, 4);
});

test('Unlearn Selected Samples on selected manifest lines; a capped run leaves Warnings on remembered rows', async () => {
  await config().update('maxEpochs', 1, vscode.ConfigurationTarget.Workspace);
  await config().update('method', 'naive', vscode.ConfigurationTarget.Workspace);
  try {
    const manifest = vscode.Uri.file(path.join(ws(), 'data', 'train.csv'));
    const editor = await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(manifest));
    // Lines 5 and 6 (0-based): rows no earlier test selected.
    editor.selection = new vscode.Selection(5, 0, 6, 3);
    const record = await vscode.commands.executeCommand('unlearnLens.unlearnSelected');
    assert.ok(record, 'the run finished');
    assert.equal(record.forget.ids.length, 2);
    assert.equal(record.stopped, 'max-epochs', 'one epoch of the negative gradient is not enough here');
    // Still remembered: a Warning; forgotten: a note at the end of the line, not a problem.
    const api = vscode.extensions.getExtension(EXTENSION_ID).exports;
    const remembered = record.forget.ids.map((_, i) => record.forget.predictedAfter[i] === record.forget.labels[i]);
    await waitFor('diagnostics or notes on lines 5 and 6', () => {
      const d = vscode.languages.getDiagnostics(manifest);
      const notes = api.manifestNotes(manifest);
      return [5, 6].every((line, i) =>
        remembered[i] ? d.some((x) => x.range.start.line === line && x.severity === vscode.DiagnosticSeverity.Warning) : notes.some((n) => n.line === line),
      );
    });
    // (Other Warnings may say an earlier erasure came back in a continual run; these are the capped ones.)
    const warnings = vscode.languages.getDiagnostics(manifest).filter((x) => x.severity === vscode.DiagnosticSeverity.Warning && x.code === 'remembered');
    for (const w of warnings) assert.match(w.message, /^still remembered after run .+ cap of 1 epoch\. /);
  } finally {
    await config().update('maxEpochs', undefined, vscode.ConfigurationTarget.Workspace);
    await config().update('method', undefined, vscode.ConfigurationTarget.Workspace);
  }
});

test('Run Experiment on the embedded default model and data', async () => {
  await config().update('method', undefined, vscode.ConfigurationTarget.Workspace);
  const out = await vscode.commands.executeCommand('unlearnLens.runExperiment', { model: 'embedded', methods: ['naive'], ks: [1], seeds: [0] });
  assert.ok(out, 'the experiment returned its outputs');
  assert.equal(out.summary.model, 'fmnist-resnet8-w16-aug');
  assert.deepEqual(
    out.summary.rows.map((r) => r.method),
    ['before', 'naive'],
  );
  assert.equal(out.summary.rows[0].forget, 1, 'the chosen instance is recognised before');
});

test('Run Demo starts the demo on the embedded model, and Cancel Run stops it', async () => {
  const ext = vscode.extensions.getExtension(EXTENSION_ID);
  const run = vscode.commands.executeCommand('unlearnLens.runDemo');
  await waitFor('the demo to start', () => ext.exports.busy());
  await sleep(1000);
  const t0 = Date.now();
  assert.equal(await vscode.commands.executeCommand('unlearnLens.cancelRun'), true);
  assert.equal(await run, undefined);
  measurements.demoCancelMs = Date.now() - t0;
  console.log(`[measure] demo cancelled during its set-up in ${measurements.demoCancelMs} ms`);
  assert.ok(measurements.demoCancelMs < 5000, 'Cancel stops the work within seconds, whatever phase it is in');
  assert.equal(ext.exports.busy(), false);
  // The engine comes back for the next request (a fresh worker if the old one had to be stopped).
  const manifest = vscode.Uri.file(path.join(ws(), 'data', 'train.csv'));
  await vscode.workspace.openTextDocument(manifest);
});

test('the preset setting reaches the engine; options set by the user override it', async () => {
  await config().update('preset', 'bounded', vscode.ConfigurationTarget.Workspace);
  await config().update('stopMargin', 0.25, vscode.ConfigurationTarget.Workspace);
  try {
    const dir = path.join(ws(), 'data', 'train', 'Dress');
    const files = fs.readdirSync(dir).map((f) => vscode.Uri.file(path.join(dir, f)));
    const record = await vscode.commands.executeCommand('unlearnLens.unlearnSelected', files[0], files);
    assert.ok(record, 'the run finished');
    assert.equal(record.options.forgetTerm, 'margin', 'from the preset');
    assert.equal(record.options.stopMargin, 0.25, 'the user setting wins over the preset');
    assert.equal(record.options.attack.steps, 5, 'workspace settings still apply');
    assert.ok(record.guard && typeof record.guard.agreement === 'number', 'the run record carries the guard report');
  } finally {
    await config().update('preset', undefined, vscode.ConfigurationTarget.Workspace);
    await config().update('stopMargin', undefined, vscode.ConfigurationTarget.Workspace);
  }
});

test('a user error (image of the wrong size) is reported, not thrown', async () => {
  const odd = path.join(ws(), 'data', 'odd', 'Coat', 'big.png');
  fs.mkdirSync(path.dirname(odd), { recursive: true });
  fs.copyFileSync(path.join(ws(), 'data', 'not-an-image.png'), odd);
  const result = await vscode.commands.executeCommand('unlearnLens.unlearnSelected', vscode.Uri.file(odd), [vscode.Uri.file(odd)]);
  assert.equal(result, undefined);
});

// Views that tell the truth about the active model (issue 15: the gallery, diagnostics, CodeLens, the tree).
require('./truth')(test, { ws, config, waitFor, sleep, EXTENSION_ID });

// The run report and the model inspector (test/integration/suite/report.js).
require('./report').register(test, measurements);

/**
 * Tests that fail on main for a defect not fixed yet, by name, with the defect. They are listed in
 * the output on every run; remove an entry with its fix.
 */
const KNOWN_FAILURES = {};

exports.run = async function run() {
  const results = [];
  let failed = 0;
  const t0 = Date.now();
  // UNLEARN_LENS_TESTS (a regular expression, passed on by run.mjs in test-filter.txt): only the tests whose names match.
  const filterFile = path.join(path.dirname(ws()), 'test-filter.txt');
  const only = fs.existsSync(filterFile) ? new RegExp(fs.readFileSync(filterFile, 'utf8').trim()) : undefined;
  if (only) console.log(`  only the tests matching ${only}`);
  for (const t of tests.filter((x) => !only || only.test(x.name))) {
    const known = KNOWN_FAILURES[t.name];
    if (known) {
      // Not run, and said out loud: a defect found by this test and not fixed yet.
      results.push({ name: t.name, ok: true, skipped: known, ms: 0 });
      console.log(`  - ${t.name}: NOT RUN, known failure: ${known}`);
      continue;
    }
    const started = Date.now();
    try {
      await t.fn();
      results.push({ name: t.name, ok: true, ms: Date.now() - started });
      console.log(`  ✓ ${t.name} (${Date.now() - started} ms)`);
    } catch (e) {
      failed++;
      results.push({ name: t.name, ok: false, ms: Date.now() - started, error: String((e && e.stack) || e) });
      console.log(
        `  ✗ ${t.name}\n    ${String((e && e.stack) || e)
          .split('\n')
          .join('\n    ')}`,
      );
    }
  }
  const file = path.join(path.dirname(ws()), 'extension-test-results.json');
  fs.writeFileSync(file, JSON.stringify({ results, measurements, seconds: (Date.now() - t0) / 1000 }, null, 2));
  if (failed) throw new Error(`${failed} of ${tests.length} extension tests failed`);
};
