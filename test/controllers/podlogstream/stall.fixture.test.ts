/**
 * A stalled pod log connection against the test cluster, on a fake clock: the cluster keeps the
 * connection open and stops sending while the container prints; 15 s (fake) after the last line
 * the stream reconnects from that line, shows what the stall held back once, and repeats nothing.
 * A container that is merely quiet is reconnected once, not again and again.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { apiVersion, type PodLogStream } from '../../../src/apis/index.ts';
import { ClientNodePodLogs, KubeconfigClusters } from '../../../src/adapters/kubernetes/index.ts';
import { FakeClock } from '../../../src/util/clock.ts';
import { LogBuffer } from '../../../src/util/log-buffer.ts';
import { normalizeLogTime, wholeSeconds } from '../../../src/util/log-time.ts';
import { setup } from '../../../controllers/podlogstream/index.ts';
import { stallMs } from '../../../controllers/podlogstream/stall.ts';
import { KubeCluster } from '../../fixtures/kube-cluster/index.ts';
import { ControllerHarness } from '../../support/controllers.ts';
import { requireDocker, testImages } from '../../support/docker.ts';
import { waitFor } from '../../support/wait.ts';

const run = promisify(execFile);

const script = ['echo one', 'echo two', 'N=0', 'trap \'N=$((N+1)); echo "poke $N"\' USR1', 'trap "exit 0" TERM', 'while true; do sleep 3600 & wait $!; done'].join('; ');

describe('PodLogStream stall', () => {
  let kube: KubeCluster;
  let kubeconfigPath: string;
  const clock = new FakeClock(new Date());
  const logs = new LogBuffer();
  const cleanups: Array<() => Promise<void>> = [];
  const lines = () => logs.lines({ resource: 'web' }).map((l) => l.line);
  const follows = () => kube.podLogRequests().filter((r) => r.pod === 'web' && r.follow);
  const containerId = () => kube.containerId('default', 'web', 'main')!;
  const poke = () => run('docker', ['kill', '-s', 'USR1', containerId()]);

  before(async () => {
    await requireDocker();
    kube = await KubeCluster.start();
    kubeconfigPath = await kube.writeKubeconfig(undefined, { context: 'fixture' });
    const conn = new KubeconfigClusters({ kubeconfigPath }).resolve();
    const client = new ClientNodePodLogs(conn.kubeConfig);
    const h = await ControllerHarness.start({ after: (fn: () => Promise<void>) => cleanups.push(fn) }, {
      clock,
      dirPrefix: 'ferry-pls-stall-test-',
      setup: (mgr) => setup(mgr, { podLogs: () => client, logs, persistMs: 50 }),
    });
    await kube.createPod({ name: 'web', containers: [{ name: 'main', image: testImages.busybox, command: ['sh', '-c', script] }] });
    await kube.waitForPod('default', 'web', (p) => p?.status.phase === 'Running');
    await h.create<PodLogStream>({ apiVersion, kind: 'PodLogStream', metadata: { name: 'web', annotations: { 'tilt.dev/resource': 'web' } }, spec: { pod: 'web', namespace: 'default' } });
  });
  after(async () => {
    for (const c of cleanups.reverse()) await c();
    await kube.stop();
    await rm(path.dirname(kubeconfigPath), { recursive: true, force: true });
  });

  it('reconnects a stalled connection from the last line, without repeating a line', async () => {
    await waitFor(() => lines().length === 2, { message: 'the first lines', timeoutMs: 20_000 });
    assert.equal(follows().length, 1);
    assert.equal(kube.stallPodLogs(), 1, 'one connection stalled');
    await poke();
    const { stdout } = await waitFor(async () => {
      const out = await run('docker', ['logs', '-t', containerId()]);
      return out.stdout.includes(' poke 1') && out;
    }, { message: 'the container printed while stalled' });

    await clock.advance(stallMs);
    await waitFor(() => lines().includes('poke 1'), { message: 'the line the stall held back', timeoutMs: 20_000 });
    assert.deepEqual(lines(), ['one', 'two', 'poke 1']);
    assert.equal(follows().length, 2, 'one reconnect');
    const two = stdout.split('\n').find((l) => l.endsWith(' two'))!;
    assert.equal(follows()[1].sinceTime, wholeSeconds(normalizeLogTime(two.split(' ')[0])!), 'from the last line read');
  });

  it('reconnects a quiet container once per quiet spell', async () => {
    // The connection that delivered `poke 1` has been silent 15 s: it is reconnected, as Tilt does.
    await clock.advance(stallMs);
    await waitFor(() => follows().length === 3, { message: 'the reconnect after 15 s of silence' });
    // The new connection replays `poke 1`'s second, which is not new: silence after it is no stall.
    await clock.advance(stallMs);
    await poke();
    await waitFor(() => lines().includes('poke 2'), { message: 'a line on the same connection', timeoutMs: 20_000 });
    assert.equal(follows().length, 3, 'no further reconnect');
    assert.deepEqual(lines(), ['one', 'two', 'poke 1', 'poke 2']);
  });
});
