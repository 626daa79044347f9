/**
 * Test pieces for KubernetesApply: a fake cluster that records what is applied and deleted,
 * and the harness that runs the controller against it (or against any ClusterConnector).
 */
import { randomUUID } from 'node:crypto';
import type { TestContext } from 'node:test';
import type { Cluster, ImageMap, KubernetesApply } from '../../../src/apis/index.ts';
import type { ApplyOptions, KubeResource, KubernetesObjects, ObjectRef } from '../../../src/adapters/kubernetes/index.ts';
import { LocalProcessRunner, type ProcessRunner } from '../../../src/adapters/process/index.ts';
import { setup, type ClusterConnector, type KubernetesInjector } from '../../../controllers/kubernetesapply/index.ts';
import { ControllerHarness } from '../../support/controllers.ts';


/** FakeObjects is a cluster in memory: apply stores a copy with a uid, delete removes it. */
export class FakeObjects implements KubernetesObjects {
  readonly stored = new Map<string, KubeResource>();
  readonly applies: string[] = [];
  readonly deletes: string[] = [];
  /** hang makes every apply wait until its signal aborts. */
  hang = false;
  /** failWith makes every apply fail with this error. */
  failWith?: Error;

  async apply(obj: KubeResource, opts: ApplyOptions): Promise<KubeResource> {
    const key = keyOf(obj);
    this.applies.push(key);
    if (this.hang) {
      await new Promise<void>((_, reject) => opts.signal?.addEventListener('abort', () => reject(new Error('aborted')), { once: true }));
    }
    if (this.failWith) throw this.failWith;
    const old = this.stored.get(key);
    const out = structuredClone(obj);
    out.metadata = {
      ...out.metadata,
      namespace: out.metadata?.namespace ?? 'default',
      uid: old?.metadata?.uid ?? randomUUID(),
      managedFields: [{ manager: opts.fieldManager, operation: opts.serverSideApply ? 'Apply' : 'Update' }],
    };
    this.stored.set(key, out);
    return structuredClone(out);
  }

  async delete(ref: ObjectRef): Promise<void> {
    const key = `${ref.kind}/${ref.namespace || 'default'}/${ref.name}`;
    this.deletes.push(key);
    this.stored.delete(key);
  }

  get(kind: string, name: string, namespace = 'default'): KubeResource | undefined {
    return this.stored.get(`${kind}/${namespace}/${name}`);
  }
}

function keyOf(o: KubeResource): string {
  return `${o.kind}/${o.metadata?.namespace || 'default'}/${o.metadata?.name}`;
}

/** startApply runs the KubernetesApply controller with connect, and creates Cluster `default`. */
export async function startApply(
  t: TestContext,
  opts: { connect: ClusterConnector; inject?: KubernetesInjector; runner?: ProcessRunner },
): Promise<ControllerHarness<ReturnType<typeof setup>>> {
  const f = await ControllerHarness.start(t, {
    dirPrefix: 'ferry-ka-',
    setup: (mgr, env) => setup(mgr, { log: env.log, cwd: env.dir, connect: opts.connect, inject: opts.inject, runner: opts.runner ?? new LocalProcessRunner() }),
  });
  await f.create<Cluster>({ apiVersion: 'tilt.dev/v1alpha1', kind: 'Cluster', metadata: { name: 'default' }, spec: { connection: { kubernetes: {} } } });
  return f;
}

/** fakeConnector connects every Cluster to objects. */
export function fakeConnector(objects: KubernetesObjects, configPath = '/fake/kubeconfig'): ClusterConnector {
  return () => ({ objects, configPath, defaultNamespace: 'default' });
}

/** deploymentYaml is a Deployment of one container running image. */
export function deploymentYaml(name: string, image: string): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
spec:
  selector:
    matchLabels: {app: ${name}}
  template:
    metadata:
      labels: {app: ${name}}
    spec:
      containers:
      - name: main
        image: ${image}
        command: [sleep, "3600"]
`;
}

/** imageMap is an ImageMap for selector with a built image. */
export function imageMap(name: string, selector: string): ImageMap {
  return { apiVersion: 'tilt.dev/v1alpha1', kind: 'ImageMap', metadata: { name }, spec: { selector } };
}

/** kubernetesApply is a KubernetesApply object. */
export function kubernetesApply(name: string, spec: KubernetesApply['spec']): KubernetesApply {
  return { apiVersion: 'tilt.dev/v1alpha1', kind: 'KubernetesApply', metadata: { name }, spec };
}
