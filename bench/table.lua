-- Reads "cnn|torch <tab> group <tab> case <tab> threads <tab> seconds <tab> gflops <tab> extra"
-- lines and prints a markdown table per group with the ratio of our time to PyTorch's. When a
-- case comes several times (repeated runs), each side shows its median run (the lower middle
-- one for an even count) and the ratio is of the medians.
local rows, order, groups = {}, {}, {}
for line in io.lines() do
  local who, g, c, th, s, gf, extra = line:match("^(%w+)\t([^\t]*)\t([^\t]*)\t(%d+)\t([^\t]*)\t([^\t]*)\t?(.*)$")
  if who then
    local key = g .. "\0" .. c .. "\0" .. th
    if not rows[key] then
      rows[key] = { group = g, case = c, threads = th }
      order[#order + 1] = key
      if not groups[g] then groups[g] = true; groups[#groups + 1] = g end
    end
    rows[key][who] = rows[key][who] or {}
    table.insert(rows[key][who], { s = tonumber(s), gf = gf, extra = extra })
  end
end
local function median(runs)
  if not runs then return nil end
  table.sort(runs, function(x, y) return x.s < y.s end)
  return runs[(#runs + 1) // 2]
end
-- our note, and PyTorch's when it has one (e.g. its peak RSS)
local function notes(a, b)
  local n = a and a.extra or ""
  if b and b.extra ~= "" then n = n .. (n ~= "" and "; " or "") .. "PyTorch: " .. b.extra end
  return n
end
for _, g in ipairs(groups) do
  print("### " .. g)
  print("| case | threads | cnn ms | GFLOP/s | PyTorch ms | GFLOP/s | cnn/PyTorch | notes |")
  print("|---|---|---|---|---|---|---|---|")
  for _, key in ipairs(order) do
    local r = rows[key]
    if r.group == g then
      local a, b = median(r.cnn), median(r.torch)
      local ratio = (a and b) and string.format("%.2f", a.s / b.s) or "-"
      print(string.format("| %s | %s | %s | %s | %s | %s | %s | %s |", r.case, r.threads,
        a and string.format("%.3f", a.s * 1e3) or "-", a and a.gf or "-",
        b and string.format("%.3f", b.s * 1e3) or "-", b and b.gf or "-", ratio, notes(a, b)))
    end
  end
  print()
end
