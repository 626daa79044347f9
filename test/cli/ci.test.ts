/**
 * `ferry ci` end to end on the real Docker Engine: it exits 0 with a summary when every
 * resource is healthy, 1 with the reason otherwise, and leaves nothing running.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type Docker from 'dockerode';
import { runCi } from '../../src/cli/ci.ts';
import { requireDocker, testImages } from '../support/docker.ts';
import { silentLogger } from '../../src/log.ts';

const exampleDir = path.resolve(import.meta.dirname, '../../deploy/examples/docker');

function project(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ferry-ci-test-'));
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), text);
  }
  return dir;
}

const dcs = (name: string, compose: string, imageMaps: string[] = []) => `apiVersion: tilt.dev/v1alpha1
kind: DockerComposeService
metadata: {name: ${name}}
spec:
  service: ${name}
  project: {configPaths: [${compose}], name: ${name}-proj}
  imageMaps: ${JSON.stringify(imageMaps)}
`;

describe('ferry ci', () => {
  let docker: Docker;
  before(async () => {
    docker = (await requireDocker())!;
    process.env.EXAMPLE_BASE_IMAGE = testImages.busybox;
  });
  after(() => {
    delete process.env.EXAMPLE_BASE_IMAGE;
  });

  /** containersOf lists the containers of ci's own projects for a project name (`<name>-ci-<id>`). */
  const containersOf = async (projectName: string) =>
    (await docker.listContainers({ all: true, filters: { label: ['com.docker.compose.project'] } }))
      .filter((c) => c.Labels['com.docker.compose.project']?.startsWith(`${projectName}-ci-`));

  async function ci(dir: string, timeoutMs = 120_000) {
    const lines: string[] = [];
    // Relative paths in the objects resolve against the daemon's working directory, as in Tilt.
    const prev = process.cwd();
    process.chdir(dir);
    try {
      const code = await runCi({ files: [path.join(dir, 'ferry.yaml')], timeoutMs, cwd: dir, out: (l) => lines.push(l), log: silentLogger() });
      return { code, text: lines.join('\n') };
    } finally {
      process.chdir(prev);
    }
  }

  it('builds the example image, brings the service up, and exits 0 with a summary', async () => {
    const r = await ci(exampleDir);
    assert.equal(r.code, 0, r.text);
    assert.match(r.text, /TARGET\s+TYPE\s+STATE/);
    assert.match(r.text, /web:runtime\s+server\s+ready/);
    assert.match(r.text, /web:update\s+job\s+done/);
    assert.equal((await containersOf('ferry-example')).length, 0, 'nothing is left running');
  });

  it('exits 1 with the build error when the build fails', async () => {
    const dir = project({
      'compose.yaml': `version: "3.7"\nservices:\n  broken:\n    image: ferry-ci-broken\n    command: ["sleep", "60"]\n`,
      'ferry.yaml': `apiVersion: tilt.dev/v1alpha1
kind: CmdImage
metadata: {name: ferry-ci-broken, annotations: {tilt.dev/resource: broken}}
spec: {ref: ferry-ci-broken, args: ["sh", "-c", "echo compiling; echo 'syntax error at line 3' >&2; exit 7"], cluster: docker}
---
${dcs('broken', 'compose.yaml', ['ferry-ci-broken'])}`,
    });
    const r = await ci(dir);
    assert.equal(r.code, 1, r.text);
    assert.match(r.text, /Error: .*exit status 7/);
    // The output line itself (not the command that prints it), once: in the log, not again in the targets, summary and error.
    assert.equal(r.text.match(/^(.*│ )?syntax error at line 3$/gm)?.length, 1, `the build output is shown once:\n${r.text}`);
    // The error itself, once: the last line; the targets and the summary say which failed.
    assert.equal(r.text.match(/exit status 7/g)?.length, 1, `the error is stated once:\n${r.text}`);
    assert.match(r.text, /^broken:update\s+job\s+error$/m);
    assert.match(r.text, /\nError: .*exit status 7$/);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('exits 1 with the exit code of a crashing container', async () => {
    const dir = project({
      'compose.yaml': `version: "3.7"\nservices:\n  crash:\n    image: ${testImages.busybox}\n    command: ["sh", "-c", "exit 3"]\n`,
      'ferry.yaml': dcs('crash', 'compose.yaml'),
    });
    const r = await ci(dir);
    assert.equal(r.code, 1, r.text);
    assert.match(r.text, /Error: .*(exit code|exited).*3/i);
    assert.equal((await containersOf('crash-proj')).length, 0);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('exits 1 with what it waited for when the timeout expires', async () => {
    const dir = project({
      'compose.yaml': `version: "3.7"\nservices:\n  stuck:\n    image: never-built\n`,
      'ferry.yaml': dcs('stuck', 'compose.yaml', ['no-such-imagemap']),
    });
    const r = await ci(dir, 3000);
    assert.equal(r.code, 1, r.text);
    assert.match(r.text, /Error: Timeout after 3s: 1 resources? waiting \(stuck:runtime /);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
