import { test } from "node:test";
import * as assert from "node:assert/strict";
import { statusText } from "../src/status";

test("programs reporting", () => {
  const s = statusText("running", { listening: true, running: 2, processes: 5, functions: 3, socket: "/run/x.sock" });
  assert.equal(s.text, "$(pulse) cachelens: 2 programs");
  assert.match(s.tooltip, /2 programs reporting now, 5 since the start, 3 cached functions/);
  assert.equal(statusText("running", { listening: true, running: 1, processes: 1, functions: 1 }).text, "$(pulse) cachelens: 1 program");
});

test("states", () => {
  assert.match(statusText("missing").tooltip, /not found/);
  assert.match(statusText("starting").text, /sync~spin/);
  assert.match(statusText("running", { listening: false, running: 0, processes: 0, functions: 0 }).tooltip, /cannot receive reports/);
});
