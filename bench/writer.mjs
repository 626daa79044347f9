// The bench's file writer: a separate process, as an editor or git is, so that its writes do not
// share a thread pool and an event loop with the daemon being measured. It receives
// { id, dir, names, bytes } and answers { id } once every file is written.
import { promises as fsp } from 'node:fs';
import path from 'node:path';

process.on('message', async ({ id, dir, names, bytes }) => {
  const content = Buffer.alloc(bytes, 'x');
  for (let k = 0; k < names.length; k += 256) {
    await Promise.all(names.slice(k, k + 256).map((n) => fsp.writeFile(path.join(dir, n), content)));
  }
  process.send({ id });
});
