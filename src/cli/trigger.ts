/**
 * `ferry trigger RESOURCE`: asks for a resource to be built again, through Tilt's trigger queue
 * (the ConfigMap `tilt-trigger-queue`), as `tilt trigger` does.
 */
import type { Client } from '../client/client.ts';
import { addToTriggerQueue, reasonCodeTriggerCli } from '../tilt/index.ts';

/** TriggerResult says what triggerResource did. */
export interface TriggerResult {
  resource: string;
  /** queued is false when the resource was already waiting in the queue. */
  queued: boolean;
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
