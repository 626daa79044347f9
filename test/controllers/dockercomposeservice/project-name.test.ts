import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { DockerComposeService } from '../../../src/apis/dockercomposeservice.ts';
import { projectName } from '../../../controllers/dockercomposeservice/project.ts';

const dcs = (project: NonNullable<DockerComposeService['spec']>['project']): DockerComposeService => ({
  apiVersion: 'tilt.dev/v1alpha1',
  kind: 'DockerComposeService',
  metadata: { name: 'web' },
  spec: { service: 'web', project },
});

describe('projectName', () => {
  it('is the spec\'s name, else the folder\'s, as Compose names it', () => {
    assert.equal(projectName(dcs({ name: 'ferry-example', configPaths: ['compose.yaml'] }), '/src/app'), 'ferry-example');
    assert.equal(projectName(dcs({ configPaths: ['compose.yaml'] }), '/src/My App'), 'myapp');
  });

  it('takes a suffix, so that ferry ci runs its own project', () => {
    assert.equal(projectName(dcs({ name: 'ferry-example', configPaths: ['compose.yaml'] }), '/src', '-ci-a1b2c3'), 'ferry-example-ci-a1b2c3');
    assert.equal(projectName(dcs({ configPaths: ['compose.yaml'] }), '/src/App', '-ci-A1'), 'app-ci-a1');
  });
});
