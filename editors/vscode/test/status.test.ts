import { test } from "node:test";
import * as assert from "node:assert/strict";
import { ago, statusText } from "../src/status";

const now = new Date("2026-11-26T12:00:00Z");

test("programs running", () => {
  const s = statusText("running", { listening: true, running: 2, processes: 5, functions: 3, socket: "/run/x.sock" }, now);
  assert.equal(s.text, "$(pulse) cachelens: 2 programs running");
  assert.match(s.tooltip, /2 programs running and reporting\. 5 runs shown, 3 cached functions/);
  assert.match(s.tooltip, /Listening on \/run\/x.sock/);
  assert.equal(statusText("running", { listening: true, running: 1, processes: 1, functions: 1 }, now).text, "$(pulse) cachelens: 1 program running");
});

test("a short run that ended says what was seen, not 0 programs", () => {
  const s = statusText("running", { listening: true, running: 0, processes: 1, functions: 3, lastRun: "2026-11-26T11:59:48Z" }, now);
  assert.equal(s.text, "$(pulse) cachelens: 1 run, 12 s ago");
  assert.match(s.tooltip, /Nothing is running now/);
  assert.equal(statusText("running", { listening: true, running: 0, processes: 0, functions: 0 }, now).text, "$(pulse) cachelens: no runs yet");
});

test("ago", () => {
  const at = (s: number) => ago(new Date(now.getTime() - s * 1000), now);
  assert.equal(at(2), "just now");
  assert.equal(at(12), "12 s ago");
  assert.equal(at(150), "2 min ago");
  assert.equal(at(7200), "2 h ago");
  assert.equal(at(90000), "yesterday");
  assert.equal(at(3 * 86400), "3 days ago");
});

test("states", () => {
  assert.match(statusText("missing").tooltip, /not found/);
  assert.match(statusText("starting").text, /sync~spin/);
  assert.match(statusText("running", { listening: false, running: 0, processes: 0, functions: 0 }).tooltip, /cannot receive reports/);
  assert.match(statusText("running", { listening: true, running: 0, processes: 0, functions: 0, problem: "the runs directory is taken" }).text, /warning/);
});

test("production: its state in the tooltip, a warning when Prometheus is unreachable", () => {
  const base = { listening: true, running: 1, processes: 1, functions: 2 };
  assert.doesNotMatch(statusText("running", base).tooltip, /Production/);
  const ok = statusText("running", { ...base, production: "ok", productionCaches: 3 });
  assert.match(ok.tooltip, /Production: 3 caches in Prometheus\./);
  assert.match(ok.text, /^\$\(pulse\)/);
  const down = statusText("running", { ...base, production: "unreachable", productionError: "prometheus at 10.0.0.9:9090: connection refused" });
  assert.match(down.text, /^\$\(warning\) cachelens: 1 program running/);
  assert.match(down.tooltip, /Prometheus is unreachable \(prometheus at 10\.0\.0\.9:9090: connection refused\); the production line is hidden\./);
});
