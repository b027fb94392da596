/**
 * A first-in first-out queue whose `shift` takes constant time however long the queue gets.
 *
 * Why not an array's own `shift()`: V8 moves every element left on each `shift()` of a long array
 * (its backing store in large-object space cannot be trimmed in place), so draining a flood of
 * 100 000 held events took time quadratic in the flood: ten seconds. This one reads from a head
 * index and drops the read part once it is most of the array.
 */
export class Queue<T> {
  #items: Array<T | undefined> = [];
  #head = 0;

  /** How many items wait. */
  get length(): number {
    return this.#items.length - this.#head;
  }

  /** The first item, without taking it (`undefined` when empty). */
  peek(): T | undefined {
    return this.#items[this.#head];
  }

  /** Adds `item` at the end. */
  push(item: T): void {
    this.#items.push(item);
  }

  /** Takes the first item (`undefined` when empty). */
  shift(): T | undefined {
    if (this.#head === this.#items.length) return undefined;
    const item = this.#items[this.#head];
    this.#items[this.#head++] = undefined; // let it be collected
    if (this.#head === this.#items.length) {
      this.#items = [];
      this.#head = 0;
    } else if (this.#head >= 1024 && this.#head * 2 >= this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return item;
  }

  /** Drops every item. */
  clear(): void {
    this.#items = [];
    this.#head = 0;
  }
}
