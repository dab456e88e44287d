-- wrk script of ./shop bench's flood row: POSTs one-line orders of one random
-- SKU (qty 1) from the SKU file given after "--", and counts the answers by
-- status over all threads (202 accepted, 503 shed, anything else other).
-- Usage: wrk -t2 -c64 -d8s -s flood.lua http://HOST:PORT -- SKUS-FILE

local threads = {}

function setup(thread)
	table.insert(threads, thread)
	thread:set("id", #threads)
end

function init(args)
	skus = {}
	local f = args[1] and io.open(args[1], "r")
	if f then
		for line in f:lines() do
			if line ~= "" then table.insert(skus, line) end
		end
		f:close()
	end
	if #skus == 0 then skus = { "BENCH-00" } end
	accepted, shed, other = 0, 0, 0
	math.randomseed(os.time() * 100 + id)
	wrk.method = "POST"
	wrk.headers["Content-Type"] = "application/json"
end

function request()
	local body = '{"items":[{"sku":"' .. skus[math.random(#skus)] .. '","qty":1}]}'
	return wrk.format(nil, "/api/v1/orders", nil, body)
end

function response(status, headers, body)
	if status == 202 then
		accepted = accepted + 1
	elseif status == 503 then
		shed = shed + 1
	else
		other = other + 1
	end
end

-- One machine-readable line, after wrk's own report.
function done(summary, latency, requests)
	local a, s, o = 0, 0, 0
	for _, t in ipairs(threads) do
		a = a + t:get("accepted")
		s = s + t:get("shed")
		o = o + t:get("other")
	end
	io.write(string.format("flood accepted=%d shed=%d other=%d requests=%d errors=%d duration_us=%d\n",
		a, s, o, summary.requests,
		summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
		summary.duration))
end
