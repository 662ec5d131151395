/**
 * The command line's help, through the real CLI: `unlearn-lens <command> --help` prints that
 * command's own help (and exits 0) for every command, the overview points there, and no help text
 * or the README sends the reader to a file that is not in this repository.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { BENCH_HELP, DEMO_HELP, EXPERIMENT_HELP, USAGE } from '../../src/cli/help';
import { UNLEARN_USAGE } from '../../src/cli/unlearn';

const run = promisify(execFile);
const repo = path.join(__dirname, '../..');
const cli = path.join(repo, 'src/cli/main.ts');
const unlearnLens = (args: string[]) => run(process.execPath, ['--import', 'tsx', cli, ...args], { timeout: 60_000 });

const cases: Array<[string, string, RegExp]> = [
  ['demo', DEMO_HELP, /--methods LIST/],
  ['experiment', EXPERIMENT_HELP, /--seeds LIST/],
  ['bench', BENCH_HELP, /--pgd-steps N/],
  ['unlearn', UNLEARN_USAGE, /--manifest FILE/],
];

for (const [command, text, option] of cases) {
  test(`unlearn-lens ${command} --help prints the ${command} help and exits 0`, async () => {
    for (const flag of ['--help', '-h']) {
      const { stdout, stderr } = await unlearnLens([command, flag]);
      assert.equal(stdout.trim(), text.trim(), `${command} ${flag}`);
      assert.match(stdout, new RegExp(`unlearn-lens ${command}\\b`));
      assert.match(stdout, option);
      assert.doesNotMatch(stdout, /^Commands:/m, 'not the overview');
      assert.equal(stderr, '');
    }
  });
}

test("the overview lists every command and says how to get a command's help", async () => {
  const { stdout } = await unlearnLens(['--help']);
  assert.equal(stdout.trim(), USAGE.trim());
  for (const command of ['demo', 'unlearn', 'experiment', 'bench']) assert.match(stdout, new RegExp(`^  ${command} `, 'm'));
  assert.match(stdout, /unlearn-lens <command> --help/);
});

test("each command's help differs from the others (no command falls back to the overview)", () => {
  const texts = [USAGE, DEMO_HELP, EXPERIMENT_HELP, BENCH_HELP, UNLEARN_USAGE];
  assert.equal(new Set(texts).size, texts.length);
  assert.match(DEMO_HELP, /--k N +instances to forget \(default 16\)/);
  assert.match(EXPERIMENT_HELP, /--k LIST +comma list of instance counts \(default 16,64,128\)/);
});

/** The paths the command-line examples make up. */
const EXAMPLE_PATHS = new Set(['models/m/model.json', 'data/train.csv', 'DIR/model.json']);

/** Relative file names a text mentions (README.md, docs/grid.md, tools/reference/unlearn.py, …). */
const mentionedFiles = (text: string): string[] => [
  ...new Set([...text.matchAll(/(?<![\w/.<-])((?:[\w-]+\/)*[\w-]+\.(?:md|py|ts|json|csv))\b/g)].map((m) => m[1])),
];

test('neither the help nor the README sends the reader to a file that is not in the repository', () => {
  const readme = fs.readFileSync(path.join(repo, 'README.md'), 'utf8');
  for (const [name, text] of [
    ['help', [USAGE, DEMO_HELP, EXPERIMENT_HELP, BENCH_HELP, UNLEARN_USAGE].join('\n')],
    ['README.md', readme],
  ] as const) {
    assert.doesNotMatch(text, /MISSION/, `${name} mentions MISSION.md`);
    // Paths into the repository, and documents named in capitals; generic names (model.json, run.json)
    // and the paths of the command-line examples are the reader's files, not ours.
    const files = mentionedFiles(text).filter((f) => (f.includes('/') || /^[A-Z]+\.md$/.test(f)) && !EXAMPLE_PATHS.has(f));
    const missing = files.filter((f) => !fs.existsSync(path.join(repo, f)));
    assert.deepEqual(missing, [], `${name} names files that are not in the repository`);
  }
  assert.ok(fs.existsSync(path.join(repo, 'LICENSE')), 'the LICENSE file package.json refers to');
  assert.match(fs.readFileSync(path.join(repo, 'LICENSE'), 'utf8'), /^MIT License\n\nCopyright \(c\) 2026 Unlearn Lens contributors\n/);
});
