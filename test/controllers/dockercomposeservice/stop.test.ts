/**
 * Stopping the daemon while a Compose command runs cuts it short on purpose: that is no failure
 * to log (the next start does what was left undone).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PassThrough } from 'node:stream';
import type { DockerComposeService } from '../../../src/apis/dockercomposeservice.ts';
import type { ContainerDetails, ContainerSummary, DockerClient, NetworkSummary, DockerEvent } from '../../../src/adapters/docker/index.ts';
import { ComposeError, type ComposeRunner, type ComposeUpOptions } from '../../../src/adapters/compose/index.ts';
import { setup } from '../../../controllers/dockercomposeservice/index.ts';
import { createLogger } from '../../../src/log.ts';
import { ControllerHarness } from '../../support/controllers.ts';
import { waitFor } from '../../support/wait.ts';

class NoContainers implements DockerClient {
  async ping(): Promise<void> {}
  async inspectContainer(): Promise<ContainerDetails | undefined> {
    return undefined;
  }
  async listContainers(): Promise<ContainerSummary[]> {
    return [];
  }
  async removeContainer(): Promise<void> {}
  async listNetworks(): Promise<NetworkSummary[]> {
    return [];
  }
  async removeNetwork(): Promise<void> {}
  async *events(): AsyncIterable<DockerEvent> {
    return;
  }
}

/** HangingCompose's `up` runs until its signal aborts, then fails as a killed process does. */
class HangingCompose implements ComposeRunner {
  started = false;
  async form() {
    return 'standalone' as const;
  }
  async config(): Promise<string> {
    return '';
  }
  async up(_p: unknown, _s: string, opts: ComposeUpOptions = {}): Promise<void> {
    this.started = true;
    await new Promise<void>((resolve) => opts.signal?.addEventListener('abort', () => resolve(), { once: true }));
    throw new ComposeError('running docker-compose: The operation was aborted', null, '');
  }
  async rm(): Promise<void> {}
  async down(): Promise<void> {}
}

describe('DockerComposeService on stop', () => {
  test('a Compose command cut short by the stop is not logged as a failure', async (t) => {
    const stream = new PassThrough();
    let logged = '';
    stream.on('data', (d) => (logged += d));
    const compose = new HangingCompose();
    const h = await ControllerHarness.start(t, {
      log: createLogger({ format: 'json', level: 'info', stream }),
      dirPrefix: 'ferry-dcs-stop-',
      setup: (mgr, env) => setup(mgr, { compose, docker: new NoContainers(), workDir: `${env.dir}/work`, cwd: env.dir }),
    });
    await h.create<DockerComposeService>({ kind: 'DockerComposeService', metadata: { name: 'web' }, spec: { service: 'web', project: { name: 'p', configPaths: ['compose.yaml'] } } });
    await waitFor(() => compose.started, { timeoutMs: 10_000 });
    await h.stop();
    const errors = logged.split('\n').filter((l) => l.includes('"level":"error"'));
    assert.deepEqual(errors, []);
    assert.match(logged, /Compose command cut short by the stop/);
  });
});
