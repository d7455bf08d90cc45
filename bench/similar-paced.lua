-- wrk script: random-seed similar requests (as similar-random.lua) at an offered rate. Each
-- connection waits a random pause between its answer and its next request, exponential with a
-- mean of CONNECTIONS / RATE seconds, so the 200 connections together offer about RATE req/s as
-- independent users would, instead of every connection firing the moment it is answered.
-- TRACKS: the store's size; RATE: offered req/s over all connections; CONNECTIONS: wrk -c.
local tracks = tonumber(os.getenv("TRACKS") or "10000")
local rate = tonumber(os.getenv("RATE") or "20000")
local connections = tonumber(os.getenv("CONNECTIONS") or "200")
local mean_pause_ms = 1000 * connections / rate
math.randomseed(os.time())

local requests = {}
for id = 1, tracks do
  requests[id] = wrk.format("GET", "/v1/tracks/" .. id .. "/similar")
end

request = function()
  return requests[math.random(1, tracks)]
end

delay = function()
  return -mean_pause_ms * math.log(1 - math.random())
end
