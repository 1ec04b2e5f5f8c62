-- Counts every wire message each peer sends us, by type, and the payload
-- bytes of the blocks; every 30 seconds and when a peer leaves it logs the
-- counts (session log alerts, `--set alert_mask=...` or an on_alert
-- reader shows them). It hooks every peer message, so it is also what
-- tests/bench/bench_lua_plugin.py measures.
--
--   cswarm download x.torrent --plugin wire_stats_plugin.lua

local REPORT_MS = 30000

local function count(p, what)
  local c = p.counts
  c[what] = (c[what] or 0) + 1
end

local function report(p, why)
  local parts = {}
  for what, n in pairs(p.counts) do parts[#parts + 1] = what .. "=" .. n end
  table.sort(parts)
  sw.log(string.format("%s %s: %s, %d block bytes", tostring(p), why,
                       table.concat(parts, " "), p.block_bytes))
end

local peer = {
  on_piece = function(p, index, begin, len)
    count(p, "piece")
    p.block_bytes = p.block_bytes + len
  end,
  on_tick = function(p)
    local now = sw.now_ms()
    if now - p.last_report >= REPORT_MS then
      p.last_report = now
      report(p, "so far")
    end
  end,
  on_disconnect = function(p, err, why) report(p, "left (" .. (why or "closed") .. ")") end,
}
-- The other messages only count.
for _, name in ipairs({ "choke", "unchoke", "interested", "not_interested", "have", "bitfield",
                        "have_all", "have_none", "allowed_fast", "suggest", "request", "cancel",
                        "reject", "extended", "unknown_message" }) do
  peer["on_" .. name] = function(p) count(p, name) end
end

return {
  name = "wire_stats",
  version = "1.0",
  torrent = {
    new_connection = function(t, p)
      p.counts, p.block_bytes, p.last_report = {}, 0, sw.now_ms()
      return true
    end,
  },
  peer = peer,
}
