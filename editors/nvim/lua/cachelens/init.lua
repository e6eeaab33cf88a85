-- cachelens for Neovim: starts the cachelens language server for Go
-- buffers next to gopls, keeps code lenses fresh while programs run,
-- enables inlay hints where Neovim has them (0.10+), and maps a key to the
-- code actions. Works on Neovim 0.7 and later.
--
--   require("cachelens").setup {}
--
-- Options (all optional):
--   cmd           the server command; default: cachelens (or $GOPATH/bin/cachelens) serve
--   filetypes     default { "go" }
--   settings      { codeLenses = true, inlayHints = true, runtimeDiagnostics = true, socket = nil,
--                   prometheus = { url = "http://prometheus:9090", matchers = 'job="shop"', window = "24h" },
--                   productionLine = true }
--   keymap        key for code actions in Go buffers; default "<leader>ca"; false for none
--   on_attach     function(client, bufnr) called after cachelens's own setup
local M = {}

local defaults = {
  cmd = nil,
  filetypes = { "go" },
  settings = { codeLenses = true, inlayHints = true, runtimeDiagnostics = true },
  keymap = "<leader>ca",
  on_attach = nil,
}

M.config = vim.deepcopy(defaults)
M.clients = {} -- root directory -> client id
M.last_status = nil -- the last cachelens/status notification

local function notify(msg, level)
  vim.schedule(function()
    vim.notify("cachelens: " .. msg, level or vim.log.levels.INFO)
  end)
end

-- find_server returns the command that starts the server, or nil and an
-- install hint.
function M.find_server()
  if M.config.cmd then
    return M.config.cmd
  end
  if vim.fn.executable("cachelens") == 1 then
    return { "cachelens", "serve" }
  end
  local gopath = vim.env.GOPATH
  if not gopath or gopath == "" then
    gopath = (vim.env.HOME or "") .. "/go"
  end
  local bin = gopath .. "/bin/cachelens"
  if vim.fn.executable(bin) == 1 then
    return { bin, "serve" }
  end
  return nil, "the cachelens binary was not found on PATH or in " .. gopath .. "/bin; "
    .. "to install it, in a clone of https://github.com/cachelens/cachelens run: go install ./cmd/cachelens "
    .. "(once released: go install github.com/cachelens/cachelens/cmd/cachelens@latest)"
end

-- root_dir finds the module (go.mod) or repository around a file.
local function root_dir(fname)
  local dir = vim.fn.fnamemodify(fname, ":p:h")
  for _, marker in ipairs({ "go.work", "go.mod", ".git" }) do
    local found = vim.fn.findfile(marker, dir .. ";")
    if found == "" then
      found = vim.fn.finddir(marker, dir .. ";")
    end
    if found ~= "" then
      return vim.fn.fnamemodify(found, ":p:h"):gsub("/%.git$", "")
    end
  end
  return dir
end

-- buffers_of returns the buffers a client is attached to.
local function buffers_of(client_id)
  local out = {}
  for _, buf in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_loaded(buf) and vim.lsp.buf_is_attached(buf, client_id) then
      table.insert(out, buf)
    end
  end
  return out
end

-- refresh_lenses asks again for the code lenses of every buffer a client
-- is attached to (vim.lsp.codelens.refresh works on the current buffer).
function M.refresh_lenses(client_id)
  for _, buf in ipairs(buffers_of(client_id)) do
    if vim.api.nvim_buf_is_valid(buf) then
      vim.api.nvim_buf_call(buf, function()
        pcall(vim.lsp.codelens.refresh)
      end)
    end
  end
end

local handlers = {
  -- Neovim before 0.10 has no handler for this: without it the counts
  -- would freeze at whatever they were when the buffer was opened.
  ["workspace/codeLens/refresh"] = function(_, _, ctx)
    vim.schedule(function()
      M.refresh_lenses(ctx.client_id)
    end)
    return vim.NIL
  end,
  ["cachelens/status"] = function(_, result)
    M.last_status = result
  end,
}

