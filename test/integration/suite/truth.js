// Extension-host tests of views that tell the truth about the active model (issue 15: defects 1, 9,
// 10, 11): the gallery, manifest diagnostics and hovers, CodeLens and the tree derive each
// instance's state from the active version's chain of run records, show the active model's
// predictions and the pre-flight estimate, and point training code at the active version.
// Registered by index.js: require('./truth')(test, helpers).
/* eslint-disable @typescript-eslint/no-require-imports -- the extension host loads this file with require(), and `vscode` exists only there */
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const vscode = require('vscode');

module.exports = function registerTruthTests(test, h) {
  const { ws, config, waitFor, EXTENSION_ID } = h;
  const api = () => vscode.extensions.getExtension(EXTENSION_ID).exports;
  const versions = () => path.join(ws(), 'models', 'fmnist-cnn16.versions');
  const manifest = () => vscode.Uri.file(path.join(ws(), 'data', 'train.csv'));
  /** What the tests share: the real run (R1), the continual run whose record says R1's instances came back (R2). */
  const state = {};

  /** The manifest's rows: line → absolute image file. */
  function manifestRows() {
    const lines = fs.readFileSync(manifest().fsPath, 'utf8').split('\n');
    const rows = new Map();
    lines.forEach((l, i) => {
      const [p] = l.split(',');
      if (i > 0 && p && fs.existsSync(path.join(ws(), 'data', p)) && /\.png$/.test(p) && !rows.has(path.join(ws(), 'data', p)))
        rows.set(path.join(ws(), 'data', p), i);
    });
    return rows;
  }

  /**
   * Puts a file back as it was: on disk (VS Code saves the files a code action edits, by its
   * files.refactoring.autoSave setting) and in its editor.
   */
  async function restoreFile(uri, text) {
    // The editor's text is set and saved (a write on disk and a revert raced with the auto-save).
    const doc = await vscode.workspace.openTextDocument(uri);
    if (doc.getText() !== text) {
      const edit = new vscode.WorkspaceEdit();
      edit.replace(uri, new vscode.Range(doc.positionAt(0), doc.positionAt(doc.getText().length)), text);
      assert.ok(await vscode.workspace.applyEdit(edit), `${uri.fsPath}: the edit that restores it was applied`);
    }
    if (doc.isDirty) await doc.save();
    await waitFor(`${path.basename(uri.fsPath)} restored`, () => doc.getText() === text && fs.readFileSync(uri.fsPath, 'utf8') === text);
  }

  async function galleryPage(cls = -1, filter = 'all') {
    const page = await api().gallery.show(cls, filter);
    assert.ok(page, 'the gallery sent a page');
    return page;
  }

  async function lensTitles(file) {
    const uri = vscode.Uri.file(path.join(ws(), file));
    await vscode.workspace.openTextDocument(uri);
    const lenses = await waitFor(`lenses in ${file}`, async () => {
      const l = await vscode.commands.executeCommand('vscode.executeCodeLensProvider', uri, 10);
      return l && l.length ? l : undefined;
    });
    return lenses.map((l) => ({ line: l.range.start.line, title: l.command && l.command.title }));
  }

  test('truth: the gallery shows the active model\'s prediction per thumbnail; a run\'s instances are forgotten with "was X, now Y" right', async () => {
    await vscode.commands.executeCommand('unlearnLens.restoreVersion', 'original');
    const data = path.join(ws(), 'data', 'train');
    assert.ok(await vscode.commands.executeCommand('unlearnLens.openGallery', data));
    const page = await waitFor(
      'predictions on every thumbnail',
      async () => {
        const p = await galleryPage();
        return p.items.every((i) => i.predicted !== undefined) ? p : undefined;
      },
      60000,
    ).catch((e) => {
      throw new Error(`${e.message}; the log says:\n${api().logTail().slice(-15).join('\n')}`);
    });
    // Misclassified exactly when the prediction is not the label.
    for (const item of page.items) assert.equal(!!item.misclassified, item.predicted !== item.label, `${item.name}: ${item.label} → ${item.predicted}`);
    // Two manifest rows the original model gets right: the run must have something to forget.
    const rows = manifestRows();
    const right = page.items.filter((i) => rows.has(i.key) && !i.misclassified);
    assert.ok(right.length >= 3, `${right.length} manifest rows predicted right by the original model`);
    const [a, b, c] = right;
    state.files = [a.key, b.key];
    state.third = c;
    state.labels = Object.fromEntries(page.items.map((i) => [i.key, i.label]));
    const record = await vscode.commands.executeCommand('unlearnLens.unlearnSelected', vscode.Uri.file(a.key), [
      vscode.Uri.file(a.key),
      vscode.Uri.file(b.key),
    ]);
    assert.ok(record, 'the run finished');
    assert.equal(config().get('activeVersion'), record.id);
    state.r1 = record;
    const after = await waitFor(
      'the forgotten state in the gallery',
      async () => {
        const p = await galleryPage();
        const mine = p.items.filter((i) => state.files.includes(i.key));
        return mine.length === 2 && mine.every((i) => i.state === 'forgotten' && i.predicted !== undefined) ? p : undefined;
      },
      30000,
    );
    for (const item of after.items.filter((i) => state.files.includes(i.key))) {
      const k = record.forget.ids.indexOf(item.key);
      const names = record.forget.classNames;
      // The engine's prediction at the end of the run and the gallery's prediction on the saved version agree.
      assert.equal(item.predicted, names[record.forget.predictedAfter[k]], `${item.name}: gallery and run record`);
      assert.ok(item.misclassified, 'a forgotten instance is marked misclassified');
      assert.ok(item.title.includes(`forgotten in run ${record.id}: was ${item.label}, now ${item.predicted}`), item.title);
    }
  });

  test('truth: gallery filters (forgotten, came back, misclassified, with a class) and the pre-flight estimate of a selection', async () => {
    assert.ok(state.r1, 'needs the run of the test before');
    const forgotten = await galleryPage(-1, 'forgotten');
    assert.deepEqual(forgotten.items.map((i) => i.key).sort(), [...state.files].sort());
    assert.equal(forgotten.filterCounts.forgotten, 2);
    const wrong = await galleryPage(-1, 'misclassified');
    assert.ok(wrong.items.length >= 2 && wrong.items.every((i) => i.misclassified), 'only misclassified ones');
    assert.equal(wrong.items.length, wrong.filterCounts.misclassified);
    for (const f of state.files) assert.ok(wrong.items.some((i) => i.key === f));
    assert.equal((await galleryPage(-1, 'came-back')).items.length, 0, 'nothing came back yet');
    const cls = forgotten.classNames.indexOf(state.labels[state.files[0]]);
    const inClass = await galleryPage(cls, 'forgotten');
    assert.ok(inClass.items.length >= 1 && inClass.items.every((i) => i.label === state.labels[state.files[0]]));
    const all = await galleryPage(-1, 'all');
    assert.equal(all.items.length, all.filterCounts.all);
    // The pre-flight estimate of two selected thumbnails, from the engine worker.
    const keys = all.items
      .filter((i) => !state.files.includes(i.key))
      .slice(0, 2)
      .map((i) => i.key);
    const estimate = await api().gallery.estimate(keys);
    assert.equal(estimate.items.length, 2);
    for (const e of estimate.items) {
      assert.ok(e.verdict === 'typical' || e.verdict === 'memorised', JSON.stringify(e));
      assert.match(e.title, /^pre-flight: (typical|memorised) — a model trained without it would/);
    }
    assert.match(estimate.summary, /^Pre-flight estimate: \d of 2 selected look typical/);
  });

  test('truth: manifest diagnostics say paths relative to the workspace, offer quick fixes, and keep "forgotten" out of the Problems panel', async () => {
    assert.ok(state.r1, 'needs the run of the first truth test');
    const uri = manifest();
    const editor = await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(uri));
    const rows = manifestRows();
    const lines = state.files.map((f) => rows.get(f));
    await waitFor(
      'notes on the forgotten rows',
      () =>
        lines.every((l) =>
          api()
            .manifestNotes(uri)
            .some((n) => n.line === l && n.text.includes(`forgotten in run ${state.r1.id}`)),
        ),
      30000,
    );
    const diagnostics = await waitFor('the three error diagnostics', () => {
      const d = vscode.languages.getDiagnostics(uri).filter((x) => x.severity === vscode.DiagnosticSeverity.Error);
      return d.length >= 3 ? d : undefined;
    });
    for (const d of diagnostics) {
      assert.ok(!d.message.includes(ws()), `no absolute path: ${d.message}`);
      assert.doesNotMatch(d.message, /^Line \d+ of /);
    }
    assert.equal(
      vscode.languages.getDiagnostics(uri).filter((x) => x.severity === vscode.DiagnosticSeverity.Information).length,
      0,
      'no Information diagnostics',
    );
    for (const l of lines) assert.ok(!vscode.languages.getDiagnostics(uri).some((d) => d.range.start.line === l), `line ${l}: forgotten is not a problem`);
    // The unknown label "Jacket": fix it to the class of the image's folder, or remove the line.
    const unknown = diagnostics.find((d) => /unknown label "Jacket"/.test(d.message));
    assert.ok(unknown);
    const actions = await vscode.commands.executeCommand('vscode.executeCodeActionProvider', uri, unknown.range);
    const titles = actions.map((a) => a.title);
    assert.ok(titles.includes('Remove this line'), titles.join(' | '));
    const fix = actions.find((a) => /^Fix label to "/.test(a.title));
    assert.ok(fix, titles.join(' | '));
    const line = unknown.range.start.line;
    const before = editor.document.lineAt(line).text;
    const original = fs.readFileSync(uri.fsPath, 'utf8');
    const folderClass = before.split(',')[0].split('/').slice(-2)[0];
    try {
      assert.ok(await vscode.workspace.applyEdit(fix.edit));
      const fixed = editor.document.lineAt(line).text;
      assert.equal(fixed, before.replace(/,Jacket$/, `,${fix.title.match(/^Fix label to "(.*)"$/)[1]}`));
      assert.ok(
        fix.title.includes(folderClass.replace(/_/g, '')) || fix.title.includes(folderClass.replace(/_/g, '/')),
        `${fix.title} names the image's folder ${folderClass}`,
      );
      const missing = vscode.languages.getDiagnostics(uri).find((d) => /does not exist/.test(d.message));
      const removal = (await vscode.commands.executeCommand('vscode.executeCodeActionProvider', uri, missing.range)).find(
        (a) => a.title === 'Remove this line',
      );
      const count = editor.document.lineCount;
      assert.ok(await vscode.workspace.applyEdit(removal.edit));
      assert.equal(editor.document.lineCount, count - 1);
    } finally {
      await restoreFile(uri, original);
    }
    assert.equal(editor.document.lineAt(line).text, before, 'restored');
    // The hover: what happened, the active model's prediction, the pre-flight estimate; a table with spaced cells.
    const hovers = await vscode.commands.executeCommand('vscode.executeHoverProvider', uri, new vscode.Position(lines[0], 2));
    const text = hovers.flatMap((x) => x.contents.map((c) => (typeof c === 'string' ? c : c.value))).join('\n');
    assert.ok(text.includes(`forgotten in run ${state.r1.id}`), text);
    assert.match(text, /the active model predicts \*\*.+\*\* \(misclassified\)/);
    assert.match(text, /pre-flight: (typical|memorised)|still computing/);
    assert.match(text, /\|&nbsp;&nbsp;run&nbsp;&nbsp;\|/);
  });

  test('truth: CodeLens knows the file a line loads: the original gets a warning and "Load the active version" rewrites the path; a save gets its own lens', async () => {
    assert.ok(state.r1, 'needs the run of the first truth test');
    const js = vscode.Uri.file(path.join(ws(), 'train.js'));
    const titles = await lensTitles('train.js');
    const here = titles.filter((t) => t.line === 1).map((t) => t.title);
    assert.ok(here.includes('$(warning) Unlearn Lens: loads the original, un-erased weights — Load the active version'), here.join(' | '));
    assert.ok(here.includes(`active version ${state.r1.id}: 1 run: 2 of 2 instances forgotten`), here.join(' | '));
    const actions = await vscode.commands.executeCommand('vscode.executeCodeActionProvider', js, new vscode.Range(1, 0, 1, 0));
    assert.ok(
      actions.some((a) => a.title === 'Load the active version'),
      actions.map((a) => a.title).join(' | '),
    );
    const doc = await vscode.workspace.openTextDocument(js);
    await vscode.window.showTextDocument(doc);
    const original = fs.readFileSync(js.fsPath, 'utf8');
    try {
      const written = await vscode.commands.executeCommand('unlearnLens.loadActiveVersion', js, 1);
      assert.equal(written, `file://models/fmnist-cnn16.versions/${state.r1.id}/model.json`, 'relative like the original');
      assert.ok(doc.lineAt(1).text.includes(`'file://models/fmnist-cnn16.versions/${state.r1.id}/model.json'`), doc.lineAt(1).text);
      const now = await waitFor('the lens on the active version', async () => {
        const l = await vscode.commands.executeCommand('vscode.executeCodeLensProvider', js, 10);
        const t = l.map((x) => x.command && x.command.title).find((x) => /loads the active version/.test(x));
        return t;
      });
      assert.match(now, new RegExp(`loads the active version ${state.r1.id}: 1 run: 2 of 2 instances forgotten`));
    } finally {
      await restoreFile(js, original);
    }
    const py = await lensTitles('train.py');
    assert.ok(py.some((t) => t.line === 3 && /loads the original, un-erased weights/.test(t.title)));
    const save = py.find((t) => t.line === 5).title;
    assert.match(save, /saves a new model to models\/fmnist-cnn16-finetuned \(not a version/);
    assert.doesNotMatch(save, /loads/);
  });

  test("truth: Run Experiment shows its progress over the whole grid, then the table with each run's test change and damage flagged; it exports CSV and Markdown", async () => {
    const out = await vscode.commands.executeCommand('unlearnLens.runExperiment', {
      model: path.join(ws(), 'models', 'fmnist-cnn16', 'model.json'),
      trainData: path.join(ws(), 'data', 'train'),
      testData: path.join(ws(), 'data', 'test'),
      methods: ['naive', 'adv+imp'],
      ks: [2],
      seeds: [0],
    });
    assert.ok(out, 'the experiment finished');
    const view = api().experiment();
    assert.ok(view, 'the experiment has its view');
    assert.equal(view.state, 'done');
    assert.equal(view.lastProgress.total, 2);
    assert.equal(view.lastProgress.done, 2, 'both runs counted as done');
    const rows = view.resultRows;
    assert.deepEqual(
      rows.map((r) => r.method),
      ['before', 'naive', 'adv+imp'],
    );
    for (const r of rows.slice(1)) {
      assert.ok(Math.abs(r.testDrop - (r.test - rows[0].test)) < 1e-9);
      assert.equal(r.damaged, r.testDrop <= -0.05 + 1e-9);
    }
    // Above the table, the test change against k: one series per method, the damage threshold drawn;
    // the gap chart only with a retrained reference.
    const html = view.renderedHtml;
    const chart = /<svg class="experiment-chart" data-chart="drop"[\s\S]*?<\/svg>/.exec(html);
    assert.ok(chart, 'the panel shows the test-change chart');
    assert.equal((chart[0].match(/<g class="series /g) || []).length, 2, 'one series per method');
    assert.match(chart[0], /<g class="series s0" data-method="naive">[\s\S]*<g class="series s1" data-method="adv\+imp">/);
    assert.match(chart[0], /<g class="threshold">/);
    assert.ok(html.indexOf(chart[0]) < html.indexOf('<table>'), 'the chart comes before the table');
    assert.equal(
      html.includes('data-chart="gap"'),
      rows.some((r) => r.gap),
      'a gap chart exactly when a retrained reference exists',
    );
    const csv = await view.export('csv', vscode.Uri.file(path.join(ws(), 'unlearn-experiments', 'export.csv')));
    const lines = fs.readFileSync(csv, 'utf8').trim().split('\n');
    assert.equal(lines.length, 4);
    assert.match(lines[0], /^k,seed,method,forget,retain,test,test_change,damaged,/);
    const md = await view.export('markdown', vscode.Uri.file(path.join(ws(), 'unlearn-experiments', 'export.md')));
    assert.match(fs.readFileSync(md, 'utf8'), /\| k \| seed \| method \| forget % \| retain % \| test % \| test change \|/);
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    // Kept in the Models and Runs view: Experiments → this one, which opens its view again.
    const roots = await api().view.children();
    const experiments = roots.find((n) => n.kind === 'experiments');
    assert.ok(experiments, 'the view lists the experiments');
    const [newest] = await api().view.children(experiments);
    const item = api().view.item(newest);
    assert.equal(item.command.command, 'unlearnLens.openExperiment');
    assert.equal(await vscode.commands.executeCommand(item.command.command, ...item.command.arguments), true);
    assert.deepEqual(
      api()
        .experiment()
        .resultRows.map((r) => [r.method, r.test]),
      rows.map((r) => [r.method, r.test]),
      'the same table, read back',
    );
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  test('truth: after a later run whose record says the erased instances came back, every view says "came back in run …", none says forgotten', async () => {
    assert.ok(state.r1, 'needs the run of the first truth test');
    // The continual run's record as the engine writes it when the model predicts earlier erased
    // instances as their labels again (earlier.cameBack). Its weights are the original's, so the
    // active model really predicts them right again: the chain and the model agree.
    const r1Dir = path.join(versions(), state.r1.id);
    const r2Id = `${state.r1.id}-later`;
    const r2Dir = path.join(versions(), r2Id);
    fs.mkdirSync(r2Dir, { recursive: true });
    const original = path.join(ws(), 'models', 'fmnist-cnn16');
    for (const f of fs.readdirSync(original)) fs.copyFileSync(path.join(original, f), path.join(r2Dir, f));
    const r1 = JSON.parse(fs.readFileSync(path.join(r1Dir, 'run.json'), 'utf8'));
    const names = r1.forget.classNames;
    const thirdLabel = names.indexOf(state.third.label);
    const rel = (f) => path.relative(r2Dir, f).split(path.sep).join('/');
    const r2 = {
      ...r1,
      id: r2Id,
      createdAt: new Date(Date.parse(r1.createdAt) + 60000).toISOString(),
      model: { ...r1.model, path: `../${state.r1.id}/model.json`, sha256: r1.result.sha256 },
      result: { path: 'model.json', sha256: r1.model.sha256 },
      forget: { ids: [rel(state.third.key)], labels: [thirdLabel], predictedBefore: [thirdLabel], predictedAfter: [thirdLabel], classNames: names },
      before: { ...r1.after, forget: 1 },
      after: { ...r1.before, forget: 1 },
      stopped: 'max-epochs',
      earlier: { instances: 2, missing: 0, rememberedBefore: 0, rememberedAfter: 2, cameBack: state.files.map(rel), forgottenAgain: [] },
    };
    delete r2.audit;
    // One instance of r1's ADV request: the engine makes r1's examples per instance for it.
    if (r1.adversarial) r2.adversarial = { ...r1.adversarial, examples: r1.adversarial.examples / r1.forget.ids.length };
    fs.writeFileSync(path.join(r2Dir, 'run.json'), JSON.stringify(r2, null, 2));
    try {
      assert.equal(await vscode.commands.executeCommand('unlearnLens.restoreVersion', r2Id), r2Id);
      assert.ok(await vscode.commands.executeCommand('unlearnLens.openGallery', path.join(ws(), 'data', 'train')));
      // Gallery: came back, predicted as the label again.
      const page = await waitFor(
        'came-back badges',
        async () => {
          const p = await galleryPage();
          const mine = p.items.filter((i) => state.files.includes(i.key));
          return mine.length === 2 && mine.every((i) => i.state === 'came-back') ? p : undefined;
        },
        30000,
      );
      for (const item of page.items.filter((i) => state.files.includes(i.key))) {
        assert.ok(item.title.includes(`came back in run ${r2Id}`), item.title);
        assert.equal(item.predicted, item.label, 'the active model predicts the label again');
        assert.ok(!item.misclassified);
      }
      assert.deepEqual((await galleryPage(-1, 'came-back')).items.map((i) => i.key).sort(), [...state.files].sort());
      assert.equal((await galleryPage(-1, 'forgotten')).items.filter((i) => state.files.includes(i.key)).length, 0);
      // Manifest: a Warning that says it came back; no forgotten note; the hover says so too.
      const uri = manifest();
      await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(uri));
      const rows = manifestRows();
      const lines = state.files.map((f) => rows.get(f));
      await waitFor(
        'came-back warnings',
        () =>
          lines.every((l) =>
            vscode.languages
              .getDiagnostics(uri)
              .some((d) => d.range.start.line === l && d.severity === vscode.DiagnosticSeverity.Warning && d.message.startsWith(`came back in run ${r2Id}`)),
          ),
        30000,
      );
      for (const l of lines)
        assert.ok(
          !api()
            .manifestNotes(uri)
            .some((n) => n.line === l),
          'no forgotten note',
        );
      const hovers = await vscode.commands.executeCommand('vscode.executeHoverProvider', uri, new vscode.Position(lines[0], 2));
      const text = hovers.flatMap((x) => x.contents.map((c) => (typeof c === 'string' ? c : c.value))).join('\n');
      assert.ok(text.includes(`came back in run ${r2Id}`), text);
      assert.ok(!/^forgotten in run/m.test(text));
      // CodeLens: the chain's summary counts them as came back, not as erasures applied.
      const titles = await lensTitles('train.js');
      assert.ok(
        titles.some((t) => t.line === 1 && t.title === `active version ${r2Id}: 2 runs: 0 of 3 instances forgotten, 2 came back, 1 still remembered`),
        titles.map((t) => t.title).join(' | '),
      );
      // The tree: the first run's row says its instances came back.
      const models = await api().view.children();
      const model = models.find((n) => n.kind === 'model' && n.active);
      const runs = await api().view.children(model);
      const first = runs.find((n) => n.run.id === state.r1.id);
      // The tooltip is Markdown: its punctuation comes escaped (\\( …); read it as the user does.
      const tooltip = api()
        .view.item(first)
        .tooltip.value.replace(/\\([\\`*_{}[\]()#+\-.!|])/g, '$1');
      assert.ok(tooltip.includes(`2 instances this run erased came back (in run ${r2Id})`), tooltip);
      assert.match(api().view.item(first).description, /came back$/);
    } finally {
      await vscode.commands.executeCommand('unlearnLens.restoreVersion', state.r1.id);
      await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    }
  });
};
