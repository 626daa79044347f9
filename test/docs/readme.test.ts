/**
 * The README's walkthroughs, run as written: every ```sh block after a `<!-- readme-test -->`
 * comment is run command by command, and what each command prints must show the lines written
 * under it as comments (`# ...`), in order (runs of spaces count as one, `...` stands for
 * anything). A command whose output does not match yet is run again, as a reader would, until it
 * does or two minutes pass. The README cannot drift without this test failing.
 *
 * Commands are written as a user types them:
 * - a heredoc (`<<YAML` ... `YAML`) is part of its command, up to its terminator line;
 * - a command must exit 0, unless the next one is `echo $?`, which shows its exit status;
 * - a command whose output ends with `# ^C` (a watch) runs until the lines above it appear,
 *   then Ctrl-C stops it (its exit status does not count).
 *
 * Markers: `readme-test: repository` runs in the repository itself (in deploy/examples/docker);
 * `readme-test: terminal 2` starts a command in the second terminal (a process group of its own,
 * left running); `readme-test: stop terminal 2` presses Ctrl-C there. The second terminal keeps
 * its folder from one start to the next, as a terminal does. Other blocks run in one shell ("the
 * first terminal"). Both terminals start in a copy of the repository's examples, with a HOME of
 * their own (so the daemon's data is in ~/.ferry, as the README says), against throwaway daemons:
 * `npx ferry` runs this checkout's bin/ferry.js (`serve` on free ports), EXAMPLE_BASE_IMAGE names
 * the local busybox image, as the README says to do offline, and the dev cluster in
 * ~/.kube/config is the test cluster fixture (test/fixtures/kube-cluster: a kube API whose pods
 * are real Docker containers), as a reader with a cluster has it.
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
import { KubeCluster } from '../fixtures/kube-cluster/index.ts';

const repo = path.resolve(import.meta.dirname, '../..');
const ferryBin = path.join(repo, 'bin/ferry.js');

/** Step is one command of a block and the lines it must print. */
export interface Step {
  /** command as typed; a heredoc's lines included */
  command: string;
  expected: string[];
  /** interrupt: the output ends with `^C`: Ctrl-C stops the command once the lines above it show */
  interrupt: boolean;
  /** mayFail: the next command is `echo $?`, so this one may exit non-zero */
  mayFail: boolean;
}

/** Block is one marked ```sh block of the README. */
export interface Block {
  marker: string;
  steps: Step[];
  line: number;
}

/** showsStatus is true for `echo $?`: a command that prints the previous one's exit status. */
const showsStatus = (command: string) => /^echo\s+"?\$\?"?$/.test(command.trim());

