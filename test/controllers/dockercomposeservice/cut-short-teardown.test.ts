/**
 * A deletion that a daemon's stop cut short is finished by the next start, wherever that daemon
 * runs: when the service's containers and the project's networks are already gone there is
 * nothing for `compose down` to do, and networks Compose cannot remove (it cannot read the
 * project from this folder) are removed through the Engine. Neither is worth a warning.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PassThrough } from 'node:stream';
import type { DockerComposeService } from '../../../src/apis/dockercomposeservice.ts';
import type { ContainerDetails, ContainerSummary, DockerClient, DockerEvent, NetworkSummary } from '../../../src/adapters/docker/index.ts';
import { ComposeError, type ComposeRunner } from '../../../src/adapters/compose/index.ts';
import { setup } from '../../../controllers/dockercomposeservice/index.ts';
import { teardownFinalizer } from '../../../controllers/dockercomposeservice/reconciler.ts';
import { createLogger } from '../../../src/log.ts';
import { ControllerHarness } from '../../support/controllers.ts';
import { waitFor } from '../../support/wait.ts';

/** NoContainersLeft has no container; its networks are what the test gives, removed on request. */
class NoContainersLeft implements DockerClient {
  removedNetworks: string[] = [];
  constructor(private networks: NetworkSummary[]) {}
  async ping(): Promise<void> {}
  async inspectContainer(): Promise<ContainerDetails | undefined> {
    return undefined;
  }
  async listContainers(): Promise<ContainerSummary[]> {
    return [];
  }
  async removeContainer(): Promise<void> {}
  async listNetworks(): Promise<NetworkSummary[]> {
    return this.networks;
  }
  async removeNetwork(id: string): Promise<void> {
    this.removedNetworks.push(id);
    this.networks = this.networks.filter((n) => n.id !== id);
  }
  async *events(): AsyncIterable<DockerEvent> {
    return;
  }
}

/** ComposeElsewhere runs `up`, and fails `down` as Compose does when the project's file is not where it looks. */
class ComposeElsewhere implements ComposeRunner {
  downs = 0;
  async form() {
    return 'standalone' as const;
  }
  async config(): Promise<string> {
    return '';
  }
  async up(): Promise<void> {}
  async rm(): Promise<void> {}
  async down(): Promise<void> {
    this.downs++;
    throw new ComposeError("FileNotFoundError: [Errno 2] No such file or directory: '/elsewhere/compose.yaml'", 1, '');
  }
}

async function deleteLeftover(t: Parameters<typeof ControllerHarness.start>[0], docker: NoContainersLeft, compose: ComposeElsewhere): Promise<string> {
  const stream = new PassThrough();
  let logged = '';
  stream.on('data', (d) => (logged += d));
  const h = await ControllerHarness.start(t, {
    log: createLogger({ format: 'json', level: 'info', stream }),
    dirPrefix: 'ferry-dcs-teardown-',
    setup: (mgr, env) => setup(mgr, { compose, docker, workDir: `${env.dir}/work`, cwd: env.dir }),
  });
  // Left by a daemon stopped while it tore the service down: the finalizer is still on it.
  await h.create<DockerComposeService>({
    kind: 'DockerComposeService',
    metadata: { name: 'web', finalizers: [teardownFinalizer] },
    spec: { service: 'web', project: { name: 'p', configPaths: ['compose.yaml'] } },
  });
  await h.client.delete('DockerComposeService', 'web');
  await waitFor(async () => !(await h.get('DockerComposeService', 'web')), { timeoutMs: 10_000, message: 'the deletion to finish' });
  return logged;
}

const warnings = (logged: string) => logged.split('\n').filter((l) => /"level":"(warn|error)"/.test(l));

describe('DockerComposeService teardown after a cut-short one', () => {
  test('with the networks already gone, it runs no down and warns of nothing', async (t) => {
    const compose = new ComposeElsewhere();
    const logged = await deleteLeftover(t, new NoContainersLeft([]), compose);
    assert.equal(compose.downs, 0);
    assert.deepEqual(warnings(logged), []);
  });

  test('networks Compose cannot remove are removed through the Engine', async (t) => {
    const docker = new NoContainersLeft([{ id: 'n1', name: 'p_default' }]);
    const compose = new ComposeElsewhere();
    const logged = await deleteLeftover(t, docker, compose);
    assert.equal(compose.downs, 1);
    assert.deepEqual(docker.removedNetworks, ['n1']);
    assert.deepEqual(warnings(logged), []);
  });
});
