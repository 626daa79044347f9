/**
 * The README's walkthrough, run as written: every ```sh block after a `<!-- readme-test -->`
 * comment is run command by command, and what each command prints must show the lines written
 * under it as comments (`# ...`), in order (runs of spaces count as one, `...` stands for
 * anything). A command whose output does not match yet is run again, as a reader would, until it
 * does or two minutes pass. The README cannot drift without this test failing.
 *
 * Markers: `readme-test: repository` runs in the repository itself (in deploy/examples/docker); `readme-test: terminal 2`
 * starts a second terminal (a process group of its own, left running); `readme-test: stop
 * terminal 2` presses Ctrl-C there. Other blocks run in one shell ("the first terminal") in a
 * copy of the repository's examples, against a throwaway daemon: FERRY_DATA_DIR is a temporary
 * folder, `npx ferry` runs this checkout's bin/ferry.js (`serve` on a free port), and
 * EXAMPLE_BASE_IMAGE names the local busybox image, as the README says to do offline.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { requireDocker, testImages } from '../support/docker.ts';
import { runCommand } from '../support/daemon.ts';
import { waitFor } from '../support/wait.ts';

const repo = path.resolve(import.meta.dirname, '../..');
const ferryBin = path.join(repo, 'bin/ferry.js');

/** Step is one command of a block and the lines it must print. */
export interface Step {
  command: string;
  expected: string[];
}

/** Block is one marked ```sh block of the README. */
export interface Block {
  marker: string;
  steps: Step[];
  line: number;
}

