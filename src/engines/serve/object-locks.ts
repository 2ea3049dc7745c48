/**
 * One piece of work per object at a time inside this process: a webhook's read-back and the
 * polling backstop of the same object queue behind each other instead of meeting at the
 * lease (which would refuse the second). Objects of their own run side by side.
 */
export class ObjectLocks {
  private readonly tails = new Map<string, Promise<unknown>>();

  /** Runs `work` once every earlier piece of work for `object` has ended. */
  async run<T>(object: string, work: () => Promise<T>): Promise<T> {
    const before = this.tails.get(object) ?? Promise.resolve();
    const result = before.then(work, work);
    const tail = result.then(
      () => undefined,
      () => undefined,
    );
    this.tails.set(object, tail);
    try {
      return await result;
    } finally {
      if (this.tails.get(object) === tail) this.tails.delete(object);
    }
  }

  /** Resolves when no work is queued or under way. */
  async idle(): Promise<void> {
    while (this.tails.size > 0) await Promise.all(this.tails.values());
  }
}
