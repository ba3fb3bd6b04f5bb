-- cnn.amd's models layer: the networks (model.lua), their losses, data sets, feature cache and
-- training (train.lua), evaluation (evaluate.lua), saliency (saliency.lua) and prediction for one
-- person (predict.lua). Names starting with "_" or a capital stay internal to the submodules.
-- docs/amd.md, "The models", is the reference.
local out = {}
for _, name in ipairs({ "cnn.amd.network", "cnn.amd.train", "cnn.amd.evaluate", "cnn.amd.saliency", "cnn.amd.predict" }) do
  for k, v in pairs(require(name)) do
    if k:match("^%l") then
      if out[k] ~= nil then error("cnn.amd: " .. k .. " is defined twice (" .. name .. ")", 0) end
      out[k] = v
    end
  end
end
return out
