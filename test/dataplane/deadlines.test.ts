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

  test("the timer fires by itself", async () => {
    const expired: string[] = [];
    const list = new DeadlineList<ReturnType<typeof item>>((x) => expired.push(x.name), 5);
    list.add(item("late"), 30);
    await new Promise((r) => setTimeout(r, 120));
    assert.deepEqual(expired, ["late"]);
  });
});
