/**
 * The handlers alone, without HTTP: a ServerContext over a memory store and a captured
 * response are all a handler needs.
 */
import { Readable } from 'node:stream';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryStorage } from '../../src/apiserver/storage.ts';
import { ObjectStore } from '../../src/apiserver/store.ts';
import { Resources } from '../../src/apiserver/rest.ts';
import { collection, item, type ServerContext } from '../../src/apiserver/handlers.ts';
import { kindByPlural } from '../../src/apis/registry.ts';
import { silentLogger } from '../../src/log.ts';

function context(): ServerContext {
  const store = new ObjectStore({ storage: new MemoryStorage() });
  return { store, resources: new Resources({ store }), log: silentLogger(), watches: new Set(), maxBodyBytes: 1024 * 1024, maxWatches: 10, bookmarkIntervalMs: 60_000, version: 'test', ready: () => true, metrics: [] };
}

/** call runs one handler on a made-up request and returns what it answered. */
async function call(handler: (r: Parameters<typeof collection>[1]) => Promise<void>, method: string, target: string, body?: string) {
  const req = Object.assign(Readable.from(body === undefined ? [] : [Buffer.from(body)]), { method, headers: { 'content-type': 'application/json' } }) as unknown as IncomingMessage;
  const answer = { code: 0, headers: {} as Record<string, unknown>, text: '' };
  const res = {
    headersSent: false,
    writeHead(code: number, headers: Record<string, unknown>) {
      answer.code = code;
      answer.headers = headers;
    },
    end(text = '') {
      answer.text = String(text);
    },
  } as unknown as ServerResponse;
  await handler({ req, res, url: new URL(target, 'https://localhost'), pretty: false });
  return { ...answer, json: () => JSON.parse(answer.text) };
}

describe('handlers', () => {
  const def = kindByPlural('configmaps')!;

  it('create, list with a limit, and get, over a memory store', async () => {
    const ctx = context();
    for (const name of ['a', 'b', 'c']) {
      const created = await call((r) => collection(ctx, r, def), 'POST', '/apis/tilt.dev/v1alpha1/configmaps', JSON.stringify({ metadata: { name }, data: { k: name } }));
      assert.equal(created.code, 201);
    }
    const page = await call((r) => collection(ctx, r, def), 'GET', '/apis/tilt.dev/v1alpha1/configmaps?limit=2');
    assert.deepEqual(page.json().items.map((o: { metadata: { name: string } }) => o.metadata.name), ['a', 'b']);
    assert.equal(page.json().metadata.remainingItemCount, 1);
    const got = await call((r) => item(ctx, r, def, 'c', undefined), 'GET', '/apis/tilt.dev/v1alpha1/configmaps/c');
    assert.deepEqual(got.json().data, { k: 'c' });
    ctx.store.close();
  });
});