/** heredocStart matches the first heredoc operator of a line: `<<WORD`, `<<'WORD'`, `<<-"WORD"`. */
const heredocStart = /<<(-?)\s*(['"]?)([A-Za-z_][A-Za-z0-9_]*)\2/;

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
    for (j++; j < lines.length && lines[j] !== '```'; j++) {
      const l = lines[j];
      if (l.startsWith('#')) {
        assert.ok(steps.length > 0, `README.md:${j + 1}: output before any command`);
        steps[steps.length - 1].expected.push(l.replace(/^# ?/, ''));
      } else if (l.trim() !== '') {
        const command = [l];
        const doc = heredocStart.exec(l);
        if (doc) {
          const ends = (x: string) => (doc[1] ? x.replace(/^\t+/, '') : x) === doc[3];
          for (j++; j < lines.length && lines[j] !== '```' && !ends(lines[j]); j++) command.push(lines[j]);
          assert.ok(j < lines.length && ends(lines[j]), `README.md:${j + 1}: the heredoc of \`${l}\` has no ${doc[3]} line`);
          command.push(lines[j]);
        }
        steps.push({ command: command.join('\n'), expected: [], interrupt: false, mayFail: false });
      }
    }
    assert.ok(j < lines.length, `README.md:${i + 1}: the block does not end`);
    for (const [k, step] of steps.entries()) {
      if (step.expected.at(-1)?.trim() === '^C') {
        step.expected.pop();
        step.interrupt = true;
      }
      step.mayFail = k + 1 < steps.length && showsStatus(steps[k + 1].command);
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

/** opens is true when output begins with the expected lines, one for one (as `ferry serve` begins with its banner). */
export function opens(output: string, expected: string[]): boolean {
  const lines = output.split(/\r?\n/);
  return expected.every((e, i) => i < lines.length && lineMatches(e, lines[i]));
}

/**
 * Shell is one long-lived bash, fed one command at a time: the first terminal. Each command's
 * exit status is kept for the next one (`echo $?` shows it).
 */
class Shell {
  private out = '';
  private n = 0;
  readonly proc: ChildProcess;

  /** jobFile receives the process group of a command run to be interrupted. */
  constructor(cwd: string, env: NodeJS.ProcessEnv, private readonly jobFile: string) {
    this.proc = spawn('bash', ['--noprofile', '--norc'], { cwd, env, stdio: ['pipe', 'pipe', 'pipe'] });
    this.proc.stdout!.on('data', (d) => (this.out += d));
    this.proc.stderr!.on('data', (d) => (this.out += d));
  }

  /** run runs a command to its end. */
  async run(command: string, timeoutMs = 180_000): Promise<{ code: number; output: string }> {
    const start = this.out.length;
    const marker = this.send(command);
    return this.finished(marker, start, command, timeoutMs);
  }

  /**
   * interrupt runs a command that does not end by itself (a watch) as a job of its own, waits
   * for expected to show (at most timeoutMs), then presses Ctrl-C: SIGINT to the job's process
   * group, as a terminal does to its foreground job. Resolves with what it printed.
   */
  async interrupt(command: string, expected: string[], timeoutMs = 60_000): Promise<{ shown: boolean; output: string }> {
    fs.rmSync(this.jobFile, { force: true });
    const start = this.out.length;
    // With job control on while it starts, the job gets a process group of its own and does
    // not ignore SIGINT; off again at once, so bash prints no job notices.
    const marker = this.send(`set -m; {\n${command}\n} & echo $! > '${this.jobFile}'; set +m; wait $!`);
    // Until the lines show, or the command ends by itself (it failed: no Ctrl-C needed).
    const seen = await waitFor(
      () => {
        const out = this.out.slice(start);
        return shows(out, expected) ? 'shown' : out.includes(`${marker} `) ? 'ended' : undefined;
      },
      { timeoutMs, intervalMs: 100 },
    ).catch(() => 'not shown');
    const shown = seen === 'shown';
    const pid = await waitFor(() => Number(fs.readFileSync(this.jobFile, 'utf8').trim()) || undefined, { message: 'the job to start' });
    try {
      process.kill(-pid, 'SIGINT');
    } catch {
      // it ended by itself
    }
    const r = await this.finished(marker, start, command, 30_000);
    return { shown, output: r.output };
  }

  private send(command: string): string {
    const marker = `__readme_step_${this.n++}__`;
    this.proc.stdin!.write(`${command}\n__readme_rc=$?; echo "${marker} $__readme_rc"; (exit $__readme_rc)\n`);
    return marker;
  }

  private async finished(marker: string, start: number, command: string, timeoutMs: number): Promise<{ code: number; output: string }> {
    const re = new RegExp(`${marker} (\\d+)\\n`);
    const m = await waitFor(() => re.exec(this.out.slice(start)), { timeoutMs, intervalMs: 50, message: `\`${command}\` to finish` });
    return { code: Number(m[1]), output: this.out.slice(start, start + m.index) };
  }

  close(): void {
    this.proc.stdin!.end('exit\n');
  }
}

describe('the README walkthroughs, as written', () => {
  const blocks = readmeBlocks(fs.readFileSync(path.join(repo, 'README.md'), 'utf8'));
  let root: string;
  let home: string;
  let dataDir: string;
  let state: string;
  let env: NodeJS.ProcessEnv;
  let shell: Shell;
  let cluster: KubeCluster | undefined;
  let terminal2: { proc: ChildProcess; output: () => string; exited: Promise<number | null> } | undefined;
  let terminal2Cwd: string;

  before(async () => {
    const docker = await requireDocker();
    // The walkthrough counts the example project's networks: one an earlier, interrupted run left
    // (no container on it) would be counted too.
    for (const id of execFileSync('docker', ['network', 'ls', '-q', '--filter', 'label=com.docker.compose.project=ferry-example']).toString().split('\n').filter(Boolean)) {
      const used = execFileSync('docker', ['network', 'inspect', '-f', '{{len .Containers}}', id]).toString().trim();
      if (used === '0') execFileSync('docker', ['network', 'rm', id]);
    }
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-readme-'));
    fs.mkdirSync(path.join(root, 'deploy/examples'), { recursive: true });
    for (const example of ['docker', 'kubernetes']) {
      fs.cpSync(path.join(repo, 'deploy/examples', example), path.join(root, 'deploy/examples', example), { recursive: true });
    }
    home = path.join(root, 'home');
    dataDir = path.join(home, '.ferry');
    state = path.join(root, 'state');
    fs.mkdirSync(state);
    const bin = path.join(root, 'bin');
    fs.mkdirSync(bin);
    // `npx ferry ...` runs this checkout's ferry, `serve` on free ports (not the user's).
    fs.writeFileSync(path.join(bin, 'npx'), [
      '#!/bin/sh',
      '[ "$1" = ferry ] || { echo "readme test: only npx ferry is expected" >&2; exit 127; }',
      'shift',
      `if [ "$1" = serve ]; then shift; exec "${process.execPath}" "${ferryBin}" serve --port 0 --dashboard-port auto "$@"; fi`,
      `exec "${process.execPath}" "${ferryBin}" "$@"`,
      '',
    ].join('\n'), { mode: 0o755 });
    // The reader's dev cluster: the current context of ~/.kube/config.
    cluster = await KubeCluster.start({ docker });
    fs.mkdirSync(path.join(home, '.kube'), { recursive: true });
    await cluster.writeKubeconfig(path.join(home, '.kube/config'), { context: 'dev' });
    env = { ...process.env, PATH: `${bin}:${process.env.PATH}`, HOME: home, EXAMPLE_BASE_IMAGE: testImages.busybox };
    for (const name of ['FERRY_MAIN', 'FERRY_DATA_DIR', 'FERRY_PORT', 'KUBECONFIG']) delete env[name];
    shell = new Shell(root, env, path.join(state, 'job'));
    terminal2Cwd = root;
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
    // What the walkthroughs made, should a step have failed before its end.
    const left = execFileSync('docker', ['ps', '-aq', '--filter', 'label=com.docker.compose.project=ferry-example']).toString().split('\n').filter(Boolean);
    if (left.length) execFileSync('docker', ['rm', '-f', ...left]);
    await cluster?.stop();
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  it('has the blocks this test expects', () => {
    assert.deepEqual(blocks.map((b) => b.marker), [
      'repository',
      // Five minutes with kubectl
      'terminal 2', '', '', '', '', '', 'stop terminal 2',
      // Walkthrough: the Docker example
      'terminal 2', '', '', '', '', 'stop terminal 2', '',
      // Walkthrough: the Kubernetes example
      'terminal 2', '', '', '', '', '', 'stop terminal 2', '',
    ]);
  });

  it('reads commands as a user types them', () => {
    const [block] = readmeBlocks([
      '<!-- readme-test -->',
      '```sh',
      "kubectl apply -f - <<'YAML'",
      '# a comment of the YAML, not output',
      'YAML',
      '# The Session "s" is invalid',
      'echo $?',
      '# 1',
      'kubectl get fw -w',
      '# NAME ...',
      '# ^C',
      '```',
    ].join('\n'));
    assert.deepEqual(block.steps, [
      { command: "kubectl apply -f - <<'YAML'\n# a comment of the YAML, not output\nYAML", expected: ['The Session "s" is invalid'], interrupt: false, mayFail: true },
      { command: 'echo $?', expected: ['1'], interrupt: false, mayFail: false },
      { command: 'kubectl get fw -w', expected: ['NAME ...'], interrupt: true, mayFail: false },
    ]);
  });

  /** situation is what the containers, pods and daemon were doing, for a failure's message. */
  const situation = () => {
    const containers = execFileSync('docker', ['ps', '-a', '--filter', 'name=ferry-example', '--format', '{{.Names}} {{.Status}} {{.Image}}']).toString();
    const pods = (cluster?.listPods() ?? []).map((p) => `${p.metadata.namespace}/${p.metadata.name} ${p.status.phase}${p.metadata.deletionTimestamp ? ' (deleting)' : ''}`).join('\n');
    const daemon = terminal2?.output().split('\n').slice(-40).join('\n') ?? '';
    return `containers:\n${containers}\npods:\n${pods}\ndaemon:\n${daemon}`;
  };

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
        assert.ok(!terminal2, `README.md:${block.line}: the second terminal is still busy`);
        const script = block.steps.map((s) => s.command).join('\n');
        // The terminal's folder outlives the command, for the next start.
        const cwdFile = path.join(state, 'terminal-2-cwd');
        // One stream, as a terminal shows it: what the daemon logs comes in order with what it prints.
        const proc = spawn('bash', ['-c', `exec 2>&1\n${script}\n__readme_rc=$?\npwd > '${cwdFile}'\nexit $__readme_rc`], { cwd: terminal2Cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        proc.stdout!.on('data', (d) => (out += d));
        proc.stderr!.on('data', (d) => (out += d));
        const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
        terminal2 = { proc, output: () => out, exited };
        const expected = block.steps.flatMap((s) => s.expected);
        await waitFor(() => shows(out, expected), { timeoutMs: 60_000, message: `README.md:${block.line}: the second terminal to print:\n${expected.join('\n')}\n(it printed:\n${out})` });
        // What the README shows first is what the terminal shows first: no log lines above it.
        assert.ok(opens(out, expected), `README.md:${block.line}: the second terminal to begin with:\n${expected.join('\n')}\n(it printed:\n${out})`);
      } else if (block.marker === 'stop terminal 2') {
        assert.ok(terminal2, 'a second terminal to stop');
        process.kill(-terminal2.proc.pid!, 'SIGINT'); // Ctrl-C: to the whole foreground group
        const code = await terminal2.exited;
        assert.equal(code, 0, `README.md:${block.line}: the daemon stops cleanly on Ctrl-C:\n${terminal2.output()}`);
        terminal2Cwd = fs.readFileSync(path.join(state, 'terminal-2-cwd'), 'utf8').trim();
        assert.ok(!fs.existsSync(path.join(dataDir, 'compose')), 'the daemon leaves no Compose files behind');
        const log = terminal2.output();
        assert.deepEqual(log.split('\n').filter((l) => /Reconcile failed|"level":"error"/.test(l)), [], `README.md:${block.line}: the daemon logged no error`);
        // A healthy walkthrough warns of nothing.
        const warnings = log.split('\n').filter((l) => l.includes('"level":"warn"'));
        assert.deepEqual(warnings, [], `README.md:${block.line}: the daemon warned of nothing`);
        terminal2 = undefined;
      } else {
        for (const step of block.steps) {
          const where = `README.md:${block.line}: \`${step.command}\``;
          if (step.interrupt) {
            const r = await shell.interrupt(step.command, step.expected);
            assert.ok(r.shown, `${where} printed:\n${r.output}\nnot:\n${step.expected.join('\n')}\n\n${situation()}`);
            continue;
          }
          if (showsStatus(step.command)) {
            // The status of the command before: running it again would not change it.
            const r = await shell.run(step.command);
            assert.ok(shows(r.output, step.expected), `${where} printed:\n${r.output}\nnot:\n${step.expected.join('\n')}`);
            continue;
          }
          const deadline = Date.now() + 120_000;
          for (;;) {
            const r = await shell.run(step.command);
            if ((r.code === 0 || step.mayFail) && shows(r.output, step.expected)) break;
            if (Date.now() > deadline) assert.fail(`${where} (exit ${r.code}) printed:\n${r.output}\nnot:\n${step.expected.join('\n')}\n\n${situation()}`);
            await new Promise((res) => setTimeout(res, 1000));
          }
        }
      }
    }
  });
});