/** readmeBlocks extracts the marked blocks (and the bare stop markers, with no steps). */
export function readmeBlocks(text: string): Block[] {
  const lines = text.split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const m = /^<!-- readme-test(?::\s*([^(]*?))?\s*(\(.*\))?\s*-->$/.exec(lines[i].trim());
    if (!m) continue;
    const marker = (m[1] ?? '').trim();
    if (marker === 'stop terminal 2') {
      blocks.push({ marker, steps: [], line: i + 1 });
      continue;
    }
    let j = i + 1;
    while (j < lines.length && lines[j].trim() === '') j++;
    assert.equal(lines[j], '```sh', `README.md:${i + 1}: a readme-test marker must be followed by a \`\`\`sh block`);
    const steps: Step[] = [];
    for (j++; lines[j] !== '```'; j++) {
      const l = lines[j];
      if (l.startsWith('#')) {
        assert.ok(steps.length > 0, `README.md:${j + 1}: output before any command`);
        steps[steps.length - 1].expected.push(l.replace(/^# ?/, ''));
      } else if (l.trim() !== '') steps.push({ command: l, expected: [] });
    }
    blocks.push({ marker, steps, line: i + 1 });
  }
  return blocks;
}

const squash = (s: string) => s.replace(/\s+/g, ' ').trim();

/** lineMatches: `...` stands for anything; runs of spaces count as one. */
function lineMatches(expected: string, actual: string): boolean {
  const re = squash(expected).split('...').map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*');
  return new RegExp(`^${re}$`).test(squash(actual));
}

/** shows is true when output has the expected lines in order. */
export function shows(output: string, expected: string[]): boolean {
  const lines = output.split(/\r?\n/);
  let at = 0;
  for (const e of expected) {
    while (at < lines.length && !lineMatches(e, lines[at])) at++;
    if (at === lines.length) return false;
    at++;
  }
  return true;
}

/** Shell is one long-lived bash, fed one command at a time: the first terminal. */
class Shell {
  private out = '';
  private n = 0;
  readonly proc: ChildProcess;

  constructor(cwd: string, env: NodeJS.ProcessEnv) {
    this.proc = spawn('bash', ['--noprofile', '--norc'], { cwd, env, stdio: ['pipe', 'pipe', 'pipe'] });
    this.proc.stdout!.on('data', (d) => (this.out += d));
    this.proc.stderr!.on('data', (d) => (this.out += d));
  }

  async run(command: string, timeoutMs = 180_000): Promise<{ code: number; output: string }> {
    const marker = `__readme_step_${this.n++}__`;
    const start = this.out.length;
    this.proc.stdin!.write(`${command}\necho "${marker} $?"\n`);
    const re = new RegExp(`${marker} (\\d+)\\n`);
    const m = await waitFor(() => re.exec(this.out.slice(start)), { timeoutMs, intervalMs: 50, message: `\`${command}\` to finish` });
    return { code: Number(m[1]), output: this.out.slice(start, start + m.index) };
  }

  close(): void {
    this.proc.stdin!.end('exit\n');
  }
}

describe('the README walkthrough, as written', () => {
  const blocks = readmeBlocks(fs.readFileSync(path.join(repo, 'README.md'), 'utf8'));
  let root: string;
  let dataDir: string;
  let env: NodeJS.ProcessEnv;
  let shell: Shell;
  let terminal2: { proc: ChildProcess; output: () => string; exited: Promise<number | null> } | undefined;

  before(async () => {
    await requireDocker();
    // The walkthrough counts the example project's networks: one an earlier, interrupted run left
    // (no container on it) would be counted too.
    for (const id of execFileSync('docker', ['network', 'ls', '-q', '--filter', 'label=com.docker.compose.project=ferry-example']).toString().split('\n').filter(Boolean)) {
      const used = execFileSync('docker', ['network', 'inspect', '-f', '{{len .Containers}}', id]).toString().trim();
      if (used === '0') execFileSync('docker', ['network', 'rm', id]);
    }
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-readme-'));
    fs.mkdirSync(path.join(root, 'deploy/examples'), { recursive: true });
    fs.cpSync(path.join(repo, 'deploy/examples/docker'), path.join(root, 'deploy/examples/docker'), { recursive: true });
    dataDir = path.join(root, 'data');
    const bin = path.join(root, 'bin');
    fs.mkdirSync(bin);
    // `npx ferry ...` runs this checkout's ferry, `serve` on a free port (not the user's).
    fs.writeFileSync(path.join(bin, 'npx'), [
      '#!/bin/sh',
      '[ "$1" = ferry ] || { echo "readme test: only npx ferry is expected" >&2; exit 127; }',
      'shift',
      `if [ "$1" = serve ]; then shift; exec "${process.execPath}" "${ferryBin}" serve --port 0 "$@"; fi`,
      `exec "${process.execPath}" "${ferryBin}" "$@"`,
      '',
    ].join('\n'), { mode: 0o755 });
    env = { ...process.env, PATH: `${bin}:${process.env.PATH}`, FERRY_DATA_DIR: dataDir, EXAMPLE_BASE_IMAGE: testImages.busybox, KUBECONFIG: '' };
    delete env.FERRY_MAIN;
    shell = new Shell(root, env);
  });

  after(async () => {
    shell?.close();
    if (terminal2) {
      try {
        process.kill(-terminal2.proc.pid!, 'SIGTERM');
      } catch {
        // already stopped
      }
      await terminal2.exited;
    }
    // What the walkthrough made, should a step have failed before its end.
    const left = execFileSync('docker', ['ps', '-aq', '--filter', 'label=com.docker.compose.project=ferry-example']).toString().split('\n').filter(Boolean);
    if (left.length) execFileSync('docker', ['rm', '-f', ...left]);
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  it('has the blocks this test expects', () => {
    assert.deepEqual(blocks.map((b) => b.marker), ['repository', 'terminal 2', '', '', '', '', 'stop terminal 2', '']);
  });

  it('runs every block and prints what the README shows', async () => {
    for (const block of blocks) {
      if (block.marker === 'repository') {
        for (const step of block.steps) {
          // From a folder of the repository, as the README says.
          const r = await runCommand('bash', ['-c', step.command], { cwd: path.join(repo, 'deploy/examples/docker'), env: { ...process.env, npm_config_offline: 'true' }, timeoutMs: 60_000 });
          assert.equal(r.code, 0, `README.md:${block.line}: \`${step.command}\` failed:\n${r.stdout}${r.stderr}`);
          assert.ok(shows(r.stdout + r.stderr, step.expected), `README.md:${block.line}: \`${step.command}\` printed:\n${r.stdout}${r.stderr}\nnot:\n${step.expected.join('\n')}`);
        }
      } else if (block.marker === 'terminal 2') {
        const script = block.steps.map((s) => s.command).join('\n');
        const proc = spawn('bash', ['-c', script], { cwd: root, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        proc.stdout!.on('data', (d) => (out += d));
        proc.stderr!.on('data', (d) => (out += d));
        const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
        terminal2 = { proc, output: () => out, exited };
        const expected = block.steps.flatMap((s) => s.expected);
        await waitFor(() => shows(out, expected), { timeoutMs: 60_000, message: `README.md:${block.line}: the second terminal to print:\n${expected.join('\n')}\n(it printed:\n${out})` });
      } else if (block.marker === 'stop terminal 2') {
        assert.ok(terminal2, 'a second terminal to stop');
        process.kill(-terminal2.proc.pid!, 'SIGINT'); // Ctrl-C: to the whole foreground group
        const code = await terminal2.exited;
        assert.equal(code, 0, `the daemon stops cleanly on Ctrl-C:\n${terminal2.output()}`);
        assert.ok(!fs.existsSync(path.join(dataDir, 'compose')), 'the daemon leaves no Compose files behind');
        const log = terminal2.output();
        assert.deepEqual(log.split('\n').filter((l) => /Reconcile failed|"level":"error"/.test(l)), [], 'the daemon logged no error');
        // A healthy walkthrough warns of nothing.
        const warnings = log.split('\n').filter((l) => l.includes('"level":"warn"'));
        assert.deepEqual(warnings, [], 'the daemon warned of nothing');
        terminal2 = undefined;
      } else {
        for (const step of block.steps) {
          const deadline = Date.now() + 120_000;
          for (;;) {
            const r = await shell.run(step.command);
            const ok = r.code === 0 && shows(r.output, step.expected);
            if (ok) break;
            if (Date.now() > deadline) {
              const containers = execFileSync('docker', ['ps', '-a', '--filter', 'name=ferry-example', '--format', '{{.Names}} {{.Status}} {{.Image}}']).toString();
              const daemon = terminal2?.output().split('\n').slice(-40).join('\n') ?? '';
              assert.fail(`README.md:${block.line}: \`${step.command}\` (exit ${r.code}) printed:\n${r.output}\nnot:\n${step.expected.join('\n')}\n\ncontainers:\n${containers}\ndaemon:\n${daemon}`);
            }
            await new Promise((res) => setTimeout(res, 1000));
          }
        }
      }
    }
  });
});
