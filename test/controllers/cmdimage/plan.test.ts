import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Cluster } from '../../../src/apis/cluster.ts';
import type { CmdImageSpec } from '../../../src/apis/cmdimage.ts';
import { planBuild, registryFromCluster, type PlanInput } from '../../../controllers/cmdimage/index.ts';

const now = new Date('2024-01-01T00:00:10Z'); // unix 1704067210
const secs = 1704067210;

function input(spec: Partial<CmdImageSpec>, more: Partial<PlanInput> = {}): PlanInput {
  return {
    spec: { ref: 'foo', args: ['sh', '-c', 'build.sh'], ...spec },
    dependencies: [],
    now,
    baseEnv: { PATH: '/bin', HOME: '/root', EXPECTED_REF: 'from-daemon' },
    cwd: '/work',
    ...more,
  };
}

function cluster(c: Partial<Cluster> = {}): Cluster {
  return { kind: 'Cluster', metadata: { name: 'default' }, spec: {}, ...c };
}

describe('registryFromCluster', () => {
  it('prefers status.registry, then spec.defaultRegistry', () => {
    assert.deepEqual(registryFromCluster(undefined), {});
    assert.deepEqual(registryFromCluster(cluster()), {});
    assert.deepEqual(registryFromCluster(cluster({ spec: { defaultRegistry: { host: 'd:1' } } })), { registry: { host: 'd:1' } });
    assert.deepEqual(
      registryFromCluster(cluster({ spec: { defaultRegistry: { host: 'd:1' } }, status: { registry: { host: 's:1', hostFromContainerRuntime: 'r:1', singleName: 'one' } } })),
      { registry: { host: 's:1', hostFromContainerRuntime: 'r:1', singleName: 'one' } },
    );
  });
  it('says cluster not ready on a Cluster error', () => {
    assert.deepEqual(registryFromCluster(cluster({ status: { error: 'boom', registry: { host: 's:1' } } })), { error: 'cluster not ready: boom' });
  });
});

