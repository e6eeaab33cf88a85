// The page a code lens click shows: the server's details (markdown,
// rendered by VS Code's own markdown renderer) in one reused webview, so
// that no document is created — nothing unsaved is left behind, and
// nothing comes back in the next session.

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

// detailsPage wraps rendered markdown in a page that runs no scripts and
// loads nothing, styled with the editor theme's colours.
export function detailsPage(title: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline';">
<title>${escapeHtml(title)}</title>
<style>
body { font-family: var(--vscode-font-family); font-size: var(--vscode-font-size); color: var(--vscode-foreground); padding: 0 1em; }
code, pre { font-family: var(--vscode-editor-font-family); }
table { border-collapse: collapse; }
th, td { border: 1px solid var(--vscode-panel-border, #8884); padding: 2px 8px; text-align: left; }
</style>
</head>
<body>
${body}
</body>
</html>`;
}
