-- cnn.data.csv: quoted fields, missing values, numeric columns to tensors, ragged rows.
local cnn = require "cnn"
local H = require "helpers"
local P = require "fixtures.png"
local csv = require "cnn.data.csv"

describe("cnn.data.csv", function()
  local dir
  setup(function() dir = P.tmpdir() end)
  teardown(function() P.rmdir(dir) end)
  local function file(name, text) return P.write(dir .. "/" .. name, text) end

  it("reads a header, numeric columns as float64 tensors with NaN for missing, text as strings", function()
    local p = file("a.csv", 'id,path,age,score\n1,"a, b.png",70.5,NA\n2,"say ""hi""",,3\r\n3,c.png,-1e2,NaN\n')
    local t = csv.read(p)
    assert.are.same({ "id", "path", "age", "score" }, t.names)
    assert.are.equal(3, t.nrows)
    assert.are.same({ "a, b.png", 'say "hi"', "c.png" }, t.columns.path)
    local age = t.columns.age
    assert.are.equal("float64", age:dtype())
    assert.are.equal(70.5, age[1])
    assert.is_true(age[2] ~= age[2])
    assert.are.equal(-100, age[3])
    local s = t.columns.score
    assert.is_true(s[1] ~= s[1] and s[3] ~= s[3])
    assert.are.equal(3, s[2])
    H.close(t.list[1], { 1, 2, 3 }, 0)
  end)

  it("reads without a header, with another separator, quoted newlines and a trailing separator", function()
    local p = file("b.tsv", 'x\t"two\nlines"\t\n\n4\ty\t5')
    local t = csv.read(p, { header = false, sep = "\t" })
    assert.are.same({ "V1", "V2", "V3" }, t.names)
    assert.are.equal(2, t.nrows)                                 -- the blank line is skipped
    assert.are.same({ "two\nlines", "y" }, t.columns.V2)
    assert.are.same({ "x", "4" }, t.columns.V1)
    local v3 = t.columns.V3
    assert.is_true(v3[1] ~= v3[1])
    assert.are.equal(5, v3[2])
    assert.are.same({ "1", "2" }, csv.read(file("c.csv", "a\n1\n2\n"), { numeric = false }).columns.a)
  end)

  it("names the file and the line of a ragged row", function()
    local p = file("r.csv", "a,b,c\n1,2,3\n4,5\n")
    H.errors(function() csv.read(p) end, "cnn.data.csv.read: " .. p .. ": line 3 has 2 fields, expected 3 (as in the first line)")
    local q = file("q.csv", 'a,b\n1,"open\n2,3\n')
    H.errors(function() csv.read(q) end, "cnn.data.csv.read: " .. q .. ": line 2: unterminated quoted field")
    local r = file("x.csv", 'a,b\n"1"x,2\n')
    H.errors(function() csv.read(r) end, r .. ": line 2: text after a closing quote")
    local e = file("e.csv", "")
    H.errors(function() csv.read(e) end, e .. ": the file is empty")
    H.errors(function() csv.read(dir .. "/none.csv") end, "cnn.data.csv.read: " .. dir .. "/none.csv: cannot open")
    local d = file("d.csv", "a,a\n1,2\n")
    H.errors(function() csv.read(d) end, "column name 'a' appears twice")
  end)

  it("dtype = {name = \"int64\"}: class-label columns as int64, checked row by row", function()
    local p = file("i.csv", "id,cls,y,name\n1,3,0.5,a\n2,1,,b\n3,2,2,c\n")
    local t = csv.read(p, { dtype = { cls = "int64", id = "float32" } })
    assert.are.equal("int64", t.columns.cls:dtype())
    assert.are.same({ 3, 1, 2 }, t.columns.cls:totable())
    assert.are.equal("integer", math.type(t.columns.cls[1]))
    assert.are.equal(t.columns.cls, t.list[2])
    assert.are.equal("float32", t.columns.id:dtype())
    assert.are.equal("float64", t.columns.y:dtype())              -- untouched
    H.errors(function() csv.read(p, { dtype = { y = "int64" } }) end,
      "cnn.data.csv.read: " .. p .. ": column 'y', data row 2 is missing: an int64 column needs an integer in every row")
    H.errors(function() csv.read(file("f.csv", "c\n1\n2.5\n"), { dtype = { c = "int64" } }) end, "column 'c', data row 2 holds 2.5, not an integer")
    H.errors(function() csv.read(p, { dtype = { name = "int64" } }) end, "column 'name' holds text, not numbers: it cannot be int64")
    H.errors(function() csv.read(p, { dtype = { nope = "int64" } }) end, "dtype names column 'nope', which is not in the file")
    H.errors(function() csv.read(p, { dtype = { cls = "int8" } }) end,
      'cnn.data.csv.read: argument 2 (dtype): expected column name = "int64", "float32" or "float64", got "cls" = "int8"')
    assert.are.same({ 0 }, csv.read(file("h.csv", "c\n"), { dtype = { c = "int64" } }).columns.c:size())
  end)

  it("leaks nothing", function()
    local p = file("l.csv", "a,b\n1,x\n2,y\n")
    H.no_leak(function() csv.read(p) end)
  end)
end)
