import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { noGpuDevice } from '../../src/engine/runtime/backend';

test('auto asks Dawn for a GPU only where a GPU device can be', () => {
  const none = () => [] as string[];
  const missing = () => {
    throw new Error('ENOENT');
  };
  assert.match(noGpuDevice('linux', () => ['null', 'tty'], missing) ?? '', /no GPU device/);
  assert.equal(
    noGpuDevice('linux', none, () => ['card0', 'renderD128']),
    undefined,
  );
  assert.equal(
    noGpuDevice('linux', () => ['nvidia0', 'nvidiactl'], missing),
    undefined,
  );
  assert.equal(
    noGpuDevice('linux', () => ['dxg'], missing),
    undefined,
  );
  assert.match(
    noGpuDevice(
      'linux',
      () => ['nvidiactl'],
      () => ['card0'],
    ) ?? '',
    /no GPU device/,
  );
  assert.equal(noGpuDevice('darwin', none, none), undefined);
  assert.equal(noGpuDevice('win32', none, none), undefined);
});
