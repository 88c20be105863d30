/** The logger: levels, properties from `with`, and the two line formats. */
import assert from "node:assert/strict";
import {
  getLogger,
  jsonLine,
  type LogRecord,
  prettyLine,
  resetLogging,
  setupLogging,
} from "../src/log.ts";

Deno.test("log: lines below the level are dropped; with() properties come first, a line's win", () => {
  const kept: LogRecord[] = [];
  setupLogging("pretty", "info", (r) => kept.push(r));
  try {
    const log = getLogger(["mail", "test"]);
    const conn = log.with({ client: "192.0.2.1", role: "smtp" });
    log.debug("Hidden");
    conn.info("Accepted", { id: "X1", role: "submission" });
    log.warning("Careful");
    assert.deepEqual(kept.map((r) => [r.level, r.category, r.message]), [
      ["info", "mail.test", "Accepted"],
      ["warning", "mail.test", "Careful"],
    ]);
    assert.deepEqual(Object.entries(kept[0]!.properties), [
      ["client", "192.0.2.1"],
      ["role", "submission"],
      ["id", "X1"],
    ]);
  } finally {
    resetLogging();
  }
  // Not set up: nothing is kept, nothing is written.
  getLogger(["mail", "test"]).error("Nowhere");
  assert.equal(kept.length, 2);
});

const record: LogRecord = {
  timestamp: Date.UTC(2026, 10, 28, 11, 52, 44, 123),
  level: "info",
  category: "mail.server",
  message: "Accepted",
  properties: {
    client: "192.0.2.1",
    recipients: ["a@example.test", "b@example.test"],
    reply: "550 5.1.1 No such user",
    empty: "",
    skipped: undefined,
    size: 42,
  },
};

Deno.test("log: the pretty line quotes values with spaces and skips undefined ones", () => {
  assert.equal(
    prettyLine(record),
    "2026-11-28T11:52:44.123Z INF mail.server: Accepted client=192.0.2.1 " +
      'recipients=a@example.test,b@example.test reply="550 5.1.1 No such user" empty="" size=42\n',
  );
  const withStack = prettyLine({
    ...record,
    level: "error",
    properties: { error: new Error("boom"), stack: "Error: boom\n    at x" },
  });
  assert.equal(
    withStack,
    '2026-11-28T11:52:44.123Z ERR mail.server: Accepted error="boom"\nError: boom\n    at x\n',
  );
});

Deno.test("log: the JSON line keeps the fields of the format users parse", () => {
  const doc = JSON.parse(jsonLine(record));
  assert.deepEqual(Object.keys(doc), ["@timestamp", "level", "message", "logger", "properties"]);
  assert.equal(doc["@timestamp"], "2026-11-28T11:52:44.123Z");
  assert.equal(doc.level, "INFO");
  assert.equal(doc.logger, "mail.server");
  assert.deepEqual(doc.properties.recipients, ["a@example.test", "b@example.test"]);
  assert.equal(doc.properties.size, 42);
  assert.equal(
    JSON.parse(jsonLine({ ...record, properties: { error: new Error("x") } }))
      .properties.error,
    "x",
  );
});
