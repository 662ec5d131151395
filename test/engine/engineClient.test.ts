/**
 * The host side of the engine worker: a changed backend setting restarts the worker (a worker
 * starts its backend once), at once when idle and after its running requests when busy.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EngineClient } from '../../src/extension/engineClient';
import type { EngineRequest } from '../../src/contracts/protocol';

/** A stand-in worker: answers each request with its own thread id, after `delayMs` of the request's searchPaths[0]. */
const FAKE_WORKER = `
const { parentPort, threadId } = require('node:worker_threads');
parentPort.on('message', (m) => {
  if (m.type !== 'request') return;
  const delay = Number(m.request.backend.searchPaths[0] || 0);
  setTimeout(() => parentPort.postMessage({ type: 'result', id: m.id, result: { name: 'fake', threadId } }), delay);
});
`;

function fakeClient(): { client: EngineClient; log: string[] } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'unlearn-engine-client-'));
  const script = path.join(dir, 'worker.js');
  fs.writeFileSync(script, FAKE_WORKER);
  const log: string[] = [];
  return { client: new EngineClient(script, (line) => log.push(line)), log };
}

const ask = (client: EngineClient, delayMs = 0) =>
  client.call({ kind: 'backend', backend: { choice: 'auto', searchPaths: [String(delayMs)] } } as EngineRequest).result as unknown as Promise<{
    threadId: number;
  }>;

test('a backend change restarts an idle engine worker: the next request runs on a fresh one', async () => {
  const { client, log } = fakeClient();
  try {
    const first = (await ask(client)).threadId;
    assert.equal((await ask(client)).threadId, first, 'the same worker serves requests until then');
    client.restart();
    assert.equal(client.started, false);
    assert.notEqual((await ask(client)).threadId, first);
    assert.ok(log.some((l) => /backend setting changed/.test(l)));
  } finally {
    client.dispose();
  }
});

test('a backend change while a request runs lets it finish on its worker, then restarts', async () => {
  const { client } = fakeClient();
  try {
    const first = (await ask(client)).threadId;
    const running = ask(client, 300);
    client.restart();
    assert.equal(client.started, true, 'not stopped under a running request');
    assert.equal((await running).threadId, first, 'the running request finished on its worker');
    assert.equal(client.started, false, 'then the worker was retired');
    assert.notEqual((await ask(client)).threadId, first);
  } finally {
    client.dispose();
  }
});
