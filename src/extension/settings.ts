/**
 * The extension's settings (contributes.configuration in package.json) read into engine types.
 * Every engine option is a named setting with the paper's default; see src/contracts/options.ts.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import {
  type AdversarialOrder,
  type BackendChoice,
  type ForgetTerm,
  type GuardAction,
  type Method,
  type ObjectiveName,
  parseRelabel,
  type Preset,
  type RandomStart,
  type RelabelChoice,
  type ResizeMode,
  type UnlearnOptionsInput,
} from '../contracts/options';
import type { BackendRequest } from '../contracts/protocol';

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

/** A setting's value only when the user set it somewhere; otherwise the engine's default (or preset) applies. */
function explicit<T>(c: vscode.WorkspaceConfiguration, key: string): T | undefined {
  const i = c.inspect<T>(key);
  return i?.workspaceFolderValue ?? i?.workspaceValue ?? i?.globalValue;
}

/** Drops undefined entries, so that the engine's defaults in src/contracts/options.ts stay the one source. */
function defined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * The run options the user set. Settings left alone are not passed: the engine's defaults (the
 * paper's) or the chosen preset decide them, so the defaults live in one place.
 */
export function unlearnOptions(): UnlearnOptionsInput {
  const c = config();
  const perInstance = explicit<number>(c, 'attack.examplesPerInstance');
  const attack = defined({
    epsilon: explicit<number>(c, 'attack.epsilon'),
    stepSize: explicit<number>(c, 'attack.stepSize'),
    steps: explicit<number>(c, 'attack.steps'),
    examplesPerInstance: perInstance === undefined ? undefined : perInstance > 0 ? perInstance : ('auto' as const),
    chunkSize: explicit<number>(c, 'attack.chunkSize'),
    workers: ((w) => (w === undefined ? undefined : w > 0 ? w : ('auto' as const)))(explicit<number>(c, 'attack.workers')),
    randomStart: explicit<RandomStart>(c, 'attack.randomStart'),
  });
  const guard = defined({
    minAgreement: explicit<number>(c, 'guard.minAgreement'),
    every: explicit<number>(c, 'guard.every'),
    action: explicit<GuardAction>(c, 'guard.action'),
  });
  return {
    ...defined({
      method: c.get<Method>('method', 'adv+imp'),
      learningRate: explicit<number>(c, 'learningRate'),
      momentum: explicit<number>(c, 'momentum'),
      weightDecay: explicit<number>(c, 'weightDecay'),
      forgetBatchSize: explicit<number>(c, 'forgetBatchSize'),
      adversarialBatchSize: explicit<number>(c, 'adversarialBatchSize'),
      adversarialOrder: explicit<AdversarialOrder>(c, 'adversarialOrder'),
      lambda: explicit<number>(c, 'lambda'),
      maxEpochs: explicit<number>(c, 'maxEpochs'),
      seed: explicit<number>(c, 'seed'),
      forgetTerm: explicit<ForgetTerm>(c, 'forgetTerm'),
      forgetStatistics: explicit<'batch' | 'running'>(c, 'forgetStatistics'),
      stopMargin: explicit<number>(c, 'stopMargin'),
    }),
    ...(Object.keys(attack).length ? { attack } : {}),
    ...(Object.keys(guard).length ? { guard } : {}),
    ...(c.get<ObjectiveName>('objective', 'misclassify') === 'unseen'
      ? { objective: { kind: 'unseen' as const }, forgetStatistics: explicit<'batch' | 'running'>(c, 'forgetStatistics') ?? 'running' }
      : {}),
  };
}

/** `unlearnLens.relabel`: empty (misclassify, the paper), "nearest", or class names separated by commas. */
export function relabelChoice(): RelabelChoice | undefined {
  try {
    return parseRelabel(config().get<string>('relabel', ''));
  } catch (e) {
    throw new Error(`The setting unlearnLens.relabel ${(e as Error).message}`);
  }
}

export function preset(): Preset {
  return config().get<Preset>('preset', 'paper');
}

export function backendRequest(): BackendRequest {
  const c = config();
  const searchPaths = [resolvePathSetting(c.get<string>('tfjsNodePath')), ...(vscode.workspace.workspaceFolders ?? []).map((f) => f.uri.fsPath)].filter(
    (p): p is string => !!p,
  );
  return { choice: c.get<BackendChoice>('backend', 'auto'), searchPaths };
}

export function resizeMode(): ResizeMode {
  return config().get<ResizeMode>('data.resize', 'none');
}
