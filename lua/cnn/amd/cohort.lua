-- The cohort layer's reader and bookkeeping: cnn.amd.cohort.load (the folder layout of
-- docs/amd.md, from the simulator or a real cohort, validated line by line), the label rule
-- (cnn.amd.label), the times to late AMD, the label matrix, the split by subject and Table 1.
-- Spec: spec/amd_cohort_spec.lua.
local cnn = require "cnn"
local A = require "cnn.nn.argcheck"
local C = {}

-- ---------------------------------------------------------------- small CSV reading
-- the fields of one line: commas, with "quoted" fields ("" inside quotes is a quote)
local function fields(line)
  if not line:find('"', 1, true) then
    local out = {}
    for f in (line .. ","):gmatch("([^,]*),") do out[#out + 1] = f end
    return out
  end
  local out, i, n = {}, 1, #line
  while i <= n + 1 do
    if line:sub(i, i) == '"' then
      local buf, j = {}, i + 1
      while j <= n do
        local ch = line:sub(j, j)
        if ch == '"' then
          if line:sub(j + 1, j + 1) == '"' then buf[#buf + 1] = '"'; j = j + 2 else break end
        else buf[#buf + 1] = ch; j = j + 1 end
      end
      out[#out + 1] = table.concat(buf)
      i = j + 2                                  -- past the closing quote and the comma
    else
      local j = line:find(",", i, true) or n + 1
      out[#out + 1] = line:sub(i, j - 1)
      i = j + 1
    end
  end
  return out
end

local FN = "cnn.amd.cohort.load"
local function fail(path, line, msg)
  if line then A.error(("%s: %s:%d: %s"):format(FN, path, line, msg)) end
  A.error(("%s: %s: %s"):format(FN, path, msg))
end

-- rows of a CSV file with the required columns: { {line = n, <name> = field, ...}, ... }
local function read_table(path, required)
  local f = io.open(path, "rb")
  if not f then fail(path, nil, "cannot open the file") end
  local text = f:read("a"); f:close()
  local lines, rows, idx = {}, {}, {}
  for l in (text:gsub("\r\n", "\n") .. (text:sub(-1) == "\n" and "" or "\n")):gmatch("([^\n]*)\n") do lines[#lines + 1] = l end
  if #lines == 0 or lines[1] == "" then fail(path, 1, "empty file, expected the header " .. table.concat(required, ",")) end
  local head = fields(lines[1])
  for j, name in ipairs(head) do idx[name:match("^%s*(.-)%s*$")] = j end
  for _, name in ipairs(required) do
    if not idx[name] then fail(path, 1, ("missing column '%s' (expected the header %s)"):format(name, table.concat(required, ","))) end
  end
  for i = 2, #lines do
    local l = lines[i]
    if l:match("%S") then
      local fs = fields(l)
      if #fs ~= #head then fail(path, i, ("%d fields, expected %d like the header"):format(#fs, #head)) end
      local row = { line = i }
      for _, name in ipairs(required) do
        local x = fs[idx[name]]
        if x:find("^%s") or x:find("%s$") then x = x:match("^%s*(.-)%s*$") end
        row[name] = x
      end
      rows[#rows + 1] = row
    end
  end
  return rows
end

local function exists(path)
  local f = io.open(path, "rb")
  if f then f:close() end
  return f ~= nil
end

local function join(dir, name)
  if dir == nil or dir == "" or name:sub(1, 1) == "/" then return name end
  return (dir:sub(-1) == "/" and dir or dir .. "/") .. name
end

local function missing(v) return v == "" or v == "NA" or v == "na" or v == "." end

-- ---------------------------------------------------------------- the loader
local SMOKING = { never = true, former = true, current = true }

local function read_subjects(path)
  local rows = read_table(path, { "subject", "age", "sex", "smoking" })
  local map, ids, first = {}, {}, {}
  for _, r in ipairs(rows) do
    local id = r.subject
    if id == "" then fail(path, r.line, "empty subject id") end
    if first[id] then fail(path, r.line, ("subject %s appears twice (first at line %d)"):format(id, first[id])) end
    first[id] = r.line
    local age
    if not missing(r.age) then
      age = tonumber(r.age)
      if not age or age ~= age or age < 0 or age > 130 then fail(path, r.line, ("age '%s': expected a number of years"):format(r.age)) end
    end
    local sex = not missing(r.sex) and r.sex or nil
    if sex and sex ~= "F" and sex ~= "M" then fail(path, r.line, ("sex '%s': expected F or M"):format(r.sex)) end
    local smk = not missing(r.smoking) and r.smoking or nil
    if smk and not SMOKING[smk] then fail(path, r.line, ("smoking '%s': expected never, former or current"):format(r.smoking)) end
    map[id] = { id = id, age = age, sex = sex, smoking = smk, line = r.line }
    ids[#ids + 1] = id
  end
  return map, ids
end

local function read_visits(path, subjects, subjects_path, base, check_images)
  local rows = read_table(path, { "subject", "eye", "visit_years", "image", "severity", "late" })
  local visits, eyes = {}, {}
  for _, r in ipairs(rows) do
    local where = r.line
    if not subjects[r.subject] then fail(path, where, ("subject '%s' is not in %s"):format(r.subject, subjects_path)) end
    if r.eye ~= "L" and r.eye ~= "R" then fail(path, where, ("unknown eye code '%s' (expected L or R)"):format(r.eye)) end
    local years = tonumber(r.visit_years)
    if not years or years ~= years or years < 0 or years == math.huge then
      fail(path, where, ("visit_years '%s': expected a number of years >= 0"):format(r.visit_years))
    end
    local sev = math.tointeger(tonumber(r.severity))
    if not sev or sev < 1 or sev > 12 then
      fail(path, where, ("severity '%s' out of range (expected an integer 1..12: 1-9 the AREDS steps, 10-12 late)"):format(r.severity))
    end
    if r.late ~= "0" and r.late ~= "1" then fail(path, where, ("late '%s': expected 0 or 1"):format(r.late)) end
    local late = r.late == "1"
    if late ~= (sev >= 10) then
      fail(path, where, ("late %s with severity %d (late is 1 exactly when severity >= 10)"):format(r.late, sev))
    end
    if r.image == "" then fail(path, where, "empty image path") end
    local image = join(base, r.image)
    if check_images and not exists(image) then fail(path, where, ("image file '%s' not found"):format(image)) end
    local key = r.subject .. "\0" .. r.eye
    local eye = eyes[key]
    if eye then
      if years == eye.years then
        fail(path, where, ("duplicate visit: %s %s at %s years is already at line %d"):format(r.subject, r.eye, r.visit_years, eye.line))
      elseif years < eye.years then
        fail(path, where, ("visits out of order: %s %s at %s years comes after %s years (line %d)"):format(
          r.subject, r.eye, r.visit_years, eye.text, eye.line))
      end
      if eye.late and not late then
        fail(path, where, ("late followed by not late: %s %s is not late at %s years but was late at %s years (line %d)"):format(
          r.subject, r.eye, r.visit_years, eye.late_text, eye.late_line))
      end
    end
    eye = eye or {}
    eyes[key] = eye
    eye.years, eye.text, eye.line = years, r.visit_years, where
    if late and not eye.late then eye.late, eye.late_text, eye.late_line = true, r.visit_years, where end
    visits[#visits + 1] = { subject = r.subject, eye = r.eye, years = years, image = image, name = r.image,
                            severity = sev, late = late, line = where }
  end
  return visits
end

-- genotypes from a .raw file or a .bed prefix; rows in subjects.csv order
local function read_genotypes(path, subjects, ids, quiet)
  local G = require "cnn.data.genotype"
  local g, names
  if path:match("%.raw$") then
    g = A.call_as(FN, G.read_raw, path)
    names = g.variants
  else
    local prefix = path:gsub("%.bed$", "")
    g = A.call_as(FN, G.read_bed, prefix)
    names = {}
    for j, v in ipairs(g.variants) do names[j] = v .. "_" .. g.a1[j] end
  end
  local row, rows, without = {}, {}, {}
  for i, id in ipairs(g.samples) do row[id] = row[id] or i end
  for _, id in ipairs(ids) do
    local r = row[id]
    if r then rows[#rows + 1] = r; subjects[id].geno = #rows else without[#without + 1] = id end
  end
  local warning
  if #without > 0 then
    local shown = table.concat(without, ", ", 1, math.min(5, #without)) .. (#without > 5 and ", ..." or "")
    warning = ("%s: %d of %d subjects have no genotypes in %s (%s): they can be used by image-only models only")
      :format(FN, #without, #ids, path, shown)
    if not quiet then io.stderr:write(warning, "\n") end
  end
  local geno = #rows > 0 and g.dosage:index_select(1, cnn.tensor(rows, "int64")):float() or nil
  return geno, names, warning
end

local function read_truth(path)
  local rows = read_table(path, { "image", "p2", "p3", "p4", "p5", "p6", "p7" })
  local map = {}
  for _, r in ipairs(rows) do
    local p = {}
    for k = 2, 7 do
      p[k - 1] = tonumber(r["p" .. k])
      if not p[k - 1] or p[k - 1] < 0 or p[k - 1] > 1 then fail(path, r.line, ("p%d '%s': expected a probability"):format(k, r["p" .. k])) end
    end
    map[r.image] = p
  end
  return map
end

function C.load(opts)
  A.table(FN, 1, "options", opts, "an options table")
  opts = A.opts(FN, 1, opts, { "dir", "visits", "subjects", "genotypes", "images", "truth", "check_images", "quiet" })
  local dir = opts.dir ~= nil and A.str(FN, 1, "dir", opts.dir) or nil
  local function path_opt(name, default)
    local v = opts[name]
    if v == false then return nil end
    if v ~= nil then return A.str(FN, 1, name, v) end
    return default
  end
  local visits_path = path_opt("visits", dir and join(dir, "visits.csv"))
  local subjects_path = path_opt("subjects", dir and join(dir, "subjects.csv"))
  if not visits_path then A.fail(FN, 1, "visits", "a path (or dir = the cohort's folder)", nil) end
  if not subjects_path then A.fail(FN, 1, "subjects", "a path (or dir = the cohort's folder)", nil) end
  local default_geno
  if dir then
    if exists(join(dir, "genotypes.raw")) then default_geno = join(dir, "genotypes.raw")
    elseif exists(join(dir, "genotypes.bed")) then default_geno = join(dir, "genotypes.bed") end
  end
  local geno_path = path_opt("genotypes", default_geno)
  local base = path_opt("images", dir or visits_path:match("^(.*)/[^/]*$") or "")
  local check = A.bool(FN, 1, "check_images", opts.check_images, true)
  local quiet = A.bool(FN, 1, "quiet", opts.quiet, false)
  local truth_path = path_opt("truth", dir and exists(join(dir, "truth.csv")) and join(dir, "truth.csv") or nil)

  local subjects, ids = read_subjects(subjects_path)
  local visits = read_visits(visits_path, subjects, subjects_path, base, check)
  local cohort = { dir = dir, visits = visits, subjects = subjects, subject_ids = ids, warnings = {} }
  if geno_path then
    local w
    cohort.genotypes, cohort.snps, w = read_genotypes(geno_path, subjects, ids, quiet)
    cohort.warnings[#cohort.warnings + 1] = w
  end
  if truth_path then
    cohort.truth = read_truth(truth_path)
    for _, v in ipairs(visits) do v.truth = cohort.truth[v.name] end
  end
  return cohort
end

-- ---------------------------------------------------------------- labels
-- label(t, event, k): 1 when late AMD comes k or more years after the visit (or the eye was seen
-- without it for k years), 0 when sooner (or already late), nil when censored before k
function C.label(t, event, k)
  local fn = "cnn.amd.label"
  A.finite(fn, 1, "t", t, nil, 0)
  if event == 1 then event = true elseif event == 0 then event = false end
  A.bool(fn, 2, "event", event)
  if event == nil then A.fail(fn, 2, "event", "a boolean (or 0/1)", nil) end
  A.finite(fn, 3, "k", k, nil, 0)
  if t >= k then return 1 end
  if event then return 0 end
  return nil
end

local function check_cohort(fn, c)
  if type(c) ~= "table" or type(c.visits) ~= "table" then A.fail(fn, 1, "cohort", "a cohort (from cnn.amd.cohort.load)", c) end
  return c
end

-- the eyes: key -> { first late visit years or nil, last visit years, visit indices }
local function eyes_of(c)
  local eyes, order = {}, {}
  for i, v in ipairs(c.visits) do
    local key = v.subject .. "\0" .. v.eye
    local e = eyes[key]
    if not e then e = { subject = v.subject, visits = {} }; eyes[key] = e; order[#order + 1] = key end
    e.visits[#e.visits + 1] = i
    if v.late and not e.late then e.late = v.years end
    e.last = math.max(e.last or v.years, v.years)
  end
  return eyes, order
end

-- years between two visit times, without the binary noise of decimal differences (7.07 - 5.07)
local function diff(a, b) return math.floor((a - b) * 1e6 + 0.5) / 1e6 end

function C.times(c)
  check_cohort("cnn.amd.times", c)
  local n = #c.visits
  local t, ev = {}, {}
  local eyes = eyes_of(c)
  for i, v in ipairs(c.visits) do
    local e = eyes[v.subject .. "\0" .. v.eye]
    if e.late then t[i], ev[i] = math.max(0, diff(e.late, v.years)), 1
    else t[i], ev[i] = diff(e.last, v.years), 0 end
  end
  if n == 0 then return cnn.zeros({ 0 }), cnn.zeros({ 0 }) end
  return cnn.tensor(t), cnn.tensor(ev)
end

function C.labels(c, cutoffs)
  local fn = "cnn.amd.labels"
  check_cohort(fn, c)
  cutoffs = cutoffs or { 2, 3, 4, 5, 6, 7 }
  A.table(fn, 2, "cutoffs", cutoffs, "a list of cutoff years")
  if rawlen(cutoffs) == 0 then A.fail(fn, 2, "cutoffs", "a non-empty list of cutoff years", cutoffs) end
  for j = 1, rawlen(cutoffs) do A.finite(fn, 2, ("cutoffs[%d]"):format(j), rawget(cutoffs, j), nil, 0) end
  local t, ev = C.times(c)
  local n, m = #c.visits, rawlen(cutoffs)
  local rows, counts = {}, {}
  local tt, ee = n > 0 and t:totable() or {}, n > 0 and ev:totable() or {}
  for j = 1, m do counts[j] = { cutoff = cutoffs[j], images = 0, positives = 0, eyes = 0, subjects = 0 } end
  local seen_eye, seen_subj = {}, {}
  for j = 1, m do seen_eye[j], seen_subj[j] = {}, {} end
  for i = 1, n do
    local row = {}
    for j = 1, m do
      local l = C.label(tt[i], ee[i] == 1, cutoffs[j])
      row[j] = l or 0 / 0
      if l then
        local cj, v = counts[j], c.visits[i]
        cj.images = cj.images + 1
        cj.positives = cj.positives + l
        local ek = v.subject .. "\0" .. v.eye
        if not seen_eye[j][ek] then seen_eye[j][ek] = true; cj.eyes = cj.eyes + 1 end
        if not seen_subj[j][v.subject] then seen_subj[j][v.subject] = true; cj.subjects = cj.subjects + 1 end
      end
    end
    rows[i] = row
  end
  if n == 0 then return cnn.zeros({ 0, m }), counts end
  return cnn.tensor(rows), counts
end

-- ---------------------------------------------------------------- split by subject
function C.split(c, fractions, seed)
  local fn = "cnn.amd.split"
  check_cohort(fn, c)
  A.table(fn, 2, "fractions", fractions, "a table {train =, test = [, val =]}")
  local names = {}
  for k in pairs(fractions) do
    if k ~= "train" and k ~= "test" and k ~= "val" then
      A.error(("%s: argument 2 (fractions): unknown part '%s' (expected train, test, val)"):format(fn, tostring(k)))
    end
  end
  for _, k in ipairs({ "train", "val", "test" }) do
    if fractions[k] ~= nil then names[#names + 1] = k; A.finite(fn, 2, k, fractions[k], nil, 0) end
  end
  if fractions.train == nil or fractions.test == nil then A.fail(fn, 2, "fractions", "a table with train and test", fractions) end
  local sum = 0
  for _, k in ipairs(names) do sum = sum + fractions[k] end
  if sum <= 0 then A.fail(fn, 2, "fractions", "fractions with a positive sum", fractions) end
  local fr, acc = {}, 0
  for i, k in ipairs(names) do fr[i] = fractions[k] / sum; acc = acc + fr[i] end
  fr[#fr] = fr[#fr] + (1 - acc)
  seed = A.optint(fn, 3, "seed", seed)
  local n = #c.visits
  local groups = {}
  for i, v in ipairs(c.visits) do groups[i] = v.subject end
  local parts = { A.call_as(fn, require("cnn.data").group_split, n, groups, fr, seed) }
  local out = { subjects = {} }
  for i, k in ipairs(names) do
    local idx = parts[i]:numel() > 0 and parts[i]:long():totable() or {}
    out[k] = idx
    local ids, seen = {}, {}
    for _, j in ipairs(idx) do
      local s = c.visits[j].subject
      if not seen[s] then seen[s] = true; ids[#ids + 1] = s end
    end
    table.sort(ids)
    out.subjects[k] = ids
  end
  return out
end

-- ---------------------------------------------------------------- Table 1
local function mean_sd(xs)
  local n, s, s2 = #xs, 0, 0
  for _, x in ipairs(xs) do s = s + x end
  if n == 0 then return "-" end
  local m = s / n
  for _, x in ipairs(xs) do s2 = s2 + (x - m) ^ 2 end
  return n > 1 and ("%.1f ± %.1f"):format(m, math.sqrt(s2 / (n - 1))) or ("%.1f"):format(m)
end
local function pct(a, b) return b > 0 and ("%d (%.1f%%)"):format(a, 100 * a / b) or "0" end

-- the column of Table 1 for the visits `idx` (nil: all)
local function column(c, idx, counts_all, labels)
  local vis = {}
  if idx then for _, i in ipairs(idx) do vis[#vis + 1] = i end else for i = 1, #c.visits do vis[i] = i end end
  local subj, subj_list, follow = {}, {}, {}
  local eyes, eye_list = {}, {}
  for _, i in ipairs(vis) do
    local v = c.visits[i]
    if not subj[v.subject] then subj[v.subject] = { last = v.years, first = v.years }; subj_list[#subj_list + 1] = v.subject end
    local s = subj[v.subject]
    s.last, s.first = math.max(s.last, v.years), math.min(s.first, v.years)
    local ek = v.subject .. "\0" .. v.eye
    if not eyes[ek] then eyes[ek] = { base = v.severity }; eye_list[#eye_list + 1] = ek end
    if v.late then eyes[ek].late = true end
  end
  local col = {}
  local ages, female, known_sex, smk, known_smk, geno = {}, 0, 0, { never = 0, former = 0, current = 0 }, 0, 0
  for _, id in ipairs(subj_list) do
    local s = c.subjects[id]
    if s.age then ages[#ages + 1] = s.age end
    if s.sex then known_sex = known_sex + 1; if s.sex == "F" then female = female + 1 end end
    if s.smoking then known_smk = known_smk + 1; smk[s.smoking] = smk[s.smoking] + 1 end
    if s.geno then geno = geno + 1 end
    follow[#follow + 1] = subj[id].last - subj[id].first
  end
  col.subjects = tostring(#subj_list)
  col.genotyped = pct(geno, #subj_list)
  col.age = mean_sd(ages)
  col.female = pct(female, known_sex)
  for k in pairs(smk) do col["smoking_" .. k] = pct(smk[k], known_smk) end
  col.follow = mean_sd(follow)
  local bases, groups, prog = {}, { 0, 0, 0, 0 }, { 0, 0, 0, 0 }
  for _, ek in ipairs(eye_list) do
    local e = eyes[ek]
    bases[#bases + 1] = e.base
    local g = e.base <= 3 and 1 or e.base <= 6 and 2 or e.base <= 8 and 3 or 4
    groups[g] = groups[g] + 1
    if e.late then prog[g] = prog[g] + 1 end
  end
  col.eyes = tostring(#eye_list)
  col.base = mean_sd(bases)
  for g = 1, 4 do
    col["group" .. g] = pct(groups[g], #eye_list)
    col["prog" .. g] = groups[g] > 0 and ("%d/%d (%.1f%%)"):format(prog[g], groups[g], 100 * prog[g] / groups[g]) or "-"
  end
  col.images = tostring(#vis)
  col.cut = {}
  for j = 1, #counts_all do
    local nlab = 0
    for _, i in ipairs(vis) do if labels[i][j] == labels[i][j] then nlab = nlab + 1 end end
    col.cut[j] = tostring(nlab)
  end
  col.has_group4 = groups[4] > 0
  return col
end

function C.table1(c, split)
  local fn = "cnn.amd.table1"
  check_cohort(fn, c)
  if split ~= nil then A.table(fn, 2, "split", split, "a split (from cnn.amd.split)") end
  local lab, counts = C.labels(c)
  local L = #c.visits > 0 and lab:totable() or {}
  local heads, cols = { "All" }, { column(c, nil, counts, L) }
  if split then
    for _, k in ipairs({ "train", "val", "test" }) do
      if split[k] then heads[#heads + 1] = k:sub(1, 1):upper() .. k:sub(2); cols[#cols + 1] = column(c, split[k], counts, L) end
    end
  end
  local lines = { "| | " .. table.concat(heads, " | ") .. " |", "|---|" .. ("---|"):rep(#heads) }
  local function row(label, key)
    local cells = {}
    for i, col in ipairs(cols) do cells[i] = col[key] end
    lines[#lines + 1] = "| " .. label .. " | " .. table.concat(cells, " | ") .. " |"
  end
  row("Subjects", "subjects")
  row("Subjects with genotypes", "genotyped")
  row("Age at baseline, years (mean ± sd)", "age")
  row("Female", "female")
  row("Smoking: never", "smoking_never")
  row("Smoking: former", "smoking_former")
  row("Smoking: current", "smoking_current")
  row("Follow-up, years (mean ± sd)", "follow")
  row("Eyes", "eyes")
  row("Baseline severity score (mean ± sd)", "base")
  row("Eyes at baseline step 1-3", "group1")
  row("Eyes at baseline step 4-6", "group2")
  row("Eyes at baseline step 7-8", "group3")
  if cols[1].has_group4 then row("Eyes at baseline step 9 or late", "group4") end
  row("Progressed to late AMD, of step 1-3", "prog1")
  row("Progressed to late AMD, of step 4-6", "prog2")
  row("Progressed to late AMD, of step 7-8", "prog3")
  if cols[1].has_group4 then row("Progressed to late AMD, of step 9 or late", "prog4") end
  row("Images", "images")
  for j, cj in ipairs(counts) do
    local cells = {}
    for i, col in ipairs(cols) do cells[i] = col.cut[j] end
    lines[#lines + 1] = ("| Labelled images, cutoff %g years | %s |"):format(cj.cutoff, table.concat(cells, " | "))
  end
  return table.concat(lines, "\n") .. "\n"
end

return C
