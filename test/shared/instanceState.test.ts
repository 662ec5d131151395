import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import {
  chainSummary,
  chainSummaryText,
  instanceKey,
  instanceStates,
  recentEvents,
  type ChainRecord,
  type InstanceEvent,
} from '../../src/shared/instanceState';
import { parseRunRecord, serializeRunRecord } from '../../src/contracts/runRecord';
import { sampleRunRecord } from './runRecordSample';

const root = path.resolve('/ws');
const file = (cls: string, n: number) => path.join(root, 'data', 'train', cls, `${n}.png`);
const classNames = ['Sandal', 'Bag', 'Coat'];
const sandal = file('Sandal', 1);
const bag = file('Bag', 2);
const coat = file('Coat', 3);

/** A record in the chain: ids with their labels and predictions before/after; `earlier` as a continual run writes it. */
function run(id: string, rows: Array<[string, number, number, number]>, earlier?: ChainRecord['earlier'], method = 'adv+imp'): ChainRecord {
  return {
    id,
    options: { method },
    forget: {
      ids: rows.map((r) => r[0]),
      labels: rows.map((r) => r[1]),
      predictedBefore: rows.map((r) => r[2]),
      predictedAfter: rows.map((r) => r[3]),
      classNames,
    },
    ...(earlier ? { earlier } : {}),
  };
}

test('one run: forgotten, still remembered (cap) and already misclassified are told apart', () => {
  const states = instanceStates([
    run('r1', [
      [sandal, 0, 0, 2],
      [bag, 1, 1, 1],
      [coat, 2, 0, 0],
    ]),
  ]);
  assert.equal(states.get(sandal)!.status, 'forgotten');
  assert.equal(states.get(sandal)!.text, 'forgotten in run r1: was Sandal, now Coat');
  assert.equal(states.get(bag)!.status, 'remembered');
  assert.equal(states.get(bag)!.text, 'still remembered after run r1: predicted Bag (its label)');
  // The gallery's "now predicted Pullover, was Pullover" under a forgotten badge: it never was right.
  assert.equal(states.get(coat)!.status, 'already-misclassified');
  assert.equal(states.get(coat)!.text, 'already misclassified before run r1: predicted Sandal, labelled Coat (nothing to forget); now Sandal');
});

test('a later run whose record says an erased instance came back makes it "came back in run …"', () => {
  const chain = [
    run('r1', [
      [sandal, 0, 0, 1],
      [bag, 1, 1, 0],
    ]),
    run('r2', [[coat, 2, 2, 0]], { cameBack: [] }),
    run('r3', [[file('Coat', 9), 2, 2, 1]], { cameBack: [sandal] }),
  ];
  const states = instanceStates(chain);
  const s = states.get(sandal)!;
  assert.equal(s.status, 'came-back');
  assert.equal(s.cameBackIn, 'r3');
  assert.equal(s.text, 'came back in run r3: predicted as its label Sandal again (forgotten in run r1)');
  assert.deepEqual(
    s.events.map((e) => [e.run, e.kind]),
    [
      ['r1', 'selected'],
      ['r3', 'came-back'],
    ],
  );
  // The bag erased by the same run stayed forgotten; its text no longer says "now" (r1 is not the active version).
  assert.equal(states.get(bag)!.status, 'forgotten');
  assert.equal(states.get(bag)!.text, 'forgotten in run r1: was Bag, Sandal after it');
  assert.deepEqual(chainSummary(chain, states), { runs: 3, instances: 4, forgotten: 3, cameBack: 1, remembered: 0, alreadyMisclassified: 0 });
  assert.equal(chainSummaryText(chainSummary(chain, states)), '3 runs: 3 of 4 instances forgotten, 1 came back');
});

test("only the active version's chain counts: the run that said it came back is not in a chain that ends before it", () => {
  const chain = [run('r1', [[sandal, 0, 0, 1]]), run('r2', [[bag, 1, 1, 0]], { cameBack: [sandal] })];
  assert.equal(instanceStates(chain).get(sandal)!.status, 'came-back');
  assert.equal(instanceStates(chain.slice(0, 1)).get(sandal)!.status, 'forgotten');
  assert.equal(instanceStates([]).size, 0);
});

