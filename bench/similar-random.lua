-- wrk script: every request asks for the neighbours of a random track of the store, so the
-- benchmark measures searches, not one answer served again. TRACKS: the store's size.
local tracks = tonumber(os.getenv("TRACKS") or "10000")
math.randomseed(os.time())

request = function()
  return wrk.format("GET", "/v1/tracks/" .. math.random(1, tracks) .. "/similar")
end
