import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import type { Cmd, Session } from '../../../src/apis/index.ts';
import * as cmd from '../../../controllers/cmd/index.ts';
import * as session from '../../../controllers/session/index.ts';
import { ControllerHarness } from '../../support/controllers.ts';
import { waitFor } from '../../support/wait.ts';

async function newFixture(t: TestContext) {
  const h = await ControllerHarness.start(t, {
    dirPrefix: 'ferry-session-cmd-',
    setup: (mgr, env) => {
      cmd.setup(mgr, { cwd: env.dir, stopGraceMs: 1_000 });
      session.setup(mgr, { cwd: env.dir });
    },
  });
  const client = h.client;
  const done = (name: string) =>
    waitFor(async () => {
      const s = await client.get<Session>('Session', name);
      return s?.status?.done ? s : undefined;
    }, { message: `session ${name} done`, timeoutMs: 20_000 });
  return { client, done };
}

const ci = (name: string): Session => ({ kind: 'Session', metadata: { name }, spec: { tiltfilePath: 'Tiltfile', exitCondition: 'ci' } });

test('a ci session over real Cmds: a server and a job succeed', async (t) => {
  const f = await newFixture(t);
  // As `ferry ci` does: the objects first, then the Session.
  await f.client.create<Cmd>({ kind: 'Cmd', metadata: { name: 'api', annotations: { 'ferry.dev/cmd-type': 'server' } }, spec: { args: ['sleep', '1000'] } });
  await f.client.create<Cmd>({ kind: 'Cmd', metadata: { name: 'migrate', annotations: { 'tilt.dev/resource': 'api' } }, spec: { args: ['true'] } });
  await f.client.create(ci('ci'));
  const s = await f.done('ci');
  assert.equal(s.status!.error, undefined);
  assert.deepEqual(s.status!.targets.map((t) => [t.name, t.type, Object.keys(t.state)[0]]), [
    ['api:serve', 'server', 'active'],
    ['api:update', 'job', 'terminated'],
  ]);
});

test('a ci session over real Cmds: a failing job fails the run with its exit status', async (t) => {
  const f = await newFixture(t);
  await f.client.create<Cmd>({ kind: 'Cmd', metadata: { name: 'test' }, spec: { args: ['sh', '-c', 'exit 3'] } });
  await f.client.create(ci('ci'));
  const s = await f.done('ci');
  assert.equal(s.status!.error, 'exit status 3');
});
