-- A small Lua plugin showing the three levels: it speaks an extension of
-- its own ("x_hello": each side says hello once the BEP 10 handshakes are
-- done), drops peers whose client is on a list, and raises an alert when
-- a piece fails its hash check.
--
--   cswarm download x.torrent --plugin hello_plugin.lua
--
-- Whatever comes from a peer is untrusted: check types before using
-- values, or a malicious peer can make the script raise (which disables
-- the plugin).

local BLOCKED = { ["BadClient"] = true } -- first word of the client name

return {
  name = "hello",
  version = "1.0",
  extensions = { "x_hello" },

  session = {
    added = function() sw.log("hello plugin loaded from " .. sw.path) end,
    -- Not for private torrents (returning false leaves the torrent alone).
    new_torrent = function(t) return not t:is_private() end,
  },

  torrent = {
    on_piece_failed = function(t, piece)
      t:alert("piece " .. piece .. " of " .. t:name() .. " failed its hash check")
    end,
  },

  peer = {
    on_extension_handshake = function(p, hs)
      local client = type(hs.v) == "string" and hs.v or p:client()
      if BLOCKED[client:match("^(%S+)") or ""] then
        p:disconnect("blocked client " .. client)
        return
      end
      local id = type(hs.m) == "table" and hs.m.x_hello
      if math.type(id) == "integer" and id > 0 and id < 256 then
        p:send_extended(id, sw.bencode({ msg = "hello", from = "cswarm" }))
      end
    end,
    on_extended = function(p, id, payload)
      if id ~= sw.extension_id("x_hello") then return false end -- not ours
      local m = sw.bdecode(payload)
      if type(m) == "table" and type(m.msg) == "string" then
        sw.log(p:address() .. " says " .. m.msg)
      end
      return true -- claimed: nobody else needs to see it
    end,
  },
}
