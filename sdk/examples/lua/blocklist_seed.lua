-- Seeds a torrent behind an IP blocklist: loads a range list (eMule DAT or
-- P2P format, as blocklist sites publish them) into the session's IP
-- filter, says how many rules it read and which lines it skipped, then
-- reports every peer the filter refuses.
--
--   cswarm run blocklist_seed.lua TORRENT DATA_DIR --blocklist FILE
--              [--exit-after-blocked N] [--listen HOST:PORT] [--set NAME=VALUE]...
--
-- With --exit-after-blocked it exits (status 0) once N peers were refused;
-- otherwise it seeds until interrupted.
local cswarm = require "cswarm"

local function usage()
  io.stderr:write("usage: cswarm run blocklist_seed.lua TORRENT DATA_DIR --blocklist FILE\n",
                  "         [--exit-after-blocked N] [--listen HOST:PORT] [--set NAME=VALUE]...\n")
  os.exit(2)
end

local function setting_value(text)
  if text == "true" then return true elseif text == "false" then return false end
  return math.tointeger(tonumber(text)) or text
end

local args = { listen = "0.0.0.0:6881", settings = {} }
local positional = {}
local i = 1
while i <= #arg do
  local a = arg[i]
  if a == "--blocklist" then i = i + 1; args.blocklist = arg[i] or usage()
  elseif a == "--exit-after-blocked" then
    i = i + 1; args.exit_after = math.tointeger(tonumber(arg[i])) or usage()
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
if not torrent or not data_dir or not args.blocklist then usage() end

local f, err = io.open(args.blocklist, "rb")
if not f then error("cannot read the blocklist: " .. err) end
local text = f:read("a")
f:close()

local filter = cswarm.ip_filter()
local r = filter:load(text)
print(string.format("loaded %d rules, %d malformed", r.rules, r.malformed))
if r.malformed > 0 then print(string.format("first malformed line: %d", r.first_bad_line)) end

local settings = args.settings
settings.listen_interfaces = args.listen
local ses <close> = cswarm.session(settings)
-- Set before the torrent is added, so that no peer gets in first.
ses:set_ip_filter(filter)

local reasons = { [0] = "ip_filter", "port_filter", "i2p_mixed", "privileged_ports",
                  "utp_disabled", "tcp_disabled", "invalid_local_interface" }
local blocked = 0
ses:on("peer_blocked", function(a)
  blocked = blocked + 1
  print(string.format("blocked %s:%d (%s)", a.ip or "?", a.port or 0,
                      reasons[a.reason] or tostring(a.reason)))
  io.stdout:flush()
  if args.exit_after and blocked >= args.exit_after then ses:stop() end
end)

local h = assert(ses:add_torrent { ti = torrent, save_path = data_dir })
if not ses:wait_for("torrent_checked", 300) then error("the data check did not finish") end
local st = h:status()
print(string.format("seeding %s on port %d (%s)", st.name, ses:listen_port(),
                    st.is_seeding and "complete" or "incomplete"))
io.stdout:flush()

ses:run()
print(string.format("%d peers blocked", blocked))
return 0
