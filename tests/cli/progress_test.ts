/** The progress line of `mail import` and `mail export`, on a test's clock and writer. */
import assert from "node:assert/strict";
import {
  formatBytes,
  formatBytesOf,
  formatCount,
  formatDuration,
  ProgressMeter,
  type ProgressOptions,
} from "../../src/cli/progress.ts";

/** A meter writing into an array, on a clock the test moves. */
function meter(opts: Partial<ProgressOptions> = {}) {
  const written: string[] = [];
  const clock = { ms: 1_000 };
  const m = new ProgressMeter({
    label: "Importing",
    write: (t) => written.push(t),
    now: () => clock.ms,
    columns: 100,
    ...opts,
  });
  return { m, written, clock };
}

const MiB = 1024 * 1024;

Deno.test("formatCount, formatBytes, formatDuration", () => {
  assert.equal(formatCount(0), "0");
  assert.equal(formatCount(999), "999");
  assert.equal(formatCount(1234567), "1,234,567");
  assert.equal(formatBytes(0), "0 B");
  assert.equal(formatBytes(1023), "1023 B");
  assert.equal(formatBytes(1536), "1.5 KiB");
  assert.equal(formatBytes(48.2 * MiB), "48.2 MiB");
  assert.equal(formatBytes(3 * 1024 * MiB), "3.0 GiB");
  assert.equal(formatBytesOf(940.1 * MiB, 954.1 * MiB), "940.1/954.1 MiB");
  assert.equal(formatBytesOf(940.1 * MiB, 1.2 * 1024 * MiB), "940.1 MiB/1.2 GiB");
  assert.equal(formatBytesOf(0, 2048), "0 B/2.0 KiB");
  assert.equal(formatDuration(7), "0:07");
  assert.equal(formatDuration(754), "12:34");
  assert.equal(formatDuration(3723), "1:02:03");
});

Deno.test("ProgressMeter: drawn in place, at most once per interval, erased at the end", () => {
  const { m, written, clock } = meter();
  m.start();
  assert.deepEqual(written, ["\rImporting 0 messages, 0 B\x1b[K"]);
  clock.ms += 100;
  m.update(1, MiB);
  assert.equal(written.length, 1, "not again within 250 ms");
  clock.ms += 150;
  m.update(2, 2 * MiB);
  assert.equal(written[1], "\rImporting 2 messages, 2.0 MiB, 8.0 MiB/s\x1b[K");
  for (let i = 3; i <= 100; i++) {
    clock.ms += 10;
    m.update(i, i * MiB);
  }
  // 980 ms later: at most four more drawings.
  assert.ok(written.length <= 2 + 4, `${written.length} drawings`);
  assert.match(written.at(-1)!, /^\rImporting \d+ messages, [\d.]+ MiB, [\d.]+ MiB\/s\x1b\[K$/);
  m.done();
  assert.equal(written.at(-1), "\r\x1b[K");
  const count = written.length;
  m.update(101, 101 * MiB);
  m.done();
  assert.equal(written.length, count, "nothing after done");
});

Deno.test("ProgressMeter: totals give a fraction, a percentage and the time left", () => {
  const { m, written, clock } = meter({
    label: "Exporting",
    totals: { messages: 1000, bytes: 100 * MiB },
  });
  m.start();
  assert.equal(written[0], "\rExporting 0/1,000 messages, 0 B/100.0 MiB (0%)\x1b[K");
  clock.ms += 2_000;
  m.update(250, 25 * MiB);
  assert.equal(
    written[1],
    "\rExporting 250/1,000 messages, 25.0/100.0 MiB (25%), 12.5 MiB/s, 0:06 left\x1b[K",
  );
  clock.ms += 6_000;
  m.update(1000, 100 * MiB);
  assert.equal(
    written[2],
    "\rExporting 1,000/1,000 messages, 100.0/100.0 MiB (100%), 12.5 MiB/s\x1b[K",
  );
});

Deno.test("ProgressMeter: totals set once known; one message is singular", () => {
  const { m, written, clock } = meter();
  m.setTotals({ messages: 1 });
  m.start();
  assert.equal(written[0], "\rImporting 0/1 message, 0 B\x1b[K");
  clock.ms += 500;
  m.update(1, 512);
  assert.equal(written[1], "\rImporting 1/1 message, 512 B, 1.0 KiB/s\x1b[K");
});

Deno.test("ProgressMeter: the line fits the terminal, the rate and time left giving way", () => {
  const totals = { messages: 10_000, bytes: 954 * MiB };
  const at = (columns: number) => {
    const { m, written, clock } = meter({ columns, label: "Exporting", totals });
    m.start();
    clock.ms += 10_000;
    m.update(9_853, 940 * MiB);
    for (const w of written) assert.ok(w.length - 4 <= columns - 1, JSON.stringify(w));
    return written[1];
  };
  assert.equal(
    at(80),
    "\rExporting 9,853/10,000 messages, 940.0/954.0 MiB (98%), 94.0 MiB/s, 0:00 left\x1b[K",
  );
  assert.equal(
    at(70),
    "\rExporting 9,853/10,000 messages, 940.0/954.0 MiB (98%), 94.0 MiB/s\x1b[K",
  );
  assert.equal(at(50), "\rExporting 9,853/10,000 messages\x1b[K");
  assert.equal(at(20), "\rExporting 9,853/10,\x1b[K");
});

Deno.test("ProgressMeter: erases nothing when nothing was drawn", () => {
  const { m, written } = meter();
  m.done();
  assert.deepEqual(written, []);
});
