-- Publishes a text in the DHT as a BEP 44 item, or fetches one.
--
--   cswarm run dht_item.lua put TEXT [--key SEED_HEX [--salt S] [--seq N]] [--stay SECONDS]
--   cswarm run dht_item.lua get TARGET_HEX
--   cswarm run dht_item.lua get --key PUBLIC_KEY_HEX [--salt S]
--     [--dht-node HOST:PORT]... [--listen HOST:PORT] [--set NAME=VALUE]...
--
-- Without --key the item is immutable: its target (the SHA-1 of the value)
-- is printed and names it. With --key (a 32-byte Ed25519 seed in hex) it is
-- a mutable item signed with that key: the public key is printed and names
-- it with the salt, and a later put with the same key replaces it (--seq,
-- default one more than the newest in the DHT). The text is stored as a
-- bencoded string. --dht-node names nodes to start from (several may be
-- given; with none the routers of dht_bootstrap_nodes are used). --stay
-- keeps the node running after a put, so it serves the DHT meanwhile.
-- Exit status: 0, or 1 when a put reached no node or a get found nothing.
local cswarm = require "cswarm"

local function usage()
  io.stderr:write("usage: cswarm run dht_item.lua put TEXT [--key SEED_HEX [--salt S] [--seq N]]\n",
                  "         [--stay SECONDS] | get TARGET_HEX | get --key PUBLIC_KEY_HEX [--salt S]\n",
                  "         [--dht-node HOST:PORT]... [--listen HOST:PORT] [--set NAME=VALUE]...\n")
  os.exit(2)
end

local function setting_value(text)
  if text == "true" then return true elseif text == "false" then return false end
  return math.tointeger(tonumber(text)) or text
end

local args = { listen = "0.0.0.0:6881", settings = {}, nodes = {}, stay = 0 }
local positional = {}
local i = 1
while i <= #arg do
  local a = arg[i]
  if a == "--key" then i = i + 1; args.key = arg[i] or usage()
  elseif a == "--salt" then i = i + 1; args.salt = arg[i] or usage()
  elseif a == "--seq" then i = i + 1; args.seq = math.tointeger(tonumber(arg[i])) or usage()
  elseif a == "--stay" then i = i + 1; args.stay = tonumber(arg[i]) or usage()
  elseif a == "--dht-node" then i = i + 1; args.nodes[#args.nodes + 1] = arg[i] or usage()
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
local command = positional[1]
if command == "put" and not positional[2] then usage() end
if command == "get" and not positional[2] == not args.key then usage() end
if command ~= "put" and command ~= "get" then usage() end

local settings = args.settings
settings.listen_interfaces = args.listen
settings.start_default_features = false -- the DHT is started below, nothing else
settings.alert_mask = "error,dht"
local ses <close> = cswarm.session(settings)
assert(ses:start_dht())
for _, node in ipairs(args.nodes) do ses:add_dht_node(node) end

-- Items go to the nodes nearest their target, so wait for some nodes first.
local deadline = cswarm.now() + 30
while ses:status().dht.nodes == 0 do
  if cswarm.now() > deadline then error("no DHT node answered") end
  cswarm.sleep(0.1)
end

local function flush(...) print(...); io.stdout:flush() end

if command == "put" then
  local text = positional[2]
  local value = #text .. ":" .. text
  local put
  if args.key then
    flush("public key " .. cswarm.dht_public_key(args.key))
    assert(ses:dht_put_mutable { private_key = args.key, salt = args.salt, value = value,
                                 seq = args.seq })
  else
    flush("target " .. assert(ses:dht_put_immutable(value)))
  end
  put = ses:wait_for("dht_put", 60)
  if not put or put.error then error("put failed: " .. (put and put.message or "timed out")) end
  -- A mutable put reports the seq it stored (without --seq: the highest
  -- found + 1); an immutable one has none.
  flush(string.format("stored on %d nodes%s", put.num_success,
                      (put.seq or -1) >= 0 and string.format(" (seq %d)", put.seq) or ""))
  if args.stay > 0 then cswarm.sleep(args.stay) end
  return put.num_success > 0 and 0 or 1
end

if args.key then
  assert(ses:dht_get_mutable(args.key, args.salt))
else
  assert(ses:dht_get_immutable(positional[2]))
end
local item = ses:wait_for(args.key and "dht_mutable_item" or "dht_immutable_item", 60)
if not item then error("the lookup did not finish") end
if not item.value then
  flush("not found")
  return 1
end
-- A bencoded string is printed as its text, anything else as it is.
local len, rest = item.value:match("^(%d+):(.*)$")
local text = (len and #rest == tonumber(len)) and rest or item.value
if item.seq then flush(string.format("seq %d", item.seq)) end
flush("value " .. text)
return 0