local function on_attach(client, bufnr)
  local group = vim.api.nvim_create_augroup("cachelens_lenses_" .. bufnr, { clear = true })
  vim.api.nvim_create_autocmd({ "BufEnter", "InsertLeave", "BufWritePost" }, {
    group = group,
    buffer = bufnr,
    callback = function()
      pcall(vim.lsp.codelens.refresh)
    end,
  })
  vim.api.nvim_buf_call(bufnr, function()
    pcall(vim.lsp.codelens.refresh)
  end)
  if M.config.settings.inlayHints ~= false and vim.lsp.inlay_hint and vim.lsp.inlay_hint.enable then
    -- Neovim 0.10 and later.
    pcall(vim.lsp.inlay_hint.enable, true, { bufnr = bufnr })
  end
  if M.config.keymap then
    vim.keymap.set("n", M.config.keymap, function()
      vim.lsp.buf.code_action()
    end, { buffer = bufnr, desc = "cachelens: code actions" })
  end
  if M.config.on_attach then
    M.config.on_attach(client, bufnr)
  end
end

-- start starts (or reuses) the server for a buffer's module and attaches
-- the buffer.
function M.start(bufnr)
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  local fname = vim.api.nvim_buf_get_name(bufnr)
  if fname == "" then
    return nil
  end
  local cmd, hint = M.find_server()
  if not cmd then
    if not M.warned then
      M.warned = true
      notify(hint, vim.log.levels.WARN)
    end
    return nil
  end
  local root = root_dir(fname)
  local id = M.clients[root]
  if id and not vim.lsp.get_client_by_id(id) then
    id = nil
  end
  if not id then
    local capabilities = vim.lsp.protocol.make_client_capabilities()
    capabilities.workspace = capabilities.workspace or {}
    capabilities.workspace.codeLens = { refreshSupport = true }
    id = vim.lsp.start_client({
      name = "cachelens",
      cmd = cmd,
      root_dir = root,
      workspace_folders = { { uri = vim.uri_from_fname(root), name = vim.fn.fnamemodify(root, ":t") } },
      init_options = M.config.settings,
      settings = { cachelens = M.config.settings },
      capabilities = capabilities,
      handlers = handlers,
      on_attach = on_attach,
    })
    if not id then
      notify("could not start " .. table.concat(cmd, " "), vim.log.levels.ERROR)
      return nil
    end
    M.clients[root] = id
  end
  vim.lsp.buf_attach_client(bufnr, id)
  return id
end

-- status returns a line for a statusline: "cachelens: 2 programs".
function M.status()
  local s = M.last_status
  if not s then
    return ""
  end
  if not s.listening then
    return "cachelens: not receiving"
  end
  return string.format("cachelens: %d running", s.running or 0)
end

-- restart stops the servers; they start again for the next Go buffer.
function M.restart()
  for root, id in pairs(M.clients) do
    local client = vim.lsp.get_client_by_id(id)
    if client then
      client.stop()
    end
    M.clients[root] = nil
  end
  vim.defer_fn(function()
    for _, buf in ipairs(vim.api.nvim_list_bufs()) do
      if vim.api.nvim_buf_is_loaded(buf) and vim.tbl_contains(M.config.filetypes, vim.bo[buf].filetype) then
        M.start(buf)
      end
    end
  end, 200)
end

-- reset clears the statistics the server holds.
function M.reset()
  for _, id in pairs(M.clients) do
    local client = vim.lsp.get_client_by_id(id)
    if client then
      client.request("workspace/executeCommand", { command = "cachelens.resetStats" }, function() end)
    end
  end
end

function M.setup(opts)
  M.config = vim.tbl_deep_extend("force", vim.deepcopy(defaults), opts or {})
  local group = vim.api.nvim_create_augroup("cachelens", { clear = true })
  vim.api.nvim_create_autocmd("FileType", {
    group = group,
    pattern = M.config.filetypes,
    callback = function(args)
      M.start(args.buf)
    end,
  })
  vim.api.nvim_create_user_command("CachelensRestart", M.restart, { desc = "Restart the cachelens server" })
  vim.api.nvim_create_user_command("CachelensReset", M.reset, { desc = "Reset cachelens statistics" })
  -- Buffers already open when setup runs.
  for _, buf in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_loaded(buf) and vim.tbl_contains(M.config.filetypes, vim.bo[buf].filetype) then
      M.start(buf)
    end
  end
end

return M
