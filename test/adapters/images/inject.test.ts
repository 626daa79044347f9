import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  InjectError,
  injectImageMaps,
  injectIntoComposeServices,
  type InjectImageMap,
} from '../../../src/adapters/images/index.ts';

function imageMap(name: string, spec: Partial<InjectImageMap['spec']> & { selector: string }, image?: string): InjectImageMap {
  return {
    metadata: { name },
    spec: spec as InjectImageMap['spec'],
    status: image ? { image, imageFromCluster: image, imageFromLocal: image } : {},
  };
}

describe('injectImageMaps', () => {
  it('replaces matching container images with the familiar cluster ref', () => {
    const im = imageMap('app', { selector: 'app' }, 'docker.io/library/app:tilt-0123456789abcdef');
    const entities = [{ name: 'web', containers: [{ image: 'app:dev' }, { image: 'other' }] }];
    const r = injectImageMaps(entities, [im]);
    assert.equal(r.entities[0]!.containers[0]!.image, 'app:tilt-0123456789abcdef');
    assert.equal(r.entities[0]!.containers[1]!.image, 'other');
    assert.deepEqual(r.injected, ['app']);
    assert.equal(entities[0]!.containers[0]!.image, 'app:dev', 'the input is not changed');
  });

  it('prefers imageFromCluster over image', () => {
    const im: InjectImageMap = {
      metadata: { name: 'app' },
      spec: { selector: 'app' },
      status: { image: 'localhost:5000/app:t', imageFromLocal: 'localhost:5000/app:t', imageFromCluster: 'registry:5000/app:t' },
    };
    const r = injectImageMaps([{ name: 'w', containers: [{ image: 'app' }] }], [im]);
    assert.equal(r.entities[0]!.containers[0]!.image, 'registry:5000/app:t');
  });

  it('honours matchExact', () => {
    const im = imageMap('app', { selector: 'app:1', matchExact: true }, 'app:tilt-1');
    const r = injectImageMaps([{ name: 'w', containers: [{ image: 'app:1' }, { image: 'app:2' }] }], [im]);
    assert.deepEqual(r.entities[0]!.containers.map((c) => c.image), ['app:tilt-1', 'app:2']);
  });

  it('replaces env var values only with matchInEnvVars, skipping unparseable values and valueFrom', () => {
    const containers = [{
      image: 'other',
      env: [
        { name: 'IMG', value: 'app:dev' },
        { name: 'TEXT', value: 'Not An Image' },
        { name: 'FROM', valueFrom: { secretKeyRef: {} } },
        { name: 'NOTAPP', value: 'notapp' },
      ],
    }];
    assert.throws(
      () => injectImageMaps([{ name: 'w', containers }], [imageMap('app', { selector: 'app' }, 'app:t')]),
      { message: 'Docker image missing from yaml: app' },
    );
    const r = injectImageMaps([{ name: 'w', containers }], [imageMap('app', { selector: 'app', matchInEnvVars: true }, 'app:t')]);
    assert.deepEqual(r.entities[0]!.containers[0]!.env, [
      { name: 'IMG', value: 'app:t' },
      { name: 'TEXT', value: 'Not An Image' },
      { name: 'FROM', valueFrom: { secretKeyRef: {} } },
      { name: 'NOTAPP', value: 'notapp' },
    ]);
    assert.equal(r.entities[0]!.containers[0]!.image, 'other');
  });

  it('overrides command and args on the injected containers only', () => {
    const im = imageMap('app', { selector: 'app', overrideCommand: { command: ['/bin/run'] }, overrideArgs: { args: ['--dev'] } }, 'app:t');
    const r = injectImageMaps([{ name: 'w', containers: [{ image: 'app', command: ['x'], args: ['y'] }, { image: 'other', command: ['keep'] }] }], [im]);
    assert.deepEqual(r.entities[0]!.containers[0], { image: 'app:t', command: ['/bin/run'], args: ['--dev'] });
    assert.deepEqual(r.entities[0]!.containers[1], { image: 'other', command: ['keep'] });
  });

  it('sets only the overridden field', () => {
    const im = imageMap('app', { selector: 'app', overrideArgs: { args: ['a'] } }, 'app:t');
    const r = injectImageMaps([{ name: 'w', containers: [{ image: 'app', command: ['c'], args: ['old'] }] }], [im]);
    assert.deepEqual(r.entities[0]!.containers[0], { image: 'app:t', command: ['c'], args: ['a'] });
  });

  it('fails a command override when only an env var matched', () => {
    const im = imageMap('app', { selector: 'app', matchInEnvVars: true, overrideCommand: { command: ['run', 'it'] } }, 'app:t');
    assert.throws(
      () => injectImageMaps([{ name: 'web', containers: [{ image: 'other', env: [{ name: 'I', value: 'app' }] }] }], [im]),
      {
        name: 'InjectError',
        message:
          'could not inject command [run it] into entity: web. No container found matching ref: app:t. ' +
          'Note: command overrides only supported on containers with images, not on CRDs',
      },
    );
  });

  it('needs an image in the ImageMap status', () => {
    assert.throws(() => injectImageMaps([{ name: 'w', containers: [{ image: 'app' }] }], [imageMap('app', { selector: 'app' })]), {
      message: 'internal error: missing image status',
    });
  });

  it('rejects an unparseable container image', () => {
    assert.throws(() => injectImageMaps([{ name: 'w', containers: [{ image: 'Bad Image' }] }], [imageMap('app', { selector: 'app' }, 'app:t')]), InjectError);
  });

  it('reports the first ImageMap that was never injected', () => {
    const a = imageMap('a', { selector: 'a' }, 'a:t');
    const b = imageMap('b', { selector: 'b' }, 'b:t');
    assert.throws(() => injectImageMaps([{ name: 'w', containers: [{ image: 'a' }] }], [a, b]), { message: 'Docker image missing from yaml: b' });
  });
});

describe('injectIntoComposeServices', () => {
  it('maps image, environment, entrypoint and command', () => {
    const im = imageMap('app', { selector: 'app', matchInEnvVars: true, overrideCommand: { command: ['/entry'] }, overrideArgs: { args: ['serve'] } }, 'app:t');
    const services = {
      web: { image: 'app:dev', environment: { IMG: 'app', N: 3, EMPTY: null }, ports: ['80'] },
      side: { image: 'busybox', environment: ['A=other:1', 'B'] },
    };
    const r = injectIntoComposeServices(services, [im]);
    assert.deepEqual(r.services.web, { image: 'app:t', environment: { IMG: 'app:t', N: 3, EMPTY: null }, ports: ['80'], entrypoint: ['/entry'], command: ['serve'] });
    assert.deepEqual(r.services.side, { image: 'busybox', environment: ['A=other:1', 'B'] });
    assert.equal(services.web.image, 'app:dev');
  });

  it('replaces list-form environment values', () => {
    const im = imageMap('app', { selector: 'app', matchInEnvVars: true }, 'app:t');
    const r = injectIntoComposeServices({ side: { image: 'busybox', environment: ['A=app:1', 'B'] } }, [im]);
    assert.deepEqual(r.services.side, { image: 'busybox', environment: ['A=app:t', 'B'] });
  });
});
