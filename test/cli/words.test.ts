/**
 * What the CLI says, through the real CLI: `describe` as kubectl shows a custom resource (a
 * failed build's error as text), `trigger` of an unknown resource, help and docs that name only
 * what works.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Command } from 'commander';
import { buildProgram } from '../../src/main.ts';
import { registerDoctor } from '../../src/cli/doctor.ts';
import { runCommand, runFerry, startFerryProcess, type FerryProcess } from '../support/daemon.ts';
import { waitFor } from '../support/wait.ts';
import { describeObject, fieldTitle } from '../../src/cli/describe.ts';

const broken = `apiVersion: tilt.dev/v1alpha1
kind: CmdImage
metadata:
  name: broken
  annotations: {tilt.dev/resource: web}
spec:
  ref: localhost:5000/broken
  dir: /tmp
  args: [sh, -c, 'for i in 1 2 3 4 5; do echo "step $i: doing \\"things\\""; done; echo "error: COPY failed: file not found" >&2; exit 3']
`;

describe('what the CLI says', () => {
  let ferry: FerryProcess;
  const ferryCmd = (args: string[], input?: string) => runFerry(['--data-dir', ferry.dataDir, ...args], { input });
  before(async () => {
    ferry = await startFerryProcess({ args: ['--storage', 'memory', '--exec-timeout', '30s'] });
  });
  after(async () => {
    await ferry.stop();
  });

  it('describes a failed build with sections, ages, and its error and output as text', async () => {
    const applied = await ferryCmd(['apply', '-f', '-'], broken);
    assert.equal(applied.code, 0, applied.stderr);
    await waitFor(async () => JSON.parse((await ferryCmd(['get', 'cmdimage', 'broken', '-o', 'json'])).stdout).status?.completed?.error, { timeoutMs: 30_000 });
    const d = await ferryCmd(['describe', 'cmdimage', 'broken']);
    assert.equal(d.code, 0, d.stderr);
    const out = d.stdout;
    assert.match(out, /^Name:\s+broken$/m);
    assert.match(out, /^Annotations:\s+tilt\.dev\/resource: web$/m);
    assert.doesNotMatch(out, /last-applied-configuration/);
    assert.match(out, /^Metadata:\n {2}Creation Timestamp:\s+\S+Z \(\d+s ago\)$/m);
    assert.match(out, /^Spec:\n {2}Args:\n {4}sh\n {4}-c\n/m);
    assert.match(out, /^ {2}Ref:\s+localhost:5000\/broken$/m);
    assert.match(out, /^Status:\n {2}Completed:\n/m);
    assert.match(out, /^ {4}Error:\s+Custom build .* failed: exit status 3$/m);
    // The build's output is text: one line each, not escaped, below the error.
    assert.match(out, /^ {6}step 5: doing "things"\n {6}error: COPY failed: file not found$/m);
    assert.match(out, /^ {4}Finished At:\s+\S+ \(\d+s ago\)$/m);
    // Why the build started, labelled so, not read as why it failed.
    assert.match(out, /^ {4}Build Reason:\s+\S+$/m);
    assert.doesNotMatch(out, /^\s*Reason:/m);
    assert.doesNotMatch(out, /^\s*(completed|finishedAt|startedAt|reason|args):|^ {4}error:/m, 'no raw lower-case YAML');
    assert.doesNotMatch(out, /\\n/, 'no escaped newlines');
    assert.match(out, /^Events:\s+<none>$/m);
  });

  it('shows only the last lines of long text', () => {
    const log = Array.from({ length: 50 }, (_, i) => `line ${i + 1}`).join('\n');
    const now = Date.parse('2026-01-01T00:10:00Z');
    const text = describeObject({ apiVersion: 'tilt.dev/v1alpha1', kind: 'Cmd', metadata: { name: 'x', creationTimestamp: '2026-01-01T00:00:00Z' }, status: { terminated: { error: `failed\n${log}` } } } as never, { now });
    assert.match(text, /Creation Timestamp:\s+2026-01-01T00:00:00Z \(10m ago\)/);
    assert.match(text, /Error:\s+failed\n\s+\.\.\. \(30 earlier lines; `ferry logs` has them all\)\n\s+line 31\n/);
    assert.match(text, /line 50$/m);
    assert.doesNotMatch(text, /line 30$/m);
    assert.equal(fieldTitle('containerID'), 'Container ID');
    assert.equal(fieldTitle('uid'), 'UID');
    assert.equal(fieldTitle('tilt.dev/resource'), 'tilt.dev/resource');
  });

  it('trigger of an unknown resource says so and exits 1; a known one is queued', async () => {
    const nope = await ferryCmd(['trigger', 'nope']);
    assert.equal(nope.code, 1);
    assert.equal(nope.stdout, '');
    assert.match(nope.stderr, /no resource "nope" \(resources: .*web.*\)/);
    const cm = await ferryCmd(['get', 'configmap', 'tilt-trigger-queue', '-o', 'json']);
    assert.doesNotMatch(cm.stdout, /nope/, 'nothing was queued');
    const web = await ferryCmd(['trigger', 'web']);
    assert.equal(web.code, 0, web.stderr);
    assert.match(web.stdout, /^web (triggered|was already queued)$/m);
  });

  it('logs of an unknown resource says so in the words trigger uses', async () => {
    const trigger = await ferryCmd(['trigger', 'nope']);
    const logs = await ferryCmd(['logs', 'nope']);
    assert.equal(logs.code, 1);
    assert.equal(logs.stdout, '');
    assert.equal(logs.stderr, trigger.stderr);
  });

  it('get --help names only kinds that get accepts', async () => {
    const help = await runFerry(['get', '--help']);
    const names = /\(([^)]*\.\.\.)\)/.exec(help.stdout)?.[1].split(/,\s*/).filter((n) => n !== '...') ?? [];
    assert.ok(names.length >= 2, help.stdout);
    for (const name of names) {
      const r = await ferryCmd(['get', name]);
      assert.equal(r.code, 0, `ferry get ${name}: ${r.stderr}`);
    }
  });

  it('every daemon flag the API documents is one ferry serve accepts', async () => {
    const explain = await runCommand('kubectl', ['--kubeconfig', ferry.kubeconfigPath, 'explain', 'liveupdate.spec.execs']);
    assert.equal(explain.code, 0, explain.stderr);
    const flags = [...new Set(explain.stdout.match(/--[a-z][a-z-]+/g) ?? [])];
    assert.ok(flags.includes('--exec-timeout'), explain.stdout);
    const serveHelp = await runFerry(['serve', '--help']);
    for (const flag of flags) assert.match(serveHelp.stdout, new RegExp(`${flag} <`), `ferry serve --help lists ${flag}`);
    const bad = await runFerry(['serve', '--exec-timeout', 'soon']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /--exec-timeout must be a duration such as 90s or 15m, got "soon"/);
  });

  it('client commands load neither @kubernetes/client-node nor the schemas', async () => {
    // A module hook records every package a command loads.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-loads-'));
    const log = path.join(dir, 'loaded');
    fs.writeFileSync(path.join(dir, 'hooks.mjs'), `import fs from 'node:fs';\nexport async function load(url, context, next) {\n  const m = /node_modules\\/((?:@[^/]+\\/)?[^/]+)/.exec(url);\n  if (m) fs.appendFileSync(${JSON.stringify(log)}, m[1] + '\\n');\n  return next(url, context);\n}\n`);
    fs.writeFileSync(path.join(dir, 'register.mjs'), `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(path.join(dir, 'hooks.mjs')).href)});\n`);
    const env = { NODE_OPTIONS: `--import ${pathToFileURL(path.join(dir, 'register.mjs')).href}` };
    try {
      for (const args of [['get', 'cmdimages'], ['describe', 'cmdimage', 'broken'], ['apply', '-f', '-'], ['delete', 'configmap', 'gone', '--ignore-not-found'], ['trigger', 'web'], ['logs'], ['version']]) {
        fs.rmSync(log, { force: true });
        const r = await runFerry(['--data-dir', ferry.dataDir, ...args], { input: broken, env });
        assert.equal(r.code, 0, `ferry ${args.join(' ')}: ${r.stderr}`);
        const loaded = new Set(fs.readFileSync(log, 'utf8').split('\n').filter(Boolean));
        assert.ok(loaded.has('commander'), 'the hook saw the packages');
        for (const heavy of ['@kubernetes/client-node', '@sinclair/typebox', 'winston']) assert.ok(!loaded.has(heavy), `ferry ${args.join(' ')} loads ${heavy}`);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('ferry doctor has the options registerDoctor gives it', () => {
    const flags = (c: Command | undefined) => c?.options.map((o) => `${o.flags} ${o.defaultValue ?? ''}`).sort();
    const alone = new Command('ferry');
    registerDoctor(alone);
    const doctor = (p: Command) => p.commands.find((c) => c.name() === 'doctor');
    assert.deepEqual(flags(doctor(buildProgram())), flags(doctor(alone)));
    assert.equal(doctor(buildProgram())?.description(), doctor(alone)?.description());
  });
});
