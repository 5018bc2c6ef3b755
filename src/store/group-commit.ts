/**
 * Group commit: writes requested in the same turn of the event loop go to the database as one
 * batch, and every requester is answered when that batch is written. Under load (many API
 * requests at once) this turns hundreds of small LevelDB writes into a few.
 */
export class GroupCommit<Op> {
  private queued: Op[] = [];
  private flush?: Promise<void>;

  constructor(private readonly write: (ops: Op[]) => Promise<void>) {}

  add(ops: readonly Op[]): Promise<void> {
    if (ops.length === 0) return Promise.resolve();
    this.queued.push(...ops);
    this.flush ??= new Promise<void>((resolve, reject) => {
      setImmediate(() => {
        const batch = this.queued;
        this.queued = [];
        this.flush = undefined;
        this.write(batch).then(resolve, reject);
      });
    });
    return this.flush;
  }
}
