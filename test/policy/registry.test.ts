import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { ConnectionRegistry, type RegistryItem } from "../../src/policy/index.js";

interface Item extends RegistryItem {
  id: number;
}

function item(id: number): Item {
  return { id, registryList: null, registryPrev: null, registryNext: null };
}

test("ConnectionRegistry: by tenant, each connection once, tenants gone when empty", () => {
  const r = new ConnectionRegistry<Item>();
  const [a, b, c] = [item(1), item(2), item(3)];
  r.add("megacorp", a);
  r.add("megacorp", a); // twice: counted once
  r.add("megacorp", b);
  r.add("initech", c);
  assert.equal(r.size, 3);
  assert.deepEqual([...r.tenants()].sort(), ["initech", "megacorp"]);
  assert.deepEqual(r.forTenant("megacorp"), [a, b]);
  assert.deepEqual(r.forTenant("nobody"), []);
  r.remove(item(4)); // never registered: nothing changes
  assert.equal(r.size, 3);
  assert.deepEqual(r.forTenant("megacorp"), [a, b]);
  r.remove(c);
  r.remove(c); // twice: removed once
  assert.equal(r.size, 2);
  assert.deepEqual([...r.tenants()], ["megacorp"], "an emptied tenant is dropped");
  // forTenant is a snapshot: deleting while iterating it visits every connection once.
  const seen: number[] = [];
  for (const x of r.forTenant("megacorp")) {
    seen.push(x.id);
    r.remove(x);
  }
  assert.deepEqual(seen, [1, 2]);
  assert.equal(r.size, 0);
  assert.deepEqual([...r.tenants()], []);
});

test("ConnectionRegistry: a removed connection points at no other, and none at it", () => {
  const r = new ConnectionRegistry<Item>();
  const items = [1, 2, 3, 4, 5].map(item);
  for (const x of items) r.add("megacorp", x);
  const [first, second, middle, fourth, last] = items;
  r.remove(middle);
  r.remove(first);
  r.remove(last);
  for (const removed of [first, middle, last]) {
    assert.equal(removed.registryList, null);
    assert.equal(removed.registryPrev, null);
    assert.equal(removed.registryNext, null);
  }
  // The ones left are linked to each other only, in order of registration.
  assert.deepEqual(r.forTenant("megacorp"), [second, fourth]);
  assert.equal(second.registryPrev, null);
  assert.equal(second.registryNext, fourth);
  assert.equal(fourth.registryPrev, second);
  assert.equal(fourth.registryNext, null);
  r.add("megacorp", middle); // back, at the end
  assert.deepEqual(r.forTenant("megacorp"), [second, fourth, middle]);
  assert.equal(r.size, 3);
});

test("ConnectionRegistry: a connection added under another tenant moves; another registry refuses it", () => {
  const r = new ConnectionRegistry<Item>();
  const [a, b] = [item(1), item(2)];
  r.add("megacorp", a);
  r.add("megacorp", b);
  r.add("initech", a);
  assert.equal(r.size, 2);
  assert.deepEqual(r.forTenant("megacorp"), [b]);
  assert.deepEqual(r.forTenant("initech"), [a]);
  const other = new ConnectionRegistry<Item>();
  assert.throws(() => other.add("megacorp", a), /another registry/);
  other.remove(a); // not its connection: nothing changes
  assert.deepEqual(r.forTenant("initech"), [a]);
  assert.equal(r.size, 2);
  assert.equal(other.size, 0);
  r.remove(a); // removed from the tenant it moved to
  assert.deepEqual([...r.tenants()], ["megacorp"]);
  assert.equal(r.size, 1);
});

test("ConnectionRegistry: the lists behave as a map from connection to tenant, in order of registration", () => {
  const tenants = ["megacorp", "initech", "hooli"];
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.boolean(), fc.nat({ max: 11 }), fc.nat({ max: 2 })), {
        maxLength: 200,
      }),
      (ops) => {
        const items = Array.from({ length: 12 }, (_, id) => item(id));
        const r = new ConnectionRegistry<Item>();
        // Insertion order is registration order; a move re-registers at the end.
        const model = new Map<Item, string>();
        for (const [add, id, t] of ops) {
          const x = items[id];
          const tenant = tenants[t];
          if (add) {
            r.add(tenant, x);
            if (model.get(x) !== tenant) {
              model.delete(x);
              model.set(x, tenant);
            }
          } else {
            r.remove(x);
            model.delete(x);
          }
          assert.equal(r.size, model.size);
          for (const name of tenants) {
            const expected = [...model].filter(([, m]) => m === name).map(([i]) => i.id);
            assert.deepEqual(
              r.forTenant(name).map((i) => i.id),
              expected,
            );
          }
          assert.deepEqual([...r.tenants()].sort(), [...new Set(model.values())].sort());
        }
        for (const x of items) {
          if (!model.has(x))
            assert.deepEqual([x.registryList, x.registryPrev, x.registryNext], [null, null, null]);
        }
      },
    ),
  );
});
