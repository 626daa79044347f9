/**
 * `ferry trigger RESOURCE`: asks for a resource to be built again, through Tilt's trigger queue
 * (the ConfigMap `tilt-trigger-queue`), as `tilt trigger` does.
 */
import type { Client } from '../client/client.ts';
import { resourceName } from '../apis/names.ts';
import { addToTriggerQueue, reasonCodeTriggerCli } from '../tilt/trigger-queue.ts';
import { CliError } from './context.ts';
import { unknownResourceMessage } from './resources.ts';

/** triggerableKinds are the kinds whose objects act on the trigger queue: a resource is one of their objects' resources. */
export const triggerableKinds = ['CmdImage', 'Cmd', 'KubernetesApply', 'DockerComposeService', 'LiveUpdate'] as const;

/** TriggerResult says what triggerResource did. */
export interface TriggerResult {
  resource: string;
  /** queued is false when the resource was already waiting in the queue. */
  queued: boolean;
}

/** knownResources lists the resources (sorted) that objects of the triggerable kinds belong to. */
export async function knownResources(client: Client): Promise<string[]> {
  const lists = await Promise.all(triggerableKinds.map((kind) => client.list(kind)));
  return [...new Set(lists.flatMap((l) => l.items.map(resourceName)))].filter(Boolean).sort();
}

/**
 * triggerResource queues `resource` (an object's `tilt.dev/resource` annotation, or the name
 * of an object without one) for a rebuild. Queuing a resource that is already queued changes
 * nothing: the pending trigger covers it.
 */
export async function triggerResource(client: Client, resource: string): Promise<TriggerResult> {
  if (!resource) throw new Error('a resource name is required');
  const queued = await addToTriggerQueue(client, resource, reasonCodeTriggerCli);
  return { resource, queued };
}

/**
 * triggerKnownResource is `ferry trigger`: triggerResource for a resource some object belongs
 * to; any other name is refused with a CliError that lists the known resources.
 */
export async function triggerKnownResource(client: Client, resource: string): Promise<TriggerResult> {
  if (!resource) throw new CliError('error: a resource name is required');
  const known = await knownResources(client);
  if (!known.includes(resource)) {
    throw new CliError(unknownResourceMessage([resource], known));
  }
  return triggerResource(client, resource);
}
