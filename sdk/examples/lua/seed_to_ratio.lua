-- Seeds a torrent until it has uploaded RATIO times its size, then removes
-- it from the session (the data stays on disk) and exits.
--
--   cswarm run seed_to_ratio.lua TORRENT DATA_DIR [--ratio R] [--listen HOST:PORT]
--                                [--set NAME=VALUE]...
--
-- The ratio is payload uploaded / max(payload downloaded, size), so a seed
-- that started complete counts copies of the whole torrent given away.
local cswarm = require "cswarm"

local function usage()
  io.stderr:write("usage: cswarm run seed_to_ratio.lua TORRENT DATA_DIR [--ratio R]\n",
                  "         [--listen HOST:PORT] [--set NAME=VALUE]...\n")
  os.exit(2)
end

-- "true"/"false" become booleans, numbers integers, the rest strings.
local function setting_value(text)
  if text == "true" then return true elseif text == "false" then return false end
  return math.tointeger(tonumber(text)) or text
end

local args = { ratio = 2.0, listen = "0.0.0.0:6881", settings = {} }
local positional = {}
local i = 1
while i <= #arg do
  local a = arg[i]
  if a == "--ratio" then i = i + 1; args.ratio = tonumber(arg[i]) or usage()
  elseif a == "--listen" then i = i + 1; args.listen = arg[i] or usage()
  elseif a == "--set" then
    i = i + 1
    local name, value = (arg[i] or ""):match("^([^=]+)=(.*)$")
    if not name then usage() end
    args.settings[name] = setting_value(value)
  elseif a:sub(1, 2) == "--" then usage()
  else positional[#positional + 1] = a end
  i = i + 1
end
local torrent, data_dir = positional[1], positional[2]
if not torrent or not data_dir then usage() end

local settings = args.settings
settings.listen_interfaces = args.listen
local ses <close> = cswarm.session(settings)

local h = assert(ses:add_torrent { ti = torrent, save_path = data_dir })
local t = h:torrent_file()
print(string.format("seeding %s (%d bytes) on port %d until ratio %.2f", t.name,
                    t.total_size, ses:listen_port(), args.ratio))
io.stdout:flush()

-- Wait for the check of the data on disk before judging it.
local checked = ses:wait_for("torrent_checked", 300)
if not checked then error("the data check did not finish") end
local st = h:status()
if not st.is_seeding then
  error(string.format("%s is incomplete in %s (%d of %d pieces)", t.name, data_dir,
                      st.num_pieces, st.num_pieces_total))
end

local function ratio(s)
  local base = math.max(s.total_payload_download, s.total_wanted, 1)
  return s.total_payload_upload / base
end

local last_print = -1
ses:every(0.5, function(timer)
  local s = h:status()
  local r = ratio(s)
  if math.floor(r * 10) ~= last_print then
    last_print = math.floor(r * 10)
    print(string.format("ratio %.2f (uploaded %d bytes, %d peers)", r,
                        s.total_payload_upload, s.num_peers))
    io.stdout:flush()
  end
  if r >= args.ratio then
    timer:cancel()
    print(string.format("ratio %.2f reached: removing %s", r, t.name))
    io.stdout:flush()
    ses:remove(h)
  end
end)

ses:on("torrent_removed", function(a)
  print("removed " .. (a.info_hash or "?"))
  io.stdout:flush()
  ses:stop()
end)

ses:run()
-- The handle is dead now: using it raises "invalid or expired handle".
assert(not h:is_valid())
return 0