test('forgotten again after coming back; selected again resets the story', () => {
  const chain = [
    run('r1', [[sandal, 0, 0, 1]]),
    run('r2', [[bag, 1, 1, 0]], { cameBack: [sandal], forgottenAgain: [] }),
    run('r3', [[coat, 2, 2, 0]], { cameBack: [], forgottenAgain: [sandal] }),
  ];
  const s = instanceStates(chain).get(sandal)!;
  assert.equal(s.status, 'forgotten');
  assert.equal(s.forgottenAgainIn, 'r3');
  assert.match(s.text, /^forgotten in run r1, came back, then forgotten again in run r3: was Sandal, not its label$/);
  const reselected = instanceStates([...chain.slice(0, 2), run('r3', [[sandal, 0, 0, 2]], { cameBack: [] })]).get(sandal)!;
  assert.equal(reselected.status, 'forgotten');
  assert.equal(reselected.selectedIn, 'r3');
  assert.equal(reselected.cameBackIn, undefined);
  assert.equal(reselected.events.length, 3, 'the history keeps every event');
});

test("the active model's own predictions have the last word", () => {
  const chain = [
    run('r1', [
      [sandal, 0, 0, 1],
      [bag, 1, 1, 0],
    ]),
  ];
  const now = new Map([
    [instanceKey(sandal), 0],
    [instanceKey(bag), 2],
  ]);
  const states = instanceStates(chain, now);
  assert.equal(states.get(sandal)!.status, 'came-back');
  assert.equal(states.get(sandal)!.text, 'came back: the active model predicts its label Sandal again (forgotten in run r1)');
  assert.equal(states.get(bag)!.text, 'forgotten in run r1: was Bag, now Coat');
  assert.equal(states.get(bag)!.now, 2);
});

test('class indices without names, and paths compared after resolving', () => {
  const r = run('r1', [[path.join(root, 'data', '..', 'data', 'x.png'), 3, 3, 5]]);
  const states = instanceStates([{ ...r, forget: { ...r.forget, classNames: undefined } }]);
  assert.equal(states.get(path.join(root, 'data', 'x.png'))!.text, 'forgotten in run r1: was 3, now 5');
});

test('run records: earlier.forgottenAgain is optional, validated, and stored relative like cameBack', () => {
  const folder = path.resolve('/work-sample/models/m.versions/r2');
  const base = sampleRunRecord({ id: 'r2' });
  const back = path.resolve('/work-sample/data/train/a/9.png');
  const again = path.resolve('/work-sample/data/train/b/8.png');
  const record = { ...base, earlier: { instances: 2, missing: 0, rememberedBefore: 1, rememberedAfter: 1, cameBack: [back], forgottenAgain: [again] } };
  const text = serializeRunRecord(record, folder);
  assert.deepEqual(JSON.parse(text).earlier.forgottenAgain, ['../../../data/train/b/8.png']);
  const read = parseRunRecord(text, path.join(folder, 'run.json'));
  assert.deepEqual(read.earlier!.forgottenAgain, [again]);
  assert.deepEqual(read.earlier!.cameBack, [back]);
  // Written before the field existed: still a valid record.
  const { forgottenAgain: _dropped, ...older } = record.earlier;
  assert.doesNotThrow(() => parseRunRecord(serializeRunRecord({ ...record, earlier: older }, folder), path.join(folder, 'run.json')));
  const broken = JSON.parse(text);
  broken.earlier.forgottenAgain = [3];
  assert.throws(() => parseRunRecord(JSON.stringify(broken), path.join(folder, 'run.json')), /earlier\.forgottenAgain is not a list of strings/);
});

test('a hover shows the newest runs only, in the order they happened, and counts the rest', () => {
  const events: InstanceEvent[] = ['r1', 'r2', 'r3', 'r4', 'r5', 'r6', 'r7'].map((run, i) => ({
    run,
    method: 'naive',
    kind: i % 2 ? 'came-back' : 'selected',
    label: 0,
    before: 0,
    after: 1,
  }));
  const { shown, earlier } = recentEvents(events, 5);
  assert.deepEqual(
    shown.map((e) => e.run),
    ['r3', 'r4', 'r5', 'r6', 'r7'],
  );
  assert.equal(earlier, 2);
  assert.deepEqual(recentEvents(events.slice(0, 3), 5), { shown: events.slice(0, 3), earlier: 0 });
  assert.deepEqual(recentEvents([], 5), { shown: [], earlier: 0 });
  assert.equal(recentEvents(events, 0).shown.length, 1, 'always the newest one');
});
