-- End-to-end test of the plugin in a real Neovim (run by nvim_test.go):
-- open the example, wait for cachelens's diagnostics, apply a quick fix
-- through Neovim's own code action flow, save, run the program, and read
-- the code lenses the server asks Neovim to refresh.
local env = function(k)
  return assert(os.getenv(k), k .. " is not set")
end
local results = { steps = {} }
local function step(name)
  table.insert(results.steps, name)
end
local function finish()
  local f = assert(io.open(env("CACHELENS_RESULT"), "w"))
  f:write(vim.fn.json_encode(results))
  f:close()
  vim.cmd("qa!")
end
local function fail(msg)
  results.error = msg
  finish()
end

vim.opt.rtp:prepend(env("CACHELENS_PLUGIN"))
vim.cmd("filetype on")
local cachelens = require("cachelens")
cachelens.setup({ cmd = { env("CACHELENS_BIN"), "serve", "-logfile", env("CACHELENS_LOG") }, keymap = "<leader>ca" })

local main = env("CACHELENS_MAIN")
vim.cmd("edit " .. vim.fn.fnameescape(main))
local buf = vim.api.nvim_get_current_buf()
results.filetype = vim.bo[buf].filetype
results.nvim = tostring(vim.version().major) .. "." .. tostring(vim.version().minor)

local function code_of(d)
  return d.code or (d.user_data and d.user_data.lsp and d.user_data.lsp.code)
end

-- 1. The static diagnostics arrive.
local ok = vim.wait(120000, function()
  local codes = {}
  for _, d in ipairs(vim.diagnostic.get(buf)) do
    codes[code_of(d) or ""] = true
  end
  return codes.unhashable and codes.mutated
end, 100)
if not ok then
  return fail("no unhashable and mutated diagnostics")
end
results.diagnostics = {}
local mutated_line
for _, d in ipairs(vim.diagnostic.get(buf)) do
  table.insert(results.diagnostics, { code = code_of(d), line = d.lnum + 1, message = d.message, source = d.source })
  if code_of(d) == "mutated" then
    mutated_line = d.lnum
  end
end
step("diagnostics")

-- 2. A quick fix through Neovim's own code action flow (the keymap the
-- plugin installs), choosing "Work on a copy" in the selection.
local offered = {}
vim.ui.select = function(items, opts, on_choice)
  local chosen
  for _, item in ipairs(items) do
    local title = item[2] and item[2].title or item.title
    table.insert(offered, title)
    if title:find("Work on a copy", 1, true) and not chosen then
      chosen = item
    end
  end
  on_choice(chosen)
end
vim.api.nvim_win_set_cursor(0, { mutated_line + 1, 2 })
local keys = vim.api.nvim_replace_termcodes("<leader>ca", true, false, true)
vim.api.nvim_feedkeys(keys, "x", false)
ok = vim.wait(20000, function()
  local text = table.concat(vim.api.nvim_buf_get_lines(buf, 0, -1, false), "\n")
  return text:find("applyDiscount(cacheruntime.Clone(loadCatalog(\"eu\")))", 1, true) ~= nil
end, 50)
results.offered = offered
if not ok then
  return fail("the fix was not applied; offered: " .. vim.inspect(offered))
end
step("fix")
vim.cmd("write")

-- The mutation diagnostic goes away after the fix.
ok = vim.wait(20000, function()
  for _, d in ipairs(vim.diagnostic.get(buf)) do
    if code_of(d) == "mutated" then
      return false
    end
  end
  return true
end, 50)
if not ok then
  return fail("the mutated diagnostic stayed after the fix")
end
step("cleared")

-- 3. Run the program: it finds the server and reports.
results.program = vim.fn.system({ "go", "run", "." })
if vim.v.shell_error ~= 0 then
  return fail("go run: " .. results.program)
end
step("ran")

-- 4. The server asks for a code lens refresh; the plugin's handler
-- re-requests and Neovim resolves them.
ok = vim.wait(30000, function()
  local lenses = vim.lsp.codelens.get(buf)
  local n = 0
  for _, l in ipairs(lenses) do
    if l.command and l.command.title:find("^cache · ") then
      n = n + 1
    end
  end
  return n >= 3
end, 50)
results.lenses = {}
for _, l in ipairs(vim.lsp.codelens.get(buf)) do
  table.insert(results.lenses, { line = l.range.start.line + 1, title = l.command and l.command.title or "" })
end
if not ok then
  return fail("no code lenses with counts")
end
step("lenses")
results.status = cachelens.status()
finish()
