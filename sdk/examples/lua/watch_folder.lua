-- Watches a folder and adds every new .torrent file that appears in it,
-- downloading into SAVE_DIR (and seeding afterwards).
--
--   cswarm run watch_folder.lua WATCH_DIR SAVE_DIR [--listen HOST:PORT]
--              [--peer HOST:PORT]... [--interval SECONDS] [--exit-after N]
--              [--set NAME=VALUE]...
--
-- Files are picked up by name once; one that fails to load (still being
-- written, say) is tried again at the next scan. Drop files by writing them
-- under another name and renaming them to *.torrent. With --exit-after N
-- the script ends once N torrents have finished.
local cswarm = require "cswarm"

local function usage()
  io.stderr:write("usage: cswarm run watch_folder.lua WATCH_DIR SAVE_DIR [--listen HOST:PORT]\n",
                  "         [--peer HOST:PORT]... [--interval SECONDS] [--exit-after N]\n",
                  "         [--set NAME=VALUE]...\n")
  os.exit(2)
end

local function setting_value(text)
  if text == "true" then return true elseif text == "false" then return false end
  return math.tointeger(tonumber(text)) or text
end

local opt = { listen = "0.0.0.0:6881", peers = {}, interval = 1.0, settings = {} }
local positional = {}
local i = 1
while i <= #arg do
  local a = arg[i]
  if a == "--listen" then i = i + 1; opt.listen = arg[i] or usage()
  elseif a == "--peer" then i = i + 1; opt.peers[#opt.peers + 1] = arg[i] or usage()
  elseif a == "--interval" then i = i + 1; opt.interval = tonumber(arg[i]) or usage()
  elseif a == "--exit-after" then i = i + 1; opt.exit_after = math.tointeger(tonumber(arg[i])) or usage()
  elseif a == "--set" then
    i = i + 1
    local name, value = (arg[i] or ""):match("^([^=]+)=(.*)$")
    if not name then usage() end
    opt.settings[name] = setting_value(value)
  elseif a:sub(1, 2) == "--" then usage()
  else positional[#positional + 1] = a end
  i = i + 1
end
local watch_dir, save_dir = positional[1], positional[2]
if not watch_dir or not save_dir then usage() end

local function say(...)
  print(string.format(...))
  io.stdout:flush()
end

opt.settings.listen_interfaces = opt.listen
local ses <close> = cswarm.session(opt.settings)

local seen = {}      -- file name -> true once added (or a duplicate)
local names = {}     -- torrent id -> file name
local finished = 0

local function scan()
  local list, err = cswarm.list_dir(watch_dir)
  if not list then
    say("warning: %s", err)
    return
  end
  for _, name in ipairs(list) do
    if name:match("%.torrent$") and not seen[name] then
      local h, msg, code = ses:add_torrent {
        ti = watch_dir .. "/" .. name, save_path = save_dir, peers = opt.peers,
      }
      if h then
        seen[name] = true
        names[h:id()] = name
        say("added %s", name)
      elseif code == cswarm.errors.DUPLICATE_TORRENT then
        seen[name] = true -- the same torrent under another name
        say("skipped %s: %s", name, msg)
      else
        say("not yet %s: %s", name, msg) -- tried again at the next scan
      end
    end
  end
  -- Peers given on the command line are dialled again while a download
  -- has nobody to talk to.
  for _, h in ipairs(ses:torrents()) do
    local st = h:status()
    if not st.is_finished and st.num_peers == 0 and st.state ~= "checking_files" then
      for _, p in ipairs(opt.peers) do h:connect_peer(p) end
    end
  end
end

ses:on("torrent_finished", function(a)
  local name = a.torrent and names[a.torrent:id()] or a.info_hash
  if not name then return end
  names[a.torrent:id()] = nil -- count each torrent once (a recheck finishes again)
  finished = finished + 1
  say("finished %s", name)
  if opt.exit_after and finished >= opt.exit_after then ses:stop() end
end)

say("watching %s on port %d", watch_dir, ses:listen_port())
scan()
ses:every(opt.interval, scan)
ses:run()
return 0
