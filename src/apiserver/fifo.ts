/**
 * Fifo is a first-in first-out queue over an array: taking from the front only clears a slot,
 * and the array is compacted once the cleared part outweighs the rest, so both ends cost O(1)
 * amortised (Array.prototype.shift moves every element).
 */
export class Fifo<T> {
  private items: Array<T | undefined> = [];
  private start = 0;

  /** length is how many items the queue holds. */
  get length(): number {
    return this.items.length - this.start;
  }

  push(item: T): void {
    this.items.push(item);
  }

  /** at is the i-th item from the front (0 the oldest). */
  at(i: number): T {
    return this.items[this.start + i]!;
  }

  /** shift takes the oldest item; the queue must not be empty. */
  shift(): T {
    const item = this.items[this.start]!;
    this.items[this.start++] = undefined;
    if (this.start === this.items.length) this.clear();
    else if (this.start > 1024 && this.start * 2 > this.items.length) {
      this.items = this.items.slice(this.start);
      this.start = 0;
    }
    return item;
  }

  clear(): void {
    this.items = [];
    this.start = 0;
  }
}
