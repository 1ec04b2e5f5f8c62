-- Downloads a torrent, then hashes every piece on disk again (a forced
-- recheck) and reports whether all of them are good.
--
--   cswarm run download_verify.lua SOURCE SAVE_DIR [--peer HOST:PORT]...
--              [--listen HOST:PORT] [--timeout SECONDS] [--check-only]
--              [--set NAME=VALUE]...
--
-- SOURCE is a .torrent file, a magnet link or an http(s) URL of a .torrent.
-- With --check-only nothing is downloaded: the data already in SAVE_DIR is
-- checked. Exits 0 when every piece verifies, 1 otherwise.
local cswarm = require "cswarm"

local function usage()
  io.stderr:write("usage: cswarm run download_verify.lua SOURCE SAVE_DIR [--peer HOST:PORT]...\n",
                  "         [--listen HOST:PORT] [--timeout SECONDS] [--check-only]\n",
                  "         [--set NAME=VALUE]...\n")
  os.exit(2)
end

local function setting_value(text)
  if text == "true" then return true elseif text == "false" then return false end
  return math.tointeger(tonumber(text)) or text
end

local opt = { peers = {}, listen = "0.0.0.0:6881", timeout = 600, settings = {} }
local positional = {}
local i = 1
while i <= #arg do
  local a = arg[i]
  if a == "--peer" then i = i + 1; opt.peers[#opt.peers + 1] = arg[i] or usage()
  elseif a == "--listen" then i = i + 1; opt.listen = arg[i] or usage()
  elseif a == "--timeout" then i = i + 1; opt.timeout = tonumber(arg[i]) or usage()
  elseif a == "--check-only" then opt.check_only = true
  elseif a == "--set" then
    i = i + 1
    local name, value = (arg[i] or ""):match("^([^=]+)=(.*)$")
    if not name then usage() end
    opt.settings[name] = setting_value(value)
  elseif a:sub(1, 2) == "--" then usage()
  else positional[#positional + 1] = a end
  i = i + 1
end
local source, save_dir = positional[1], positional[2]
if not source or not save_dir then usage() end

local function say(...)
  print(string.format(...))
  io.stdout:flush()
end

opt.settings.listen_interfaces = opt.listen
local ses <close> = cswarm.session(opt.settings)

local params = { save_path = save_dir, peers = opt.peers, upload_mode = opt.check_only }
if source:match("^magnet:") then params.magnet = source
elseif source:match("^https?://") then params.url = source
else params.ti = source end
local h, err = ses:add_torrent(params)
if not h then
  io.stderr:write("download_verify: ", err, "\n")
  os.exit(1)
end

local deadline = cswarm.now() + opt.timeout
local function left() return math.max(0, deadline - cswarm.now()) end

-- Anything that stops the torrent ends the run with its message.
ses:on("torrent_error", function(a) error("torrent error: " .. a.message) end)

if opt.check_only then
  if not ses:wait_for("torrent_checked", left()) then error("the check timed out") end
else
  -- Peers are dialled again every few seconds until the download ends.
  local redial = ses:every(3, function()
    if h:status().num_peers == 0 then
      for _, p in ipairs(opt.peers) do h:connect_peer(p) end
    end
  end)
  if not ses:wait_for("torrent_finished", left()) then
    local st = h:status()
    error(string.format("download timed out at %d of %d pieces", st.num_pieces,
                        st.num_pieces_total))
  end
  redial:cancel()
  local st = h:status()
  say("downloaded %s: %d bytes", st.name, st.total_wanted_done)
  -- Recheck: forget what is known and hash the files again.
  h:force_recheck()
  if not ses:wait_for("torrent_checked", left()) then error("the recheck timed out") end
end

local st = h:status()
if st.num_pieces == st.num_pieces_total and st.num_pieces_total > 0 then
  say("verified %d/%d pieces of %s", st.num_pieces, st.num_pieces_total, st.name)
  return 0
end
say("FAILED: %d/%d pieces of %s verify", st.num_pieces, st.num_pieces_total, st.name)
return 1