describe('planBuild', () => {
  it('sets EXPECTED_* with the tilt-build tag, over the daemon env and spec.env', () => {
    const p = planBuild(input({ env: ['A=1', 'EXPECTED_TAG=user'] }));
    assert.deepEqual(p.argv, ['sh', '-c', 'build.sh']);
    assert.equal(p.dir, '/work');
    assert.equal(p.env.PATH, '/bin');
    assert.equal(p.env.A, '1');
    assert.equal(p.env.EXPECTED_REF, `foo:tilt-build-${secs}`);
    assert.equal(p.env.EXPECTED_IMAGE, 'library/foo');
    assert.equal(p.env.EXPECTED_TAG, `tilt-build-${secs}`);
    assert.equal(p.env.REGISTRY_HOST, undefined);
    assert.equal(p.env.EXPECTED_REGISTRY, undefined);
    assert.deepEqual(p.injectedEnv, [`EXPECTED_REF=foo:tilt-build-${secs}`, 'EXPECTED_IMAGE=library/foo', `EXPECTED_TAG=tilt-build-${secs}`]);
    assert.equal(p.expected?.local.familiarString(), `foo:tilt-build-${secs}`);
    assert.equal(p.push, false);
    assert.equal(p.skipPushMessage, 'Skipping push: the cluster has no registry');
  });

  it('EXPECTED_IMAGE is the path without domain', () => {
    assert.equal(planBuild(input({ ref: 'gcr.io/foo/bar' })).env.EXPECTED_IMAGE, 'foo/bar');
    const reg = { host: 'localhost:1234' };
    const p = planBuild(input({ ref: 'foo-bar' }, { registry: reg, cluster: cluster() }));
    assert.equal(p.env.EXPECTED_IMAGE, 'foo-bar');
    assert.equal(p.env.EXPECTED_REF, `localhost:1234/foo-bar:tilt-build-${secs}`);
  });

  it('rewrites the ref for the registry and sets REGISTRY_HOST and EXPECTED_REGISTRY', () => {
    const p = planBuild(input({ ref: 'gcr.io/foo/bar' }, { registry: { host: 'localhost:1234', hostFromContainerRuntime: 'registry:5000' } }));
    assert.equal(p.env.EXPECTED_REF, `localhost:1234/gcr.io_foo_bar:tilt-build-${secs}`);
    assert.equal(p.env.EXPECTED_IMAGE, 'gcr.io_foo_bar');
    assert.equal(p.env.REGISTRY_HOST, 'localhost:1234');
    assert.equal(p.env.EXPECTED_REGISTRY, 'localhost:1234');
    assert.equal(p.expected?.cluster.familiarString(), `registry:5000/gcr.io_foo_bar:tilt-build-${secs}`);
    assert.equal(p.push, true);
  });

  it('with outputTag expects the name without registry, still pushing to the registry', () => {
    const p = planBuild(input({ outputTag: 'dev' }, { registry: { host: 'localhost:1234' } }));
    assert.equal(p.env.EXPECTED_REF, 'foo:dev');
    assert.equal(p.env.EXPECTED_TAG, 'dev');
    assert.equal(p.env.REGISTRY_HOST, 'localhost:1234');
    assert.equal(p.refs.localRef.familiarString(), 'localhost:1234/foo');
    assert.equal(p.push, true);
  });

  it('remote with outputTag strips the registry; REGISTRY_HOST still comes from the original refs', () => {
    const p = planBuild(input({ outputTag: 'dev', outputMode: 'remote' }, { registry: { host: 'localhost:1234' } }));
    assert.equal(p.refs.hasRegistry, false);
    assert.equal(p.expected?.local.familiarString(), 'foo:dev');
    assert.equal(p.remote, true);
    assert.equal(p.env.REGISTRY_HOST, 'localhost:1234');
    assert.equal(p.push, false);
    assert.equal(p.skipPushMessage, 'Skipping push: custom_build() configured to handle push itself');
  });

  it('with outputsImageRefTo sets no EXPECTED_* and resolves the file against dir', () => {
    const p = planBuild(input({ outputsImageRefTo: 'out/ref.txt', dir: 'app' }));
    assert.equal(p.dir, '/work/app');
    assert.equal(p.outputsImageRefTo, '/work/app/out/ref.txt');
    assert.equal(p.expected, undefined);
    assert.equal(p.env.EXPECTED_REF, 'from-daemon', 'the daemon value is left alone');
    assert.equal(p.env.EXPECTED_TAG, undefined);
  });

  it('adds TILT_IMAGE_MAP_i and TILT_IMAGE_i for dependencies', () => {
    const p = planBuild(input({ imageMaps: ['base', 'tools'] }, {
      dependencies: [{ name: 'base', imageFromLocal: 'base:tilt-1' }, { name: 'tools', imageFromLocal: 'localhost:5000/tools:tilt-2' }],
    }));
    assert.equal(p.env.TILT_IMAGE_MAP_0, 'base');
    assert.equal(p.env.TILT_IMAGE_0, 'base:tilt-1');
    assert.equal(p.env.TILT_IMAGE_MAP_1, 'tools');
    assert.equal(p.env.TILT_IMAGE_1, 'localhost:5000/tools:tilt-2');
  });

  it('pushes for clusterNeeds push or empty, not base-image or when the command pushes', () => {
    const reg = { registry: { host: 'localhost:1234' } };
    assert.equal(planBuild(input({ clusterNeeds: 'push' }, reg)).push, true);
    assert.equal(planBuild(input({ clusterNeeds: '' }, reg)).push, true);
    const base = planBuild(input({ clusterNeeds: 'base-image' }, reg));
    assert.equal(base.push, false);
    assert.equal(base.skipPushMessage, 'Skipping push: base image does not need deploy');
    assert.equal(planBuild(input({ outputMode: 'local-docker-and-remote' }, reg)).skipPushMessage, 'Skipping push: custom_build() configured to handle push itself');
  });

  it('for Docker Compose strips the registry and never pushes', () => {
    const p = planBuild(input({}, { registry: { host: 'localhost:1234' }, cluster: cluster({ metadata: { name: 'docker' }, spec: { connection: { docker: {} } } }) }));
    assert.equal(p.compose, true);
    assert.equal(p.expected?.local.familiarString(), `foo:tilt-build-${secs}`);
    assert.equal(p.push, false);
    assert.equal(p.skipPushMessage, undefined);
  });

  it('rejects a ref that is not a reference', () => {
    assert.throws(() => planBuild(input({ ref: 'Not Valid' })), { name: 'RefError' });
  });
});
