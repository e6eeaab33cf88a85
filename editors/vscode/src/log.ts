// The server's log lines, for VS Code's log output channel: each line
// goes out at its level (vscode-languageclient would log every stderr
// line as an error), without the timestamp the channel adds itself.

export type Level = "info" | "warn" | "error";

// The prefix the server's logger writes: "cachelens: 2026/11/26 17:40:36.469123 ".
const prefix = /^cachelens: \d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d(\.\d+)? /;

const errorWords = /\b(panic|panicked|fatal|internal error)\b/i;
const warnWords = /\b(cannot|can't|could not|failed|refus(ed|ing)|warning|not shown)\b/i;

export function classify(line: string): { level: Level; text: string } {
  const text = line.replace(prefix, "");
  if (errorWords.test(text)) {
    return { level: "error", text };
  }
  if (warnWords.test(text)) {
    return { level: "warn", text };
  }
  return { level: "info", text };
}
