-- Sets the session's rate limits by time of day, optionally while seeding
-- or downloading torrents.
--
--   cswarm run bandwidth_schedule.lua --rule HH:MM[:SS]=UP/DOWN ...
--              [--torrent FILE --data DIR]... [--listen HOST:PORT]
--              [--clock HH:MM:SS] [--clock-speed N] [--check-every SECONDS]
--              [--exit-after-changes N] [--set NAME=VALUE]...
--
-- Each rule sets upload_rate_limit/download_rate_limit (bytes per second,
-- with an optional k or m suffix; 0 means unlimited) from its time of day
-- until the next rule's; before the first rule of the day the last one of
-- the day before holds. Example:
--   --rule 08:00=100k/1m --rule 23:00=0/0
--
-- The clock is injectable, for trying a schedule out (or testing it):
-- --clock HH:MM:SS starts the day's clock at that time when the schedule
-- starts, instead of using the local time, and --clock-speed N runs it N times
-- faster.
local cswarm = require "cswarm"

local function usage(msg)
  if msg then io.stderr:write("bandwidth_schedule: ", msg, "\n") end
  io.stderr:write("usage: cswarm run bandwidth_schedule.lua --rule HH:MM[:SS]=UP/DOWN ...\n",
                  "         [--torrent FILE --data DIR]... [--listen HOST:PORT] [--clock HH:MM:SS]\n",
                  "         [--clock-speed N] [--check-every SECONDS] [--exit-after-changes N]\n",
                  "         [--set NAME=VALUE]...\n")
  os.exit(2)
end

local function setting_value(text)
  if text == "true" then return true elseif text == "false" then return false end
  return math.tointeger(tonumber(text)) or text
end

-- "07:30" or "07:30:15" -> seconds since midnight
local function parse_time(text)
  local h, m, s = (text or ""):match("^(%d%d?):(%d%d):?(%d*)$")
  if not h then return nil end
  h, m, s = tonumber(h), tonumber(m), tonumber(s) or 0
  if h > 23 or m > 59 or s > 59 then return nil end
  return h * 3600 + m * 60 + s
end

local function parse_rate(text)
  local n, unit = (text or ""):lower():match("^(%d+)([km]?)$")
  if not n then return nil end
  local mult = ({ [""] = 1, k = 1024, m = 1024 * 1024 })[unit]
  return math.tointeger(tonumber(n) * mult)
end

local function fmt_time(secs)
  secs = math.floor(secs) % 86400
  return string.format("%02d:%02d:%02d", secs // 3600, secs // 60 % 60, secs % 60)
end

local opt = { rules = {}, torrents = {}, listen = "0.0.0.0:6881", speed = 1.0, every = 0.25,
              settings = {} }
local i = 1
while i <= #arg do
  local a = arg[i]
  local v = arg[i + 1]
  if a == "--rule" then
    local at, up, down = (v or ""):match("^([%d:]+)=(%w+)/(%w+)$")
    local rule = { at = parse_time(at), up = parse_rate(up), down = parse_rate(down), text = v }
    if not (rule.at and rule.up and rule.down) then usage("bad rule " .. tostring(v)) end
    opt.rules[#opt.rules + 1] = rule
  elseif a == "--torrent" then opt.torrents[#opt.torrents + 1] = { file = v }
  elseif a == "--data" then
    if #opt.torrents == 0 then usage("--data follows a --torrent") end
    opt.torrents[#opt.torrents].data = v
  elseif a == "--listen" then opt.listen = v
  elseif a == "--clock" then opt.clock = parse_time(v) or usage("bad --clock " .. tostring(v))
  elseif a == "--clock-speed" then opt.speed = tonumber(v) or usage("bad --clock-speed")
  elseif a == "--check-every" then opt.every = tonumber(v) or usage("bad --check-every")
  elseif a == "--exit-after-changes" then opt.exit_after = math.tointeger(tonumber(v)) or usage()
  elseif a == "--set" then
    local name, value = (v or ""):match("^([^=]+)=(.*)$")
    if not name then usage("bad --set") end
    opt.settings[name] = setting_value(value)
  else
    usage("unknown argument " .. a)
  end
  if v == nil then usage(a .. " needs a value") end
  i = i + 2
end
if #opt.rules == 0 then usage("no --rule") end
table.sort(opt.rules, function(x, y) return x.at < y.at end)

-- The time of day in seconds: injected (starting when the schedule does)
-- or local.
local started
local function time_of_day()
  if opt.clock then
    return (opt.clock + (cswarm.now() - started) * opt.speed) % 86400
  end
  local t = os.date("*t")
  return t.hour * 3600 + t.min * 60 + t.sec
end

local function rule_at(tod)
  local current = opt.rules[#opt.rules] -- from yesterday's last rule
  for _, r in ipairs(opt.rules) do
    if r.at <= tod then current = r end
  end
  return current
end

opt.settings.listen_interfaces = opt.listen
local ses <close> = cswarm.session(opt.settings)
for _, t in ipairs(opt.torrents) do
  assert(ses:add_torrent { ti = t.file, save_path = t.data or "." })
end

local applied, changes = nil, 0
local function check()
  local tod = time_of_day()
  local r = rule_at(tod)
  if r == applied then return end
  applied = r
  ses:apply_settings { upload_rate_limit = r.up, download_rate_limit = r.down }
  -- Read the limits back from the session, to report what is in force.
  local s = ses:settings()
  changes = changes + 1
  print(string.format("%s rule %s: upload_rate_limit=%d download_rate_limit=%d", fmt_time(tod),
                      fmt_time(r.at), s.upload_rate_limit, s.download_rate_limit))
  io.stdout:flush()
  if opt.exit_after and changes >= opt.exit_after then ses:stop() end
end

started = cswarm.now()
check()
ses:every(opt.every, check)
ses:run()
return 0
