/**
 * The examples' build commands leave nothing behind when a build fails: the legacy builder keeps
 * the container of a failed step unless told to remove it (`--force-rm`), so each broken save
 * would leave a stopped container.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import type { CmdImage } from '../../src/apis/index.ts';
import { requireDocker, testImages } from '../support/docker.ts';
import { runCommand } from '../support/daemon.ts';

const examples = path.resolve(import.meta.dirname, '../../deploy/examples');

describe('the examples\' build commands', () => {
  before(async () => {
    await requireDocker();
  });

  for (const name of ['docker', 'kubernetes']) {
    it(`${name}: a failed build leaves no container`, async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), `ferry-example-fail-${name}-`));
      try {
        fs.cpSync(path.join(examples, name), dir, { recursive: true });
        const marker = randomUUID();
        const dockerfile = path.join(dir, 'app/Dockerfile');
        fs.writeFileSync(dockerfile, fs.readFileSync(dockerfile, 'utf8').replace(/^WORKDIR .*$/m, `$&\nRUN echo ${marker}; exit 3`));
        const cmdImage = YAML.parseAllDocuments(fs.readFileSync(path.join(dir, 'ferry.yaml'), 'utf8'))
          .map((d) => d.toJS() as CmdImage)
          .find((o) => o?.kind === 'CmdImage')!;
        const [cmd, ...args] = cmdImage.spec!.args!;
        const r = await runCommand(cmd, args, {
          cwd: path.join(dir, cmdImage.spec!.dir ?? '.'),
          env: { EXPECTED_REF: `ferry-example-fail-${name}:tilt-build-1`, EXAMPLE_BASE_IMAGE: testImages.busybox, DOCKER_BUILDKIT: '0' },
          timeoutMs: 120_000,
        });
        assert.notEqual(r.code, 0, 'the build fails');
        const left = execFileSync('docker', ['ps', '-a', '--no-trunc', '--format', '{{.ID}} {{.Command}}']).toString().split('\n').filter((l) => l.includes(marker));
        for (const l of left) execFileSync('docker', ['rm', '-f', l.split(' ')[0]]);
        assert.deepEqual(left, []);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
