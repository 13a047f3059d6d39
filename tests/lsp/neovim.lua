-- Neovim's built-in LSP client, headless, drives `converge lsp` on one
-- playbook: it waits for the diagnostics, asks for a hover, and writes what it
-- got to $CONVERGE_OUT. The API used (vim.lsp.start_client, buf_attach_client)
-- is in every Neovim from 0.7 on. tests/lsp/test_neovim.py runs it.
local out = assert(io.open(os.getenv("CONVERGE_OUT"), "w"))
local playbook = os.getenv("CONVERGE_PLAYBOOK")
vim.cmd("edit " .. vim.fn.fnameescape(playbook))
local buf = vim.api.nvim_get_current_buf()
vim.bo[buf].filetype = "goenv"
local id = vim.lsp.start_client({
  name = "converge",
  cmd = { os.getenv("CONVERGE_BIN"), "lsp" },
  root_dir = vim.fn.fnamemodify(playbook, ":h"),
})
vim.lsp.buf_attach_client(buf, id)
vim.wait(20000, function()
  return #vim.diagnostic.get(buf) > 0
end, 20)
for _, d in ipairs(vim.diagnostic.get(buf)) do
  out:write(string.format("diagnostic %d:%d %s\n", d.lnum, d.col, (d.message:gsub("\n", " "))))
end
local hover = vim.lsp.buf_request_sync(buf, "textDocument/hover", {
  textDocument = { uri = vim.uri_from_bufnr(buf) },
  position = { line = 0, character = 3 },
}, 20000)
for _, answer in pairs(hover or {}) do
  if answer.result then
    out:write("hover " .. (answer.result.contents.value:gsub("\n.*", "")) .. "\n")
  end
end
out:close()
vim.lsp.stop_client(id)
vim.wait(20000, function()
  return vim.lsp.get_client_by_id(id) == nil
end, 20)
vim.cmd("qa!")
