import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import YAML from 'yaml';
import {
  InjectError,
  injectIntoKubernetesObjects,
  podTemplateHashLabel,
  type InjectImageMap,
  type KubeManifest,
} from '../../../src/adapters/images/index.ts';
import type { KubernetesImageLocator } from '../../../src/apis/kubernetesapply.ts';

type Json = any;

const digest = 'sha256:' + 'ab'.repeat(32);

function imageMap(name: string, spec: Partial<NonNullable<InjectImageMap['spec']>> & { selector: string }, image?: string): InjectImageMap {
  return {
    metadata: { name },
    spec: spec as InjectImageMap['spec'],
    status: image ? { image, imageFromCluster: image, imageFromLocal: image } : {},
  };
}

const objects = (yaml: string): KubeManifest[] => YAML.parseAllDocuments(yaml).map((d) => d.toJS());

const deployment = (containers: Json[], extra: Json = {}): Json => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: 'apps' },
  spec: {
    selector: { matchLabels: { app: 'web' } },
    template: { metadata: { labels: { app: 'web' } }, spec: { containers, ...extra } },
  },
});

const podSpec = (o: Json) => o.spec.template.spec;

describe('injectIntoKubernetesObjects', () => {
  it('injects the familiar cluster ref into containers and init containers, with IfNotPresent', () => {
    const d = deployment([{ name: 'app', image: 'app:dev', imagePullPolicy: 'Always' }, { name: 'side', image: 'busybox' }], {
      initContainers: [{ name: 'init', image: 'docker.io/library/app' }],
    });
    const im = imageMap('app', { selector: 'app' }, 'docker.io/library/app:ferry-0123456789abcdef');
    const r = injectIntoKubernetesObjects([d], [im]);
    const spec = podSpec(r.objects[0]);
    assert.deepEqual(spec.containers, [
      { name: 'app', image: 'app:ferry-0123456789abcdef', imagePullPolicy: 'IfNotPresent' },
      { name: 'side', image: 'busybox', imagePullPolicy: 'IfNotPresent' },
    ]);
    assert.deepEqual(spec.initContainers, [{ name: 'init', image: 'app:ferry-0123456789abcdef', imagePullPolicy: 'IfNotPresent' }]);
    assert.deepEqual(r.injected, ['app']);
    assert.equal(d.spec.template.spec.containers[0].image, 'app:dev', 'the input is not changed');
  });

  it('injects a registry ref with a tag, and a digest ref, as given', () => {
    const tagged = injectIntoKubernetesObjects([deployment([{ name: 'a', image: 'app' }])], [imageMap('app', { selector: 'app' }, 'localhost:5000/app:ferry-1')]);
    assert.equal(podSpec(tagged.objects[0]).containers[0].image, 'localhost:5000/app:ferry-1');
    const digested = injectIntoKubernetesObjects([deployment([{ name: 'a', image: 'app' }])], [imageMap('app', { selector: 'app' }, `registry:5000/app:ferry-1@${digest}`)]);
    assert.equal(podSpec(digested.objects[0]).containers[0].image, `registry:5000/app:ferry-1@${digest}`);
  });

  it('uses imageFromCluster, the name the cluster pulls by', () => {
    const im: InjectImageMap = {
      metadata: { name: 'app' },
      spec: { selector: 'app' },
      status: { image: 'localhost:5000/app:t', imageFromLocal: 'localhost:5000/app:t', imageFromCluster: 'registry.local:5000/app:t' },
    };
    const r = injectIntoKubernetesObjects([deployment([{ name: 'a', image: 'app' }])], [im]);
    assert.equal(podSpec(r.objects[0]).containers[0].image, 'registry.local:5000/app:t');
  });

  it('matches by name, or exactly with matchExact (tags and digests included)', () => {
    const containers = [{ name: 'a', image: 'app:1' }, { name: 'b', image: 'app:2' }, { name: 'c', image: `app@${digest}` }, { name: 'd', image: 'other/app:1' }];
    const byName = injectIntoKubernetesObjects([deployment(containers)], [imageMap('app', { selector: 'app' }, 'app:t')]);
    assert.deepEqual(podSpec(byName.objects[0]).containers.map((c: Json) => c.image), ['app:t', 'app:t', 'app:t', 'other/app:1']);
    const exact = injectIntoKubernetesObjects([deployment(containers)], [imageMap('app', { selector: 'app:2', matchExact: true }, 'app:t')]);
    assert.deepEqual(podSpec(exact.objects[0]).containers.map((c: Json) => c.image), ['app:1', 'app:t', `app@${digest}`, 'other/app:1']);
    const byDigest = injectIntoKubernetesObjects([deployment(containers)], [imageMap('app', { selector: `app@${digest}`, matchExact: true }, 'app:t')]);
    assert.deepEqual(podSpec(byDigest.objects[0]).containers.map((c: Json) => c.image), ['app:1', 'app:2', 'app:t', 'other/app:1']);
  });

  it('leaves pull policies alone without ImageMaps, and labels every object', () => {
    const r = injectIntoKubernetesObjects(objects(`
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: app, image: app, imagePullPolicy: Always}]}
---
apiVersion: v1
kind: Service
metadata: {name: web, labels: {team: a}}
spec: {selector: {app: web}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cfg}
`), []);
    const [d, svc, cm] = r.objects as Json[];
    assert.equal(podSpec(d).containers[0].imagePullPolicy, 'Always');
    assert.equal(d.metadata.labels['app.kubernetes.io/managed-by'], 'ferry');
    assert.equal(d.spec.template.metadata.labels['app.kubernetes.io/managed-by'], 'ferry', 'pods carry it too');
    assert.deepEqual(d.spec.selector, { matchLabels: { app: 'web' } }, 'a selector gains no label');
    assert.deepEqual(svc.metadata.labels, { team: 'a', 'app.kubernetes.io/managed-by': 'ferry' });
    assert.deepEqual(svc.spec.selector, { app: 'web' });
    assert.deepEqual(cm.metadata.labels, { 'app.kubernetes.io/managed-by': 'ferry' });
    assert.deepEqual(r.injected, []);
  });

  it('keeps a selector that names the managed-by label in step with the relabelled pods', () => {
    const d = deployment([{ name: 'a', image: 'app' }]);
    d.spec.selector.matchLabels['app.kubernetes.io/managed-by'] = 'helm';
    d.spec.template.metadata.labels['app.kubernetes.io/managed-by'] = 'helm';
    const r = injectIntoKubernetesObjects([d], []);
    const out = r.objects[0] as Json;
    assert.equal(out.spec.selector.matchLabels['app.kubernetes.io/managed-by'], 'ferry');
    assert.equal(out.spec.template.metadata.labels['app.kubernetes.io/managed-by'], 'ferry');
  });

  it('runs StatefulSet pods in parallel and sets IfNotPresent on every container when there are ImageMaps', () => {
    const r = injectIntoKubernetesObjects(objects(`
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  podManagementPolicy: OrderedReady
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec: {containers: [{name: db, image: postgres, imagePullPolicy: Always}, {name: app, image: app}]}
  volumeClaimTemplates: [{metadata: {name: data}, spec: {accessModes: [ReadWriteOnce]}}]
`), [imageMap('app', { selector: 'app' }, 'app:t')]);
    const ss = r.objects[0] as Json;
    assert.equal(ss.spec.podManagementPolicy, 'Parallel');
    assert.deepEqual(podSpec(ss).containers.map((c: Json) => [c.image, c.imagePullPolicy]), [['postgres', 'IfNotPresent'], ['app:t', 'IfNotPresent']]);
    assert.equal(ss.spec.volumeClaimTemplates[0].metadata.labels, undefined, 'claim templates are left alone');
  });

  it('reaches Pods, Jobs, CronJobs, ReplicationControllers and PodTemplates', () => {
    const pod = { name: 'a', image: 'app' };
    const docs: Json[] = [
      { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [pod] } },
      { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'j' }, spec: { template: { spec: { containers: [pod] } } } },
      { apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'c' }, spec: { jobTemplate: { spec: { template: { spec: { containers: [pod] } } } } } },
      { apiVersion: 'v1', kind: 'ReplicationController', metadata: { name: 'rc' }, spec: { template: { spec: { containers: [pod] } } } },
      { apiVersion: 'v1', kind: 'PodTemplate', metadata: { name: 'pt' }, template: { spec: { containers: [pod] } } },
      { apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'ds' }, spec: { template: { spec: { containers: [pod] } } } },
      { apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name: 'rs' }, spec: { template: { spec: { containers: [pod] } } } },
    ];
    const r = injectIntoKubernetesObjects(docs, [imageMap('app', { selector: 'app' }, 'app:t')]);
    const [p, j, c, rc, pt, ds, rs] = r.objects as Json[];
    assert.equal(p.spec.containers[0].image, 'app:t');
    assert.equal(j.spec.template.spec.containers[0].image, 'app:t');
    assert.equal(c.spec.jobTemplate.spec.template.spec.containers[0].image, 'app:t');
    assert.equal(c.spec.jobTemplate.metadata.labels['app.kubernetes.io/managed-by'], 'ferry');
    assert.equal(rc.spec.template.spec.containers[0].image, 'app:t');
    assert.equal(pt.template.spec.containers[0].image, 'app:t');
    assert.equal(ds.spec.template.spec.containers[0].image, 'app:t');
    assert.equal(rs.spec.template.spec.containers[0].image, 'app:t');
  });

  it('leaves containers of a kind it does not know (a CRD) to the image locators', () => {
    const crd = { apiVersion: 'example.com/v1', kind: 'Deployment', metadata: { name: 'x' }, spec: { template: { spec: { containers: [{ name: 'a', image: 'app' }] } } } };
    assert.throws(() => injectIntoKubernetesObjects([crd], [imageMap('app', { selector: 'app' }, 'app:t')]), { message: 'Docker image missing from yaml: app' });
  });

  it('injects image volumes, with their pull policy', () => {
    const d = deployment([{ name: 'a', image: 'busybox' }], {
      volumes: [
        { name: 'models', image: { reference: 'models:v1', pullPolicy: 'Always' } },
        { name: 'other', image: { reference: 'other:v1' } },
        { name: 'cfg', configMap: { name: 'cfg' } },
      ],
    });
    const r = injectIntoKubernetesObjects([d], [imageMap('models', { selector: 'models' }, `models:ferry-1`)]);
    assert.deepEqual(podSpec(r.objects[0]).volumes, [
      { name: 'models', image: { reference: 'models:ferry-1', pullPolicy: 'IfNotPresent' } },
      { name: 'other', image: { reference: 'other:v1' } },
      { name: 'cfg', configMap: { name: 'cfg' } },
    ]);
    assert.deepEqual(r.injected, ['models']);
  });

  it('rewrites env vars only with matchInEnvVars, skipping non-images and valueFrom', () => {
    const env = [
      { name: 'IMG', value: 'app:dev' },
      { name: 'TEXT', value: 'Not An Image' },
      { name: 'FROM', valueFrom: { configMapKeyRef: { name: 'c', key: 'k' } } },
      { name: 'OTHER', value: 'other' },
    ];
    const d = deployment([{ name: 'a', image: 'busybox', env }], { initContainers: [{ name: 'i', image: 'busybox', env: [{ name: 'IMG', value: 'app' }] }] });
    assert.throws(() => injectIntoKubernetesObjects([d], [imageMap('app', { selector: 'app' }, 'app:t')]), { message: 'Docker image missing from yaml: app' });
    const r = injectIntoKubernetesObjects([d], [imageMap('app', { selector: 'app', matchInEnvVars: true }, 'app:t')]);
    const spec = podSpec(r.objects[0]);
    assert.deepEqual(spec.containers[0].env, [
      { name: 'IMG', value: 'app:t' },
      { name: 'TEXT', value: 'Not An Image' },
      { name: 'FROM', valueFrom: { configMapKeyRef: { name: 'c', key: 'k' } } },
      { name: 'OTHER', value: 'other' },
    ]);
    assert.deepEqual(spec.initContainers[0].env, [{ name: 'IMG', value: 'app:t' }]);
    assert.equal(spec.containers[0].image, 'busybox');
  });

  it('injects into CRD string fields found by a locator, setting a sibling imagePullPolicy', () => {
    const machines = objects(`
apiVersion: tilt.dev/v1
kind: UselessMachine
metadata: {name: m}
spec: {image: app:dev, imagePullPolicy: Always}
---
apiVersion: tilt.dev/v1
kind: UselessMachine
metadata: {name: n}
spec: {image: other}
---
apiVersion: tilt.dev/v1
kind: Fleet
metadata: {name: f}
spec: {machines: [{image: app}, {image: app:2}]}
`);
    const locators: KubernetesImageLocator[] = [
      { objectSelector: { kindRegexp: '(?i)uselessmachine' }, path: '{.spec.image}' },
      { objectSelector: { apiVersionRegexp: '^tilt.dev/', kindRegexp: '^Fleet$' }, path: '{.spec.machines[*].image}' },
    ];
    const r = injectIntoKubernetesObjects(machines, [imageMap('app', { selector: 'app' }, 'app:t')], locators);
    const [m, n, f] = r.objects as Json[];
    assert.deepEqual(m.spec, { image: 'app:t', imagePullPolicy: 'IfNotPresent' });
    assert.deepEqual(n.spec, { image: 'other' });
    assert.deepEqual(f.spec.machines, [{ image: 'app:t' }, { image: 'app:t' }]);
    assert.equal(m.metadata.labels['app.kubernetes.io/managed-by'], 'ferry');
    assert.deepEqual(r.injected, ['app']);
  });

  it('injects repo and tag fields found by an object locator', () => {
    const env = objects(`
apiVersion: example.com/v1
kind: Environment
metadata: {name: e, namespace: dev}
spec: {runtime: {repo: localhost:5000/app, tag: dev}, sidecar: {repo: busybox, tag: "1"}}
`);
    const locators: KubernetesImageLocator[] = [
      { objectSelector: { kindRegexp: 'Environment', namespaceRegexp: '^dev$' }, path: '{.spec.runtime}', object: { repoField: 'repo', tagField: 'tag' } },
      { objectSelector: { kindRegexp: 'Environment' }, path: '{.spec.sidecar}', object: { repoField: 'repo', tagField: 'tag' } },
    ];
    const r = injectIntoKubernetesObjects(env, [imageMap('app', { selector: 'localhost:5000/app' }, 'registry:5000/app:ferry-9')], locators);
    const spec = (r.objects[0] as Json).spec;
    assert.deepEqual(spec.runtime, { repo: 'registry:5000/app', tag: 'ferry-9' });
    assert.deepEqual(spec.sidecar, { repo: 'busybox', tag: '1' });
  });

  it('does not apply a locator to objects its selector does not match', () => {
    const env = objects(`
apiVersion: example.com/v1
kind: Environment
metadata: {name: e}
spec: {image: app}
`);
    const locators: KubernetesImageLocator[] = [{ objectSelector: { namespaceRegexp: '^prod$' }, path: '{.spec.image}' }];
    assert.throws(() => injectIntoKubernetesObjects(env, [imageMap('app', { selector: 'app' }, 'app:t')], locators), { message: 'Docker image missing from yaml: app' });
    const inDefault: KubernetesImageLocator[] = [{ objectSelector: { namespaceRegexp: '^default$' }, path: '{.spec.image}' }];
    assert.equal((injectIntoKubernetesObjects(env, [imageMap('app', { selector: 'app' }, 'app:t')], inDefault).objects[0] as Json).spec.image, 'app:t');
  });

  it('reports a locator path missing from an object it selects, and a value of the wrong type', () => {
    const crd = objects('apiVersion: x/v1\nkind: Thing\nmetadata: {name: t}\nspec: {images: {a: 1}}\n');
    const im = [imageMap('app', { selector: 'app' }, 'app:t')];
    assert.throws(() => injectIntoKubernetesObjects(crd, im, [{ objectSelector: {}, path: '{.spec.image}' }]), {
      name: 'InjectError',
      message: 'Matching (json_path="{.spec.image}"): image is not found',
    });
    assert.throws(() => injectIntoKubernetesObjects(crd, im, [{ objectSelector: {}, path: '{.spec.images}' }]), /^InjectError: May only match strings \(json_path="\{\.spec\.images\}"\)/);
    assert.throws(() => injectIntoKubernetesObjects(crd, im, [{ objectSelector: {}, path: '{.spec.images.a}', object: { repoField: 'r', tagField: 't' } }]), /May only match maps/);
    assert.throws(() => injectIntoKubernetesObjects(crd, im, [{ objectSelector: { kindRegexp: '(' }, path: '{.spec.image}' }]), /error parsing kind regexp/);
  });

  it('overrides command and args of the injected containers through an exact selector', () => {
    const d = deployment([
      { name: 'a', image: 'app:dev', command: ['old'], args: ['old'] },
      { name: 'b', image: 'app:other' },
      { name: 'c', image: 'busybox', command: ['keep'] },
    ]);
    const im = imageMap('app', { selector: 'app:dev', matchExact: true, overrideCommand: { command: ['/bin/run', 'x'] }, overrideArgs: { args: ['--dev'] } }, 'app:t');
    const r = injectIntoKubernetesObjects([d], [im]);
    assert.deepEqual(podSpec(r.objects[0]).containers, [
      { name: 'a', image: 'app:t', imagePullPolicy: 'IfNotPresent', command: ['/bin/run', 'x'], args: ['--dev'] },
      { name: 'b', image: 'app:other', imagePullPolicy: 'IfNotPresent' },
      { name: 'c', image: 'busybox', imagePullPolicy: 'IfNotPresent', command: ['keep'] },
    ]);
    const argsOnly = imageMap('app', { selector: 'app', overrideArgs: { args: ['serve'] } }, 'app:t');
    const r2 = injectIntoKubernetesObjects([deployment([{ name: 'a', image: 'app', command: ['sh'], args: ['x'] }])], [argsOnly]);
    assert.deepEqual(podSpec(r2.objects[0]).containers[0], { name: 'a', image: 'app:t', imagePullPolicy: 'IfNotPresent', command: ['sh'], args: ['serve'] });
  });

  it('fails a command override when the image was only found by a locator', () => {
    const crd = objects('apiVersion: x/v1\nkind: Thing\nmetadata: {name: thing}\nspec: {image: app}\n');
    const im = imageMap('app', { selector: 'app', overrideCommand: { command: ['run', 'it'] } }, 'app:t');
    assert.throws(() => injectIntoKubernetesObjects(crd, [im], [{ objectSelector: {}, path: '{.spec.image}' }]), {
      name: 'InjectError',
      message:
        'could not inject command [run it] into entity: thing. No container found matching ref: app:t. ' +
        'Note: command overrides only supported on containers with images, not on CRDs',
    });
  });

  it('needs an image in the status of every ImageMap', () => {
    assert.throws(() => injectIntoKubernetesObjects([deployment([{ name: 'a', image: 'app' }])], [imageMap('app', { selector: 'app' })]), {
      name: 'InjectError',
      message: 'internal error: missing image status',
    });
  });

  it('names the first ImageMap the YAML does not use', () => {
    const a = imageMap('a', { selector: 'a' }, 'a:t');
    const b = imageMap('b', { selector: 'b' }, 'b:t');
    assert.throws(() => injectIntoKubernetesObjects([deployment([{ name: 'a', image: 'a' }])], [a, b]), { name: 'InjectError', message: 'Docker image missing from yaml: b' });
  });

  it('refuses an unparseable container image', () => {
    assert.throws(() => injectIntoKubernetesObjects([deployment([{ name: 'a', image: 'Bad Image' }])], [imageMap('app', { selector: 'app' }, 'app:t')]), InjectError);
  });

  it('labels pod templates with a hash of their content, after injection', () => {
    const im = (tag: string) => [imageMap('app', { selector: 'app' }, `app:${tag}`)];
    const hash = (r: { objects: KubeManifest[] }) => (r.objects[0] as Json).spec.template.metadata.labels[podTemplateHashLabel];
    const d = deployment([{ name: 'a', image: 'app' }]);
    const one = hash(injectIntoKubernetesObjects([d], im('1')));
    assert.match(one, /^[0-9a-f]{20}$/);
    assert.equal(hash(injectIntoKubernetesObjects([d], im('1'))), one, 'the same input gives the same hash');
    assert.notEqual(hash(injectIntoKubernetesObjects([d], im('2'))), one, 'a new image gives a new hash');
    const reordered = deployment([{ image: 'app', name: 'a' }]);
    assert.equal(hash(injectIntoKubernetesObjects([reordered], im('1'))), one, 'key order does not count');
  });
});
