-- ut_pex (BEP 11) as a Lua plugin: the same behaviour as cswarm's C plugin
-- (plugins/ut_pex), written against the Lua plugin API only. Load it in
-- place of the built-in one:
--
--   cswarm download x.torrent --no-default-plugins --plugin ut_pex_plugin.lua
--
-- Sending: once a tick, each peer that speaks ut_pex and was last told
-- something a minute ago or more (or never) gets the changes since: the
-- connected peers whose listen address is known (minus itself) that it was
-- not told yet ("added", with flags: 0x02 seed or upload-only, 0x04 uTP,
-- 0x10 reachable for connections we opened) and those it was told that are
-- gone ("dropped"). The first message carries up to 200 contacts, later
-- ones at most 50 per list. Nothing is sent when nothing changed.
--
-- Receiving: added contacts (IPv4 and IPv6, port 0 skipped) join the
-- torrent's known peers with source PEX, at most 400 per peer per minute.
-- Dropped contacts are not acted on. A malformed message closes the
-- connection.
--
-- Never for private torrents (BEP 27).

local INTERVAL_MS = 60000
local FIRST_MAX = 200
local LATER_MAX = 50
local RECV_BUDGET = 400 -- contacts accepted per peer per interval
local MAX_PARSED = 200 -- contacts read from one message, per list

local F_SEED, F_UTP, F_REACHABLE = 0x02, 0x04, 0x10

local our_id = 0

-- ---- addresses <-> compact form ----

local function pack_v4(addr)
  local a, b, c, d = addr:match("^(%d+)%.(%d+)%.(%d+)%.(%d+)$")
  if not a then return nil end
  return string.char(tonumber(a), tonumber(b), tonumber(c), tonumber(d))
end

