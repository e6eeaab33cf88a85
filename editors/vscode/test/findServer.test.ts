import { test } from "node:test";
import * as assert from "node:assert/strict";
import { findServer } from "../src/findServer";

const base = { configured: "", env: {}, home: "/home/ann", platform: "linux", isExecutable: (_: string) => false };

test("the configured path wins", () => {
  const r = findServer({ ...base, configured: "/opt/cl", isExecutable: (p) => p === "/opt/cl" });
  assert.deepEqual(r, { command: "/opt/cl", args: ["serve"] });
});

test("a configured path that is not executable is an error", () => {
  const r = findServer({ ...base, configured: "/nope" });
  assert.ok("error" in r && r.error.includes("/nope"));
});

test("PATH before GOPATH", () => {
  const r = findServer({ ...base, env: { PATH: "/usr/bin:/x/bin", GOPATH: "/gp" }, isExecutable: (p) => p === "/x/bin/cachelens" || p === "/gp/bin/cachelens" });
  assert.deepEqual(r, { command: "/x/bin/cachelens", args: ["serve"] });
});

test("GOPATH/bin, and ~/go/bin by default", () => {
  assert.deepEqual(findServer({ ...base, env: { GOPATH: "/gp" }, isExecutable: (p) => p === "/gp/bin/cachelens" }), { command: "/gp/bin/cachelens", args: ["serve"] });
  assert.deepEqual(findServer({ ...base, isExecutable: (p) => p === "/home/ann/go/bin/cachelens" }), { command: "/home/ann/go/bin/cachelens", args: ["serve"] });
});

test("not found: a clear message with the install command", () => {
  const r = findServer({ ...base, env: { PATH: "/usr/bin" } });
  assert.ok("error" in r);
  assert.match(r.error, /not found on PATH or in \/home\/ann\/go\/bin/);
  assert.match(r.error, /in a clone of https:\/\/github.com\/cachelens\/cachelens run: go install \.\/cmd\/cachelens/);
});

test("a remote window: the message says where a machine setting applies", () => {
  const local = findServer({ ...base, env: { PATH: "/usr/bin" } });
  assert.ok("error" in local);
  assert.doesNotMatch(local.error, /remote/i);
  const r = findServer({ ...base, env: { PATH: "/usr/bin" }, remote: "ssh-remote" });
  assert.ok("error" in r);
  assert.match(r.error, /runs on a remote \(ssh-remote\): set cachelens.server.path in the Remote settings/);
  const c = findServer({ ...base, configured: "/nope", remote: "wsl" });
  assert.ok("error" in c);
  assert.match(c.error, /\/nope, which is not an executable file\. This window runs on a remote \(wsl\)/);
});

test("Windows names and separators", () => {
  const r = findServer({ ...base, platform: "win32", env: { PATH: "C:\\a;C:\\b" }, isExecutable: (p) => p.endsWith("cachelens.exe") && p.includes("b") });
  assert.ok(!("error" in r) && r.command.endsWith("cachelens.exe"));
});
