/**
 * The extension's settings (contributes.configuration in package.json) read into engine types.
 * Every engine option is a named setting with the paper's default; see src/engine/options.ts.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { BackendChoice } from '../engine/backend';
import type { Method, UnlearnOptionsInput } from '../engine/options';
import type { ResizeMode } from '../engine/data/imageFolder';
import type { BackendRequest } from '../shared/protocol';

export const SECTION = 'unlearnLens';

export function config(): vscode.WorkspaceConfiguration {
  return vscode.workspace.getConfiguration(SECTION);
}

export function workspaceRoot(): string | undefined {
  return vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
}

/** A path setting as an absolute path (relative ones are relative to the first workspace folder). */
export function resolvePathSetting(value: string | undefined): string | undefined {
  if (!value) return undefined;
  if (path.isAbsolute(value)) return value;
  const root = workspaceRoot();
  return root ? path.join(root, value) : undefined;
}

/** Stores a path in the workspace settings, relative to the workspace when inside it. */
export async function storePathSetting(key: string, value: string | undefined): Promise<void> {
  const root = workspaceRoot();
  let stored = value;
  if (value && root) {
    const rel = path.relative(root, value);
    if (!rel.startsWith('..') && !path.isAbsolute(rel)) stored = rel.split(path.sep).join('/');
  }
  await config().update(key, stored || undefined, vscode.ConfigurationTarget.Workspace);
}

export function unlearnOptions(): UnlearnOptionsInput {
  const c = config();
  const perInstance = c.get<number>('attack.examplesPerInstance', 0);
  return {
    method: c.get<Method>('method', 'adv+imp'),
    learningRate: c.get<number>('learningRate', 1e-3),
    momentum: c.get<number>('momentum', 0.9),
    weightDecay: c.get<number>('weightDecay', 1e-4),
    forgetBatchSize: c.get<number>('forgetBatchSize', 32),
    adversarialBatchSize: c.get<number>('adversarialBatchSize', 256),
    lambda: c.get<number>('lambda', 1),
    maxEpochs: c.get<number>('maxEpochs', 1000),
    seed: c.get<number>('seed', 0),
    attack: {
      epsilon: c.get<number>('attack.epsilon', 4),
      stepSize: c.get<number>('attack.stepSize', 0.1),
      steps: c.get<number>('attack.steps', 100),
      examplesPerInstance: perInstance > 0 ? perInstance : 'auto',
      chunkSize: c.get<number>('attack.chunkSize', 512),
    },
  };
}

export function backendRequest(): BackendRequest {
  const c = config();
  const searchPaths = [resolvePathSetting(c.get<string>('tfjsNodePath')), ...(vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath)].filter((p): p is string => !!p);
  return { choice: c.get<BackendChoice>('backend', 'auto'), searchPaths };
}

export function resizeMode(): ResizeMode {
  return config().get<ResizeMode>('data.resize', 'none');
}
