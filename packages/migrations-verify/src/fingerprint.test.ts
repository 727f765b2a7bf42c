import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CatalogFingerprint, objectKey, readCatalogFingerprint } from "./index.ts";
import { openTestScratch, SCRATCH_KINDS, type TestScratch } from "./testing/scratches.ts";

function find(fingerprint: CatalogFingerprint, key: string) {
  const found = fingerprint.objects.find((object) => objectKey(object) === key);
  if (!found) throw new Error(`${key} is not in the fingerprint`);
  return found;
}

function keys(fingerprint: CatalogFingerprint): string[] {
  return fingerprint.objects.map(objectKey);
}

// One database per kind for the file; each test works in a schema of its own.
describe.each(SCRATCH_KINDS)("the catalog fingerprint on %s", (kind) => {
  let scratch: TestScratch;
  beforeAll(async () => {
    scratch = await openTestScratch(kind);
  }, 120_000);
  afterAll(() => scratch?.dispose());
  const fingerprint = () => readCatalogFingerprint(scratch.database);

  it("describes each object with the attributes a difference is named by", async () => {
    await scratch.query(`
      create schema shop;
      comment on schema shop is 'The shop.';
      create type shop.tier as enum ('free', 'pro');
      create sequence shop.order_number_seq start 1000 increment 10;
      create table shop.orders (
        id bigint generated always as identity primary key,
        number bigint not null default nextval('shop.order_number_seq'),
        tier shop.tier not null default 'free',
        total numeric check (total >= 0)
      );
      alter sequence shop.order_number_seq owned by shop.orders.number;
      comment on column shop.orders.tier is 'The plan ordered.';
      create index orders_tier_idx on shop.orders (tier) where tier <> 'free';
      create function shop.touch() returns trigger language plpgsql
        security definer set search_path = pg_catalog, pg_temp
        as $$ begin return new; end $$;
      create trigger orders_touch before update on shop.orders
        for each row execute function shop.touch();
      alter table shop.orders disable trigger orders_touch;
      alter table shop.orders enable row level security;
      create policy orders_pro on shop.orders for select to public using (tier = 'pro');
      grant usage on schema shop to public;
    `);

    const taken = await fingerprint();

    expect(find(taken, "schema shop").attributes).toMatchObject({ comment: "The shop." });
    expect(find(taken, "enum shop.tier").attributes).toMatchObject({ labels: ["free", "pro"] });
    expect(find(taken, "column shop.orders.tier")).toEqual({
      kind: "column",
      identity: "shop.orders.tier",
      parent: "table shop.orders",
      attributes: {
        position: "3",
        type: "shop.tier",
        "not null": true,
        default: "'free'::shop.tier",
        generated: null,
        identity: null,
        collation: null,
        storage: null,
        comment: "The plan ordered.",
      },
    });
    expect(find(taken, "column shop.orders.id").attributes).toMatchObject({
      identity: "always",
      default: null,
    });
    expect(find(taken, "sequence shop.order_number_seq").attributes).toMatchObject({
      start: "1000",
      increment: "10",
      "owned by": "shop.orders.number",
    });
    expect(find(taken, "constraint shop.orders.orders_total_check").attributes).toMatchObject({
      type: "check",
      definition: "CHECK ((total >= (0)::numeric))",
      validated: true,
    });
    expect(find(taken, "index shop.orders_tier_idx").attributes).toMatchObject({
      definition:
        "CREATE INDEX orders_tier_idx ON shop.orders USING btree (tier) WHERE (tier <> 'free'::shop.tier)",
      valid: true,
    });
    expect(find(taken, "function shop.touch()").attributes).toMatchObject({
      language: "plpgsql",
      body: " begin return new; end ",
      security: "definer",
      configuration: ["search_path=pg_catalog, pg_temp"],
      volatility: "volatile",
      returns: "trigger",
    });
    expect(find(taken, "trigger shop.orders.orders_touch").attributes).toMatchObject({
      definition:
        "CREATE TRIGGER orders_touch BEFORE UPDATE ON shop.orders FOR EACH ROW EXECUTE FUNCTION shop.touch()",
      enabled: "disabled",
    });
    expect(find(taken, "table shop.orders").attributes).toMatchObject({
      "row level security": "enabled",
      persistence: "permanent",
    });
    expect(find(taken, "policy shop.orders.orders_pro").attributes).toMatchObject({
      command: "select",
      roles: ["PUBLIC"],
      using: "(tier = 'pro'::shop.tier)",
    });
    expect(keys(taken)).toContain("grant USAGE on schema shop to PUBLIC");
    // A function's default EXECUTE for PUBLIC is there although its ACL is empty in the catalog.
    expect(keys(taken)).toContain("grant EXECUTE on function shop.touch() to PUBLIC");
  });

  it("is the same for a schema dropped and made again: no OIDs or column numbers in it", async () => {
    const make = `
      create schema again;
      create table again.items (id int primary key, name text, price int);
      create view again.names as select name from again.items;
      create function again.total() returns bigint language sql as 'select sum(price) from again.items';`;
    await scratch.query(make);
    const first = await fingerprint();

    await scratch.query(`drop schema again cascade; ${make}`);
    // A column dropped and added back is a new column number, in the same place.
    await scratch.query(`
      drop view again.names;
      alter table again.items drop column price;
      alter table again.items add column price int;
      create view again.names as select name from again.items;`);

    expect(await fingerprint()).toEqual(first);
  });

  it("is the same after a GRANT and the REVOKE that undoes it", async () => {
    await scratch.query("create schema grants; create table grants.t (id int)");
    const before = await fingerprint();

    await scratch.query(
      "grant select on grants.t to public; revoke select on grants.t from public",
    );

    // The catalog now holds an explicit ACL where it held none, meaning the same privileges.
    expect(
      await scratch.query(
        "select relacl is not null as explicit from pg_class where oid = 'grants.t'::regclass",
      ),
    ).toEqual([{ explicit: true }]);
    expect(await fingerprint()).toEqual(before);
  });

  it.runIf(kind === "PostgreSQL")("names an extension but not the objects it owns", async () => {
    await scratch.query("create schema crypto; create extension pgcrypto schema crypto");

    const taken = await fingerprint();

    expect(find(taken, "extension pgcrypto").attributes).toMatchObject({ schema: "crypto" });
    expect(keys(taken).filter((key) => key.includes("crypto."))).toEqual([]);
  });
});
