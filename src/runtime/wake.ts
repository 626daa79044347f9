/**
 * Wake is how background work (a file watcher, a process that exits, an event stream) asks for
 * a reconcile, as controller-runtime's channel source does. It is made before the controller,
 * handed to whoever needs it, and bound to the controller by the builder's `wakes(wake)`; keys
 * asked for before that are delivered then.
 *
 *     const wake = new Wake();
 *     const reconciler = new CmdReconciler({ ..., wake });       // calls wake.enqueue(name)
 *     mgr.controller('cmd').for('Cmd').wakes(wake).complete(reconciler);
 */
export class Wake {
  private target?: (name: string) => void;
  private readonly early = new Set<string>();

  /** enqueue asks for a reconcile of name (once per pending request, as the work queue dedupes). */
  enqueue(name: string): void {
    if (this.target) this.target(name);
    else this.early.add(name);
  }

  /** bind delivers every later request to fn, and the requests made so far. */
  bind(fn: (name: string) => void): void {
    if (this.target) throw new Error('Wake is already bound to a controller');
    this.target = fn;
    for (const name of this.early) fn(name);
    this.early.clear();
  }
}
