// A real VS Code, headless: code-server 4.100.3 installed into .cache/ (recipe: ENVIRONMENT.md),
// started in its own process group so that it and every child it forks stop together.
import { spawn, execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';

export const CODE_SERVER_VERSION = '4.100.3';

function sh(cmd, args, cwd, env = {}) {
  execFileSync(cmd, args, { cwd, stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, ...env } });
}

function relink(link, target) {
  fs.rmSync(link, { force: true, recursive: false });
  fs.symlinkSync(target, link);
}

/** Installs code-server once; later calls find the marker and return at once. */
export function installCodeServer(cacheDir) {
  const prefix = path.join(cacheDir, `code-server-${CODE_SERVER_VERSION}`);
  const root = path.join(prefix, 'node_modules', 'code-server');
  const marker = path.join(prefix, '.installed');
  const bin = path.join(root, 'out', 'node', 'entry.js');
  if (fs.existsSync(marker)) return { root, bin };
  const started = Date.now();
  console.log(`[code-server] installing ${CODE_SERVER_VERSION} into ${prefix} (once; ≈ 1 min)`);
  fs.mkdirSync(prefix, { recursive: true });
  fs.writeFileSync(path.join(prefix, 'package.json'), JSON.stringify({ name: 'code-server-cache', private: true }));
  // Its install script would download things; we redo the parts that matter by hand.
  sh('npm', ['install', '--no-audit', '--no-fund', '--ignore-scripts', `code-server@${CODE_SERVER_VERSION}`], prefix);
  sh('npm', ['rebuild', 'argon2'], prefix);
  const vscodeDir = path.join(root, 'lib', 'vscode');
  sh('npm', ['install', '--no-audit', '--no-fund', '--omit=dev', '--ignore-scripts'], vscodeDir);
  // @vscode/ripgrep downloads its binary in a postinstall; Debian's rg does the same job.
  const rgBin = path.join(vscodeDir, 'node_modules', '@vscode', 'ripgrep', 'bin');
  fs.mkdirSync(rgBin, { recursive: true });
  relink(path.join(rgBin, 'rg'), '/usr/bin/rg');
  sh('npm', ['rebuild'], vscodeDir, { npm_config_yes: 'true' });
  relink(path.join(vscodeDir, 'node_modules.asar'), 'node_modules');
  relink(path.join(vscodeDir, 'bin', 'remote-cli', 'code-server'), 'code-linux.sh');
  relink(path.join(vscodeDir, 'bin', 'helpers', 'browser.sh'), 'browser-linux.sh');
  sh('npm', ['install', '--no-audit', '--no-fund', '--omit=dev'], path.join(vscodeDir, 'extensions'));
  fs.writeFileSync(marker, new Date().toISOString());
  console.log(`[code-server] installed in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  return { root, bin };
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

async function waitForHttp(url, timeoutMs, child) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`code-server exited early with code ${child.exitCode}`);
    try {
      const res = await fetch(url);
      if (res.status < 500) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`code-server did not answer at ${url} within ${timeoutMs} ms`);
}

/**
 * Starts code-server on 127.0.0.1 in a fresh process group. `stop()` kills the group by id
 * (SIGTERM, then SIGKILL) and is safe to call more than once.
 */
export async function startCodeServer({ bin, workDir, folder, logFile }) {
  const port = await freePort();
  const userData = path.join(workDir, 'user-data');
  const extensions = path.join(workDir, 'extensions');
  const config = path.join(workDir, 'config.yaml');
  fs.mkdirSync(userData, { recursive: true });
  fs.mkdirSync(extensions, { recursive: true });
  fs.writeFileSync(config, 'auth: none\n');
  const out = fs.openSync(logFile, 'a');
  const child = spawn(
    process.execPath,
    [
      bin,
      '--bind-addr',
      `127.0.0.1:${port}`,
      '--auth',
      'none',
      '--disable-telemetry',
      '--disable-update-check',
      '--disable-workspace-trust',
      '--extensions-dir',
      extensions,
      '--user-data-dir',
      userData,
      '--config',
      config,
      folder,
    ],
    { detached: true, stdio: ['ignore', out, out], env: { ...process.env, VSCODE_PROXY_URI: '' } },
  );
  const pgid = child.pid;
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    try {
      process.kill(-pgid, 'SIGTERM');
    } catch {
      /* already gone */
    }
    for (let i = 0; i < 20; i++) {
      try {
        process.kill(-pgid, 0);
      } catch {
        return;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  };
  try {
    await waitForHttp(`http://127.0.0.1:${port}/healthz`, 60_000, child);
  } catch (e) {
    await stop();
    throw e;
  }
  return { port, pgid, extensions, userData, stop };
}

/** Installs a .vsix into the extensions dir with code-server's own CLI. */
export function installVsix(bin, vsix, extensionsDir, userDataDir) {
  sh(process.execPath, [bin, '--extensions-dir', extensionsDir, '--user-data-dir', userDataDir, '--install-extension', vsix, '--force'], process.cwd());
}
