import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";

const manifest = JSON.parse(fs.readFileSync(path.resolve(__dirname, "../../package.json"), "utf8"));

test("every command has a category, and titles do not repeat it", () => {
  for (const c of manifest.contributes.commands) {
    assert.equal(c.category, "cachelens", c.command);
    assert.doesNotMatch(c.title, /^cachelens/i, c.command);
  }
});

test("an untrusted workspace cannot choose the binary the extension runs, nor where it sends queries", () => {
  const u = manifest.capabilities.untrustedWorkspaces;
  assert.equal(u.supported, "limited");
  assert.deepEqual(u.restrictedConfigurations, ["cachelens.server.path", "cachelens.prometheus.url"]);
  assert.ok(u.description.length > 0);
});
