/**
 * The dashboard's buttons, written through the API like any client:
 * - trigger: the `tilt-trigger-queue` ConfigMap, as `ferry trigger` (src/tilt/trigger-queue.ts);
 * - disable and enable: the resource's `<resource>-disable` ConfigMap (key `isDisabled`), as
 *   Tilt's Tiltfile makes them. Objects of the resource that can be disabled and have no
 *   `disableSource` yet are pointed at it (Tilt's Tiltfile sets it on every object of a
 *   resource), so that disabling stops them; an object with its own disableSource keeps it.
 */
import { apiVersion, type ConfigMap, type KubeObject } from '../apis/index.ts';
import { isAlreadyExists, isConflict, type Client } from '../runtime/index.ts';
import { addToTriggerQueue } from '../tilt/trigger-queue.ts';
import { disableConfigMapName, disableableKinds, imageMapOf } from './model.ts';

/** trigger queues resource for a build; false when it was queued already. */
export function trigger(client: Client, resource: string): Promise<boolean> {
  return addToTriggerQueue(client, resource);
}

/** setDisabled disables or enables every object of a resource (objects: the resource's objects). */
export async function setDisabled(client: Client, resource: string, objects: KubeObject[], disabled: boolean): Promise<void> {
  const name = disableConfigMapName(resource);
  const value = disabled ? 'true' : 'false';
  for (let attempt = 0; ; attempt++) {
    const cm = await client.get<ConfigMap>('ConfigMap', name);
    try {
      if (!cm) await client.create<ConfigMap>({ apiVersion, kind: 'ConfigMap', metadata: { name }, data: { isDisabled: value } });
      else if (cm.data?.isDisabled !== value) await client.update<ConfigMap>({ ...cm, data: { ...(cm.data ?? {}), isDisabled: value } });
      break;
    } catch (err) {
      if ((isConflict(err) || isAlreadyExists(err)) && attempt < 10) continue;
      throw err;
    }
  }
  if (!disabled) return;
  const source = { configMap: { name, key: 'isDisabled' } };
  const targets = new Map<string, { kind: string; name: string }>();
  for (const o of objects) {
    const kind = o.kind ?? '';
    if (disableableKinds.has(kind) && !(o.spec as { disableSource?: unknown } | undefined)?.disableSource) targets.set(`${kind}/${o.metadata.name}`, { kind, name: o.metadata.name! });
    // A build waits while the ImageMap it fills is disabled.
    if (kind === 'CmdImage') targets.set(`ImageMap/${imageMapOf(o)}`, { kind: 'ImageMap', name: imageMapOf(o) });
  }
  for (const t of targets.values()) {
    const obj = await client.get(t.kind, t.name);
    if (!obj || (obj.spec as { disableSource?: unknown } | undefined)?.disableSource) continue;
    await client.patch(t.kind, t.name, { spec: { disableSource: source } });
  }
}
