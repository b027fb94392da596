import { describe, expect, it } from "vitest";
import { Queue } from "../src/queue.js";

// The queue that holds events behind the bus's own: an array's shift() made draining a held flood
// quadratic (200 000 events: 19 s). Its speed is not timed here; what it must keep is the order,
// across the compactions that keep it linear.
describe("Queue", () => {
  it("gives items back first in, first out, across compactions and interleaved pushes", () => {
    const queue = new Queue<number>();
    const taken: number[] = [];
    let next = 0;
    // pushes and shifts interleaved so that the head passes the compaction threshold many times
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 3000; i++) queue.push(next++);
      for (let i = 0; i < 2500; i++) taken.push(queue.shift()!);
      expect(queue.length).toBe(next - taken.length);
      expect(queue.peek()).toBe(taken.length);
    }
    while (queue.length > 0) taken.push(queue.shift()!);
    expect(taken).toEqual(Array.from({ length: next }, (_, i) => i));
    expect(queue.shift()).toBeUndefined();
    expect(queue.peek()).toBeUndefined();
  });

  it("clear() drops every item", () => {
    const queue = new Queue<string>();
    queue.push("a");
    queue.push("b");
    queue.shift();
    queue.clear();
    expect(queue.length).toBe(0);
    expect(queue.shift()).toBeUndefined();
    queue.push("c");
    expect(queue.shift()).toBe("c");
  });
});