local function pack_v6(addr)
  local head, tail = addr:match("^(.-)::(.*)$")
  local function groups(s)
    local out = {}
    if s == "" then return out end
    for g in s:gmatch("[^:]+") do
      local v = tonumber(g, 16)
      if not v or #g > 4 then return nil end
      out[#out + 1] = v
    end
    return out
  end
  local hs, ts
  if head then
    hs, ts = groups(head), groups(tail)
  else
    hs, ts = groups(addr), {}
  end
  if not hs or not ts then return nil end
  local missing = 8 - #hs - #ts
  if missing < 0 or (not head and missing ~= 0) then return nil end
  local all = {}
  for _, v in ipairs(hs) do all[#all + 1] = v end
  for _ = 1, missing do all[#all + 1] = 0 end
  for _, v in ipairs(ts) do all[#all + 1] = v end
  return string.pack(">I2I2I2I2I2I2I2I2", table.unpack(all))
end

local function unpack_v4(s, i)
  local a, b, c, d, port = string.unpack(">BBBBI2", s, i)
  return string.format("%d.%d.%d.%d", a, b, c, d), port
end

local function unpack_v6(s, i)
  local g = { string.unpack(">I2I2I2I2I2I2I2I2I2", s, i) }
  local parts = {}
  for k = 1, 8 do parts[k] = string.format("%x", g[k]) end
  return table.concat(parts, ":"), g[9]
end

local function key(addr, port)
  return addr .. "|" .. port
end

-- ---- the snapshot of connected peers ----

local function contact_flags(f)
  local out = 0
  if f & (sw.PEER_SEED | sw.PEER_UPLOAD_ONLY) ~= 0 then out = out | F_SEED end
  if f & sw.PEER_UTP ~= 0 then out = out | F_UTP end
  if f & sw.PEER_OUTGOING ~= 0 then out = out | F_REACHABLE end
  return out
end

-- The connected peers whose listen address is known, without duplicates.
local function take_snapshot(t)
  local snap, seen = {}, {}
  for _, info in ipairs(t:peers()) do
    if info.listen_address then
      local k = key(info.listen_address, info.listen_port)
      if not seen[k] then
        seen[k] = true
        snap[#snap + 1] = {
          key = k, address = info.listen_address, port = info.listen_port,
          flags = contact_flags(info.flags), id = info.id,
        }
      end
    end
  end
  return snap, seen
end

-- Whether contact c is the recipient itself (by peer id, or by address
-- when it has another connection to us).
local function is_recipient(p, c)
  if c.id == p:id() then return true end
  local addr, port = p:endpoint()
  if addr and key(addr, port) == c.key then return true end
  local laddr, lport = p:listen_endpoint()
  return laddr ~= nil and key(laddr, lport) == c.key
end

local function build_message(added, dropped)
  local msg = {}
  local function add_list(list, with_flags, name4, name6)
    local v4, f4, v6, f6 = {}, {}, {}, {}
    for _, c in ipairs(list) do
      local b = pack_v4(c.address)
      if b then
        v4[#v4 + 1] = b .. string.pack(">I2", c.port)
        f4[#f4 + 1] = string.char(c.flags or 0)
      else
        b = pack_v6(c.address)
        if b then
          v6[#v6 + 1] = b .. string.pack(">I2", c.port)
          f6[#f6 + 1] = string.char(c.flags or 0)
        end
      end
    end
    if #v4 > 0 then
      msg[name4] = table.concat(v4)
      if with_flags then msg[name4 .. ".f"] = table.concat(f4) end
    end
    if #v6 > 0 then
      msg[name6] = table.concat(v6)
      if with_flags then msg[name6 .. ".f"] = table.concat(f6) end
    end
  end
  add_list(added, true, "added", "added6")
  add_list(dropped, false, "dropped", "dropped6")
  return sw.bencode(msg)
end

-- Sends p what changed since it was last told, within the limits.
local function update_peer(p, snap, in_snap, now)
  local max = p.sent_any and LATER_MAX or FIRST_MAX
  local added, dropped = {}, {}
  for _, c in ipairs(snap) do
    if #added >= max then break end
    if not p.told_set[c.key] and not is_recipient(p, c) then added[#added + 1] = c end
  end
  for _, c in ipairs(p.told) do
    if #dropped >= LATER_MAX then break end
    if not in_snap[c.key] then dropped[#dropped + 1] = c end
  end
  if #added == 0 and #dropped == 0 then return end
  local ok, err = p:send_extended(p.remote_id, build_message(added, dropped))
  if not ok then
    if err then sw.log("ut_pex: cannot send: " .. err) end
    return
  end
  p.sent_any = true
  p.last_sent = now
  -- What it was told: the old set minus the dropped, plus the added.
  local gone = {}
  for _, c in ipairs(dropped) do gone[c.key] = true end
  local kept = {}
  for _, c in ipairs(p.told) do
    if gone[c.key] then p.told_set[c.key] = nil else kept[#kept + 1] = c end
  end
  for _, c in ipairs(added) do
    kept[#kept + 1] = { key = c.key, address = c.address, port = c.port }
    p.told_set[c.key] = true
  end
  p.told = kept
end

local function due(p, now)
  return p.remote_id and (not p.sent_any or now - p.last_sent >= INTERVAL_MS)
end

-- ---- receiving ----

-- Reads one compact list of a parsed message into out (at most
-- MAX_PARSED in all); false if it is malformed.
local function read_list(msg, name, v6, out)
  local s = msg[name]
  if s == nil then return true end
  local size = v6 and 18 or 6
  if type(s) ~= "string" or #s % size ~= 0 then return false end
  for i = 1, #s, size do
    if #out >= MAX_PARSED then break end
    local addr, port
    if v6 then addr, port = unpack_v6(s, i) else addr, port = unpack_v4(s, i) end
    if port ~= 0 then out[#out + 1] = { address = addr, port = port } end
  end
  return true
end

local function on_extended(p, id, payload)
  if id ~= our_id then return false end
  local msg = sw.bdecode(payload)
  local added, dropped = {}, {}
  local ok = type(msg) == "table"
    and read_list(msg, "added", false, added) and read_list(msg, "added6", true, added)
    and read_list(msg, "dropped", false, dropped) and read_list(msg, "dropped6", true, dropped)
  if not ok then
    p:disconnect("malformed ut_pex message")
    return true
  end
  local now = sw.now_ms()
  if now - p.budget_start >= INTERVAL_MS then
    p.budget_start = now
    p.budget_used = 0
  end
  local t = p.t
  for _, c in ipairs(added) do
    if p.budget_used >= RECV_BUDGET then break end
    t:add_peer(c.address, c.port, sw.SRC_PEX)
    p.budget_used = p.budget_used + 1
  end
  return true
end

-- ---- the plugin ----

return {
  name = "ut_pex_lua",
  version = "1.0",
  extensions = { "ut_pex" },

  session = {
    added = function()
      our_id = sw.extension_id("ut_pex")
      if our_id <= 0 then error("no extension id for ut_pex") end
    end,
    new_torrent = function(t)
      if t:is_private() then return false end
      t.pex_peers = {}
      return true
    end,
  },

  torrent = {
    new_connection = function(t, p)
      if t:is_private() then return false end
      p.t = t
      p.told, p.told_set = {}, {}
      p.sent_any, p.last_sent = false, 0
      p.budget_start, p.budget_used = 0, 0
      t.pex_peers[p] = true
      return true
    end,
    on_tick = function(t)
      local now = sw.now_ms()
      local any = false
      for p in pairs(t.pex_peers) do
        if due(p, now) then any = true break end
      end
      if not any then return end
      local snap, in_snap = take_snapshot(t)
      for p in pairs(t.pex_peers) do
        if due(p, now) then update_peer(p, snap, in_snap, now) end
      end
    end,
  },

  peer = {
    on_extension_handshake = function(p, d)
      local id = type(d.m) == "table" and d.m.ut_pex
      if math.type(id) == "integer" and id > 0 and id <= 255 then
        p.remote_id = id
      else
        p.remote_id = nil
      end
    end,
    on_extended = on_extended,
    destroy = function(p)
      if p.t then p.t.pex_peers[p] = nil end
    end,
  },
}
