/**
 * Tilt's trigger queue: the ConfigMap `tilt-trigger-queue` whose entries `<i>-name: <resource>`
 * and `<i>-reason-code: <int>` ask for a resource to be built again. An entry stays until the
 * build it asks for starts; adding a resource that is already queued changes nothing.
 */
import type { ConfigMap } from '../apis/index.ts';
import { apiVersion, triggerQueueName } from '../apis/names.ts';
import type { Client } from '../runtime/index.ts';

/** reasonCodeTriggerCli is Tilt's build reason for a trigger from the command line. */
export const reasonCodeTriggerCli = 32;

const maxConflictRetries = 10;

/** triggerQueueResources lists the resources a trigger-queue ConfigMap names. */
export function triggerQueueResources(cm: ConfigMap | undefined): Set<string> {
  const out = new Set<string>();
  for (const [k, v] of Object.entries(cm?.data ?? {})) if (k.endsWith('-name')) out.add(v);
  return out;
}

/**
 * addToTriggerQueue queues resource (creating the ConfigMap when needed) and says whether it
 * was added (false: it was already queued).
 */
export async function addToTriggerQueue(client: Client, resource: string, reasonCode = reasonCodeTriggerCli): Promise<boolean> {
  for (let attempt = 0; ; attempt++) {
    const cm = await client.get<ConfigMap>('ConfigMap', triggerQueueName);
    try {
      if (!cm) {
        await client.create<ConfigMap>({
          apiVersion,
          kind: 'ConfigMap',
          metadata: { name: triggerQueueName },
          data: { '0-name': resource, '0-reason-code': String(reasonCode) },
        });
        return true;
      }
      if (triggerQueueResources(cm).has(resource)) return false;
      const data = { ...(cm.data ?? {}) };
      let next = 0;
      for (const k of Object.keys(data)) {
        const m = /^(\d+)-name$/.exec(k);
        if (m) next = Math.max(next, Number(m[1]) + 1);
      }
      data[`${next}-name`] = resource;
      data[`${next}-reason-code`] = String(reasonCode);
      await client.update<ConfigMap>({ ...cm, data });
      return true;
    } catch (err) {
      // 409: Conflict (a stale resourceVersion) or AlreadyExists (created meanwhile). Read again.
      if ((err as { code?: unknown }).code === 409 && attempt < maxConflictRetries) continue;
      throw err;
    }
  }
}

/** removeFromTriggerQueue takes every entry naming resource out of the queue. */
export async function removeFromTriggerQueue(client: Client, resource: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const cm = await client.get<ConfigMap>('ConfigMap', triggerQueueName);
    if (!cm || !triggerQueueResources(cm).has(resource)) return;
    const data = { ...(cm.data ?? {}) };
    for (const [k, v] of Object.entries(cm.data ?? {})) {
      if (k.endsWith('-name') && v === resource) {
        delete data[k];
        delete data[`${k.slice(0, -'-name'.length)}-reason-code`];
      }
    }
    try {
      await client.update<ConfigMap>({ ...cm, data });
      return;
    } catch (err) {
      if ((err as { code?: unknown }).code === 409 && attempt < maxConflictRetries) continue;
      throw err;
    }
  }
}
