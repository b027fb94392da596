import { describe, expect, it } from "vitest";
import { PriorityQueue } from "../src/modes/priority-queue.js";

/** A model entry: the item, its priority, and when it was pushed. */
type Entry = { item: string; priority: number; order: number };

/** The model's next item: highest priority, then earliest pushed. */
function first(model: Entry[]): Entry | undefined {
  let best: Entry | undefined;
  for (const e of model)
    if (
      best === undefined ||
      e.priority > best.priority ||
      (e.priority === best.priority && e.order < best.order)
    )
      best = e;
  return best;
}

describe("PriorityQueue", () => {
  it("matches a sorted model under random pushes (few priorities: many ties), shifts, peeks and removals, rebuilds included", () => {
    const queue = new PriorityQueue<string>();
    let model: Entry[] = [];
    let s = 7;
    const random = () => {
      s = (s * 1103515245 + 12345) % 2 ** 31;
      return s / 2 ** 31;
    };
    let next = 0;
    for (let op = 0; op < 40_000; op++) {
      // a backlog builds up, then mostly leaves by removal (a rebuild past 1024 removed)
      const r = random() + (op < 20_000 ? 0 : 0.4);
      if (r < 0.7) {
        const entry = { item: `r${next}`, priority: Math.floor(random() * 5) - 2, order: next++ };
        queue.push(entry.item, entry.priority);
        model.push(entry);
      } else if (r < 0.8) {
        const taken = first(model);
        model = model.filter((e) => e !== taken);
        expect(queue.shift()).toBe(taken?.item);
      } else if (model.length > 0) {
        const [removed] = model.splice(Math.floor(random() * model.length), 1);
        queue.remove(removed!.item);
      }
      expect(queue.length).toBe(model.length);
      if (op % 97 === 0) expect(queue.peek()).toBe(first(model)?.item);
    }
    // takeAll gives what waits in the order it was pushed
    expect(queue.takeAll()).toEqual(model.map((e) => e.item));
    expect(queue.length).toBe(0);
    expect(queue.shift()).toBeUndefined();
  });

  it("takes equal priorities in the order pushed, and higher ones first", () => {
    const queue = new PriorityQueue<string>();
    queue.push("a", 0);
    queue.push("b", 1);
    queue.push("c", 0);
    queue.push("d", 1);
    queue.push("e", -1);
    queue.push("f", 0.5);
    expect([1, 2, 3, 4, 5, 6].map(() => queue.shift())).toEqual(["b", "d", "f", "a", "c", "e"]);
  });
});
