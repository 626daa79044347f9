import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { DockerComposeService } from '../../../src/apis/dockercomposeservice.ts';
import { FakeClock, settle, type Cache } from '../../../src/runtime/index.ts';
import type { ContainerDetails, ContainerSummary, DockerClient, NetworkSummary, DockerEvent, DockerEventsOptions } from '../../../src/adapters/docker/index.ts';
import { DockerEventSource } from '../../../controllers/dockercomposeservice/events.ts';
import { silentLogger } from '../../../src/log.ts';
import { Wake } from '../../../src/runtime/index.ts';

/** FakeDockerClient hands out event streams the test feeds or breaks, and records how often one was opened. */
class FakeDockerClient implements DockerClient {
  opened = 0;
  private push?: (ev: DockerEvent | Error) => void;

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
  async *events(opts: DockerEventsOptions = {}): AsyncIterable<DockerEvent> {
    this.opened++;
    const queue: Array<DockerEvent | Error> = [];
    let wake: (() => void) | undefined;
    this.push = (ev) => {
      queue.push(ev);
      wake?.();
    };
    const aborted = new Promise<void>((resolve) => opts.signal?.addEventListener('abort', () => resolve(), { once: true }));
    for (;;) {
      while (queue.length > 0) {
        const ev = queue.shift()!;
        if (ev instanceof Error) throw ev;
        yield ev;
      }
      if (opts.signal?.aborted) return;
      await Promise.race([new Promise<void>((r) => (wake = r)), aborted]);
    }
  }
  emit(ev: DockerEvent | Error): void {
    this.push?.(ev);
  }
}

function dcs(name: string, service: string, project: string): DockerComposeService {
  return { metadata: { name }, spec: { service, project: { name: project, configPaths: ['x.yml'] } } };
}

function event(action: string, project: string, service: string): DockerEvent {
  return { type: 'container', action, id: 'c1', attributes: { 'com.docker.compose.project': project, 'com.docker.compose.service': service }, timeNano: 0n };
}

describe('DockerEventSource', () => {
  test('container events wake the service they belong to; exec events and other projects do not', async () => {
    const objs = [dcs('web', 'web', 'shop'), dcs('db', 'db', 'shop'), dcs('other-web', 'web', 'blog')];
    const cache = { list: () => objs } as unknown as Cache;
    const docker = new FakeDockerClient();
    const clock = new FakeClock();
    const woken: string[] = [];
    const src = new DockerEventSource({ docker, cache, clock, log: silentLogger(), wake: wakeInto(woken) });
    src.start();
    await settle();
    docker.emit(event('die', 'shop', 'web'));
    docker.emit(event('exec_start: sh', 'shop', 'web'));
    docker.emit(event('start', 'blog', 'web'));
    docker.emit(event('destroy', 'unknown', 'web'));
    await settle();
    assert.deepEqual(woken, ['web', 'other-web']);
    await src.stop();
  });

  test('a broken stream is reopened after a pause, and then every service is looked at again', async () => {
    const objs = [dcs('web', 'web', 'shop'), dcs('db', 'db', 'shop')];
    const cache = { list: () => objs } as unknown as Cache;
    const docker = new FakeDockerClient();
    const clock = new FakeClock();
    const woken: string[] = [];
    const src = new DockerEventSource({ docker, cache, clock, log: silentLogger(), wake: wakeInto(woken), retryMs: 100 });
    src.start();
    await settle();
    assert.equal(docker.opened, 1);
    docker.emit(new Error('connection reset'));
    await settle();
    assert.equal(docker.opened, 1, 'not reopened before the pause');
    await clock.advance(100);
    assert.equal(docker.opened, 2);
    assert.deepEqual(woken.sort(), ['db', 'web']);
    await src.stop();
  });
});

/** wakeInto is a Wake that records the names it is asked to reconcile. */
function wakeInto(woken: string[]): Wake {
  const wake = new Wake();
  wake.bind((n) => woken.push(n));
  return wake;
}
