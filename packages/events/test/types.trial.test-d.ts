// Type trial (never run, type-checked by `pnpm typecheck`): a typed bus as a TypeScript user
// declares its events. A `@ts-expect-error` marks code that must not compile.

import { expectTypeOf } from "vitest";
import { createDeferredEventBus, createEventBus, type EventBus, type EventMap } from "../src/index.js";

// An event map written as an interface, as many style guides ask, is an event map: an interface has
// no index signature, so a `Record<string, unknown>` constraint would refuse it.
interface ShopEvents {
  "order.placed": { orderId: string };
  "order.approved": { orderId: string; by: string };
}

const bus = createEventBus<ShopEvents>();
bus.on("order.placed", (payload) => expectTypeOf(payload).toEqualTypeOf<{ orderId: string }>());
bus.emit("order.approved", { orderId: "o1", by: "ada" });
// @ts-expect-error the payload of order.placed has an orderId
bus.emit("order.placed", { id: "o1" });
// @ts-expect-error not an event of the map
bus.emit("order.shipped", {});

export const deferred: EventBus<ShopEvents> = createDeferredEventBus<ShopEvents>();

// An adapter generic over the event map, as the adapter guide writes one, takes it too.
export declare function createMyBus<M extends EventMap = Record<string, unknown>>(): EventBus<M>;
export const mine = createMyBus<ShopEvents>();

// ... and the untyped bus still takes any event name and payload.
createEventBus().emit("anything", 1);
