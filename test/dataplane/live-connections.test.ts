/** LiveConnections (src/dataplane/live-connections.ts): a listener's live connections. */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { LiveConnections, type LiveItem } from "../../src/dataplane/live-connections.js";

interface Item extends LiveItem {
  id: number;
}
const item = (id: number): Item => ({ id, liveListed: false, livePrev: null, liveNext: null });

test("the list behaves as a Set of its items, in order of arrival, whatever the adds and deletes", () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.boolean(), fc.nat({ max: 15 })), { maxLength: 200 }),
      (ops) => {
        const items = Array.from({ length: 16 }, (_, id) => item(id));
        const live = new LiveConnections<Item>();
        const model = new Set<Item>();
        for (const [add, id] of ops) {
          if (add) {
            live.add(items[id]);
            model.add(items[id]);
          } else {
            live.delete(items[id]);
            model.delete(items[id]);
          }
          assert.equal(live.size, model.size);
          assert.deepEqual(
            [...live].map((i) => i.id),
            [...model].map((i) => i.id),
          );
        }
        // An item that left holds no link into the list (nothing kept alive through it).
        for (const i of items) {
          if (!model.has(i))
            assert.deepEqual([i.livePrev, i.liveNext, i.liveListed], [null, null, false]);
        }
      },
    ),
  );
});

test("a copy of the list may be closed while iterating it", () => {
  const live = new LiveConnections<Item>();
  const items = [item(0), item(1), item(2)];
  for (const i of items) live.add(i);
  for (const i of [...live]) live.delete(i);
  assert.equal(live.size, 0);
  assert.deepEqual([...live], []);
});
