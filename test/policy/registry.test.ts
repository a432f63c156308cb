import assert from "node:assert/strict";
import { test } from "node:test";
import { ConnectionRegistry } from "../../src/policy/index.js";

test("ConnectionRegistry: by tenant, each connection once, tenants gone when empty", () => {
  const r = new ConnectionRegistry<{ id: number }>();
  const [a, b, c] = [{ id: 1 }, { id: 2 }, { id: 3 }];
  r.add("megacorp", a);
  r.add("megacorp", a); // twice: counted once
  r.add("megacorp", b);
  r.add("initech", c);
  assert.equal(r.size, 3);
  assert.deepEqual([...r.tenants()].sort(), ["initech", "megacorp"]);
  assert.deepEqual(r.forTenant("megacorp"), [a, b]);
  assert.deepEqual(r.forTenant("nobody"), []);
  r.delete("initech", a); // not registered there: nothing changes
  r.delete("nobody", a);
  assert.equal(r.size, 3);
  r.delete("initech", c);
  assert.equal(r.size, 2);
  assert.deepEqual([...r.tenants()], ["megacorp"], "an emptied tenant is dropped");
  // forTenant is a snapshot: deleting while iterating it visits every connection once.
  const seen: number[] = [];
  for (const x of r.forTenant("megacorp")) {
    seen.push(x.id);
    r.delete("megacorp", x);
  }
  assert.deepEqual(seen, [1, 2]);
  assert.equal(r.size, 0);
  assert.deepEqual([...r.tenants()], []);
});
