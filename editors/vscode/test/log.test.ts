import { test } from "node:test";
import * as assert from "node:assert/strict";
import { classify } from "../src/log";

test("ordinary server lines are info, without the server's timestamp", () => {
  assert.deepEqual(classify("cachelens: 2026/11/26 17:40:36.469123 listening on /run/user/0/cachelens/s.sock"), {
    level: "info",
    text: "listening on /run/user/0/cachelens/s.sock",
  });
  assert.equal(classify("cachelens: 2026/11/26 17:40:36.469123 checked 3 packages in 1.2s").level, "info");
});

test("problems keep their weight", () => {
  assert.equal(classify("cachelens: 2026/11/26 17:40:36 cannot read run files in /x: permission denied").level, "warn");
  assert.equal(classify("cachelens: 2026/11/26 17:40:36 refused a connection from uid 1001").level, "warn");
  assert.equal(classify("panic: runtime error: index out of range").level, "error");
  assert.equal(classify("cachelens: 2026/11/26 17:40:36 internal error in hover: boom").level, "error");
});
