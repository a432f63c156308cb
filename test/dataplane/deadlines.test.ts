import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type DeadlineItem, DeadlineList } from "../../src/dataplane/deadlines.js";

function item(name: string): DeadlineItem & { name: string } {
  return { name, deadlineAt: 0, deadlinePrev: null, deadlineNext: null, deadlineList: null };
}

describe("DeadlineList", () => {
  test("expires items in deadline order, skips cancelled ones, and stops its timer when empty", () => {
    const expired: string[] = [];
    const list = new DeadlineList<ReturnType<typeof item>>((x) => expired.push(x.name), 10_000);
    const [a, b, c, d] = ["a", "b", "c", "d"].map(item);
    list.add(a, 100);
    list.add(b, 200);
    list.add(c, 50); // shorter than the tail: inserted before a
    list.add(d, 300);
    assert.equal(list.size, 4);
    list.delete(b);
    list.delete(b); // twice is harmless
    const now = Date.now();
    list.expire(now + 120);
    assert.deepEqual(expired, ["c", "a"]);
    list.expire(now + 1000);
    assert.deepEqual(expired, ["c", "a", "d"]);
    assert.equal(list.size, 0);
    assert.equal(a.deadlineList, null);
  });

  test("moving an item between lists leaves the first one", () => {
    const one = new DeadlineList<DeadlineItem>(() => assert.fail("first list expired it"), 10_000);
    const two = new DeadlineList<DeadlineItem>(() => {}, 10_000);
    const x = item("x");
    one.add(x, 10);
    two.add(x, 10);
    assert.equal(one.size, 0);
    assert.equal(two.size, 1);
    one.expire(Date.now() + 100);
    two.expire(Date.now() + 100);
    assert.equal(two.size, 0);
  });

  test("a list that keeps emptying keeps one timer; a tick with nothing to watch stops it", async (t) => {
    let started = 0;
    let stopped = 0;
    const realSet = globalThis.setInterval;
    const realClear = globalThis.clearInterval;
    t.after(() => {
      globalThis.setInterval = realSet;
      globalThis.clearInterval = realClear;
    });
    // Only the list's own timers count (the runtime may use these functions itself).
    const ours = new Set<unknown>();
    globalThis.setInterval = ((...args: Parameters<typeof setInterval>) => {
      started++;
      const timer = realSet(...args);
      ours.add(timer);
      return timer;
    }) as typeof setInterval;
    globalThis.clearInterval = ((id: Parameters<typeof clearInterval>[0]) => {
      if (ours.has(id)) stopped++;
      realClear(id);
    }) as typeof clearInterval;
    const list = new DeadlineList<DeadlineItem>(() => {}, 5);
    // A thousand connections passing through this phase one after the other.
    for (let i = 0; i < 1000; i++) {
      const x = item(`c${i}`);
      list.add(x, 10_000);
      list.delete(x);
    }
    assert.equal(started, 1, "one timer for all of them");
    assert.equal(stopped, 0);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(stopped, 1, "the first empty tick stopped it");
  });

  test("the timer fires by itself", async () => {
    const expired: string[] = [];
    const list = new DeadlineList<ReturnType<typeof item>>((x) => expired.push(x.name), 5);
    list.add(item("late"), 30);
    await new Promise((r) => setTimeout(r, 120));
    assert.deepEqual(expired, ["late"]);
  });
});
