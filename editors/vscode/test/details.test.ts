import { test } from "node:test";
import * as assert from "node:assert/strict";
import { detailsPage, escapeHtml } from "../src/details";

test("the details page runs no scripts and escapes its title", () => {
  const page = detailsPage("cache <load>", "<table><tr><td>hits</td><td>8</td></tr></table>");
  assert.match(page, /Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline';"/);
  assert.match(page, /<title>cache &lt;load&gt;<\/title>/);
  assert.match(page, /<td>hits<\/td><td>8<\/td>/);
  assert.equal(escapeHtml(`a&b"'`), "a&amp;b&quot;&#39;");
});
