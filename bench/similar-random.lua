-- wrk script: every request asks for the neighbours of a random track of the store, so the
-- benchmark measures searches, not one answer served again. TRACKS: the store's size.
-- The requests are formatted once, before the run: formatting one per call cost wrk as much
-- CPU as the server's search, on the same cores.
local tracks = tonumber(os.getenv("TRACKS") or "10000")
math.randomseed(os.time())

local requests = {}
for id = 1, tracks do
  requests[id] = wrk.format("GET", "/v1/tracks/" .. id .. "/similar")
end

request = function()
  return requests[math.random(1, tracks)]
end
