import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import path from 'node:path';
import type { Cluster } from '../../../src/apis/cluster.ts';
import { DockerodePinger } from '../../../src/adapters/docker/index.ts';
import { setupClusterController } from '../../../controllers/cluster/setup.ts';
import type { KubernetesProber } from '../../../src/adapters/kubernetes/index.ts';
import { requireDocker } from '../../support/docker.ts';
import { ControllerHarness } from '../../support/controllers.ts';

const noKubernetes: KubernetesProber = {
  probe: async () => {
    throw new Error('no Kubernetes in this test');
  },
};

/** proxySocket listens on a unix socket at socketPath and forwards every connection to the Engine's socket. */
function proxySocket(t: TestContext, socketPath: string, target = '/var/run/docker.sock'): Promise<net.Server> {
  const open = new Set<net.Socket>();
  const srv = net.createServer((conn) => {
    const up = net.connect(target);
    open.add(conn);
    // A connection to the Engine outlives its client's unless closed with it (and keeps the test process alive).
    conn.on('close', () => {
      open.delete(conn);
      up.destroy();
    });
    conn.pipe(up).pipe(conn);
    conn.on('error', () => up.destroy());
    up.on('error', () => conn.destroy());
  });
  t.after(
    () =>
      new Promise<void>((r) => {
        srv.close(() => r());
        for (const c of open) c.destroy();
      }),
  );
  return new Promise((resolve) => srv.listen(socketPath, () => resolve(srv)));
}

test('the real Engine answers: version and arch as `docker version` reports them', async (t) => {
  const docker = await requireDocker(t);
  if (!docker) return;
  const v = await docker.version();
  const info = await new DockerodePinger().ping();
  assert.equal(info.version, v.Version);
  assert.equal(info.arch, v.Arch);
  assert.equal(info.host, process.env.DOCKER_HOST || 'unix:///var/run/docker.sock');
});

test('a Cluster on an Engine that is not there gets an error, which clears by itself once it answers', async (t) => {
  const docker = await requireDocker(t);
  if (!docker) return;
  const h = await ControllerHarness.start(t, {
    dirPrefix: 'ferry-cluster-',
    setup: (mgr) => setupClusterController(mgr, { docker: new DockerodePinger(), kubernetes: noKubernetes, initialRetryMs: 100, maxRetryMs: 400 }),
  });
  const socketPath = path.join(h.dir, 'docker.sock');
  await h.create<Cluster>({ kind: 'Cluster', metadata: { name: 'docker' }, spec: { connection: { docker: { host: `unix://${socketPath}` } } } });

  const down = (await h.waitStatus<Cluster>('Cluster', 'docker', (s) => Boolean(s.error), 'the error')).status!;
  assert.match(down.error!, /Cannot connect to the Docker daemon at unix:\/\/.*docker\.sock/);
  assert.equal(down.version, undefined);

  await proxySocket(t, socketPath);
  // The controller retries on its own (after 100 ms, doubling to 400 ms): no reconcile is forced here.
  const up = (await h.waitStatus<Cluster>('Cluster', 'docker', (s) => s.error === undefined, 'the error to clear', 20_000)).status!;
  const v = await docker.version();
  assert.equal(up.version, v.Version);
  assert.equal(up.arch, v.Arch);
  assert.deepEqual(up.connection, { docker: { host: `unix://${socketPath}` } });
  assert.ok(up.connectedAt);
});
