import { describe, expect, it } from "vitest";
import { FifoQueue } from "../src/modes/fifo-queue.js";

describe("FifoQueue", () => {
  it("matches an array under random pushes, shifts, peeks and removals anywhere, rewrites included", () => {
    const queue = new FifoQueue<string>();
    const model: string[] = [];
    let s = 99;
    const random = () => {
      s = (s * 1103515245 + 12345) % 2 ** 31;
      return s / 2 ** 31;
    };
    let next = 0;
    for (let op = 0; op < 60_000; op++) {
      // first a backlog builds up, then it mostly leaves from behind a head that rarely moves
      const r = random() + (op < 30_000 ? 0 : 0.4);
      if (r < 0.7) {
        const item = `r${next++}`;
        queue.push(item);
        model.push(item);
      } else if (r < 0.75) {
        expect(queue.shift()).toBe(model.shift());
      } else if (model.length > 0) {
        // mostly from the tail half: a head that rarely moves leaves holes behind it
        const at = Math.floor(model.length * (0.5 + random() / 2));
        const [item] = model.splice(at, 1);
        queue.remove(item!);
      }
      expect(queue.length).toBe(model.length);
      expect(queue.peek()).toBe(model[0]);
    }
    expect(queue.takeAll()).toEqual(model);
    expect(queue.length).toBe(0);
    expect(queue.shift()).toBeUndefined();
  });

  it("keeps order across compaction after many shifts", () => {
    const queue = new FifoQueue<number>();
    for (let i = 0; i < 5000; i++) queue.push(i);
    for (let i = 0; i < 3000; i++) expect(queue.shift()).toBe(i);
    queue.remove(4000);
    for (let i = 5000; i < 5100; i++) queue.push(i);
    const rest = queue.takeAll();
    expect(rest).toHaveLength(2099);
    expect(rest[0]).toBe(3000);
    expect(rest.includes(4000)).toBe(false);
    expect(rest.at(-1)).toBe(5099);
  });
});
