-- Builds an application namespace (cnn.amd, cnn.genomics) from the modules that make it up, each
-- owning its own names: a name given by two of them is a bug, found at load.
return function(namespace, parts)
  local out = {}
  for _, name in ipairs(parts) do
    for k, v in pairs(require(name)) do
      if out[k] ~= nil then error(namespace .. ": " .. k .. " is defined twice (" .. name .. ")", 2) end
      out[k] = v
    end
  end
  return out
end
