-- wrk script: random-seed similar requests (similar-random.lua's) at an offered rate. Each
-- connection waits a random pause between its answer and its next request, exponential with a
-- mean of CONNECTIONS / RATE seconds, so the 200 connections together offer about RATE req/s as
-- independent users would, instead of every connection firing the moment it is answered.
-- TRACKS: the store's size; RATE: offered req/s over all connections; CONNECTIONS: wrk -c.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "similar-random.lua")

local rate = tonumber(os.getenv("RATE") or "20000")
local connections = tonumber(os.getenv("CONNECTIONS") or "200")
local mean_pause_ms = 1000 * connections / rate

delay = function()
  return -mean_pause_ms * math.log(1 - math.random())
end
