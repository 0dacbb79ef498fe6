-- test_metrics_class.lua: accuracy, precision, recall, f1, confusion, ece,
-- brier on hand-computed cases: how the first argument is read (labels,
-- [n,K] probabilities, 1-d P(class 1)), averages, zero_division, errors.
-- The comparison with scikit-learn 1.2 is tests/probe/test_sklearn_metrics_class.sh.
local T = require "testlib"

local yt = tensor.new { 1, 1, 2, 2, 3, 3 }
local yp = tensor.new { 1, 2, 2, 2, 3, 1 }

T.test("accuracy from labels, tables, [n,K] probabilities and 1-d P(class 1)", function()
  T.near(metrics.accuracy(yp, yt), 4 / 6, 1e-15)
  T.near(metrics.accuracy({ 1, 2, 2, 2, 3, 1 }, { 1, 1, 2, 2, 3, 3 }), 4 / 6, 1e-15)
  local P = tensor.new { { .8, .1, .1 }, { .2, .7, .1 }, { .1, .1, .8 } }
  T.eq(metrics.accuracy(P, tensor.new { 1, 1, 3 }), 2 / 3)
  -- two columns with 0/1 labels: column k is class k-1
  T.eq(metrics.accuracy(tensor.new { { .9, .1 }, { .3, .7 } }, tensor.new { 0, 1 }), 1)
  -- 1-d probabilities: p >= 0.5 predicts 1
  T.eq(metrics.accuracy(tensor.new { 0.5, 0.49, 0.9 }, tensor.new { 1, 0, 0 }), 2 / 3)
  T.eq(metrics.accuracy(tensor.new { true, false }, tensor.new { 1, 1 }), 0.5)
end)

T.test("precision / recall / f1, by hand", function()
  -- class 1: tp 1, pred 2, true 2; class 2: tp 2, pred 3, true 2; class 3: tp 1, pred 1, true 2
  local P = { 1 / 2, 2 / 3, 1 }
  local R = { 1 / 2, 1, 1 / 2 }
  local F = {}
  for i = 1, 3 do F[i] = 2 * P[i] * R[i] / (P[i] + R[i]) end
  T.near(metrics.precision(yp, yt, { average = "macro" }), (P[1] + P[2] + P[3]) / 3, 1e-15)
  T.near(metrics.recall(yp, yt, { average = "macro" }), (R[1] + R[2] + R[3]) / 3, 1e-15)
  T.near(metrics.f1(yp, yt, { average = "macro" }), (F[1] + F[2] + F[3]) / 3, 1e-15)
  T.near(metrics.f1(yp, yt, { average = "weighted" }), (F[1] + F[2] + F[3]) / 3, 1e-15) -- equal supports
  T.near(metrics.f1(yp, yt, { average = "micro" }), 4 / 6, 1e-15)
  local per = metrics.f1(yp, yt, { average = "none" })
  T.near(per:tolist(), F, 1e-15)
  T.near(metrics.precision(yp, yt, { average = "macro", labels = { 3 } }), 1, 1e-15)
end)

T.test("binary: pos_label, zero_division", function()
  local y, p = tensor.new { 0, 1, 1, 0, 1 }, tensor.new { 0, 1, 0, 1, 1 }
  T.near(metrics.precision(p, y), 2 / 3, 1e-15)
  T.near(metrics.recall(p, y), 2 / 3, 1e-15)
  T.near(metrics.f1(p, y, { pos_label = 0 }), 0.5, 1e-15)
  local z = tensor.zeros(4, { dtype = "i64" })
  T.eq(metrics.precision(z, z), 0)
  T.eq(metrics.precision(z, z, { zero_division = 1 }), 1)
  T.eq(metrics.f1(z, z, { zero_division = 1 }), 1)
  T.eq(metrics.f1(z, tensor.new { 1, 0, 0, 0 }, { zero_division = 1 }), 0)   -- recall 0, precision 1
end)

T.test("confusion: rows true, columns predicted, over the labels present", function()
  local C, L = metrics.confusion(yp, yt)
  T.eq(C:tolist(), { { 1, 1, 0 }, { 0, 2, 0 }, { 1, 0, 1 } })
  T.eq(L, { 1, 2, 3 })
  T.eq(C:dtype(), "i64")
  C, L = metrics.confusion(tensor.new { 5, 1 }, tensor.new { 1, 1 })
  T.eq(C:tolist(), { { 1, 1 }, { 0, 0 } }); T.eq(L, { 1, 5 })
  C = metrics.confusion(yp, yt, { labels = { 3, 1 } })
  T.eq(C:tolist(), { { 1, 1 }, { 0, 1 } })
end)

T.test("ece: equal-width bins of the top-label confidence", function()
  -- confidences .9 (right), .9 (wrong), .6 (right), .6 (right)
  local P = tensor.new({ { .9, .1 }, { .9, .1 }, { .4, .6 }, { .6, .4 } }, { dtype = "f64" })
  local y = tensor.new { 1, 2, 2, 1 }
  -- two bins in use: {.9, .9} with accuracy .5, and {.6, .6} with accuracy 1
  T.near(metrics.ece(P, y), 0.5 * 0.4 + 0.5 * 0.4, 1e-12)
  T.near(metrics.ece(P, y, { n_bins = 1 }), math.abs(0.75 - 0.75), 1e-12)
  T.near(metrics.ece(tensor.new({ 0.9, 0.2 }, { dtype = "f64" }), tensor.new { 1, 1 }, { n_bins = 1 }), math.abs(0.5 - 0.85), 1e-12)
  T.raises(function() metrics.ece(P, y, { n_bins = 0 }) end, "n_bins")
end)

T.test("brier: multiclass sum over classes; 1-d is sklearn's binary form", function()
  local P = tensor.new { { .7, .2, .1 }, { .1, .1, .8 } }
  T.near(metrics.brier(P, tensor.new { 1, 2 }), ((.09 + .04 + .01) + (.01 + .81 + .64)) / 2, 1e-6)
  T.near(metrics.brier(tensor.new({ .8, .3 }, { dtype = "f64" }), tensor.new { 1, 0 }), (.04 + .09) / 2, 1e-15)
end)

T.test("errors name the function and the argument", function()
  T.raises(function() metrics.f1(yp, yt) end, "not binary 0/1")
  T.raises(function() metrics.f1(yp, yt, { average = "samples" }) end, "average must be")
  T.raises(function() metrics.accuracy(yp, tensor.new { 1, 2 }) end, "predictions [6] for 2 labels")
  T.raises(function() metrics.brier(yp, yt) end, "float tensor")
  T.raises(function() metrics.brier(tensor.new { { .5, .5 } }, tensor.new { 3 }) end, "label 3 is not a column")
  T.raises(function() metrics.accuracy(yp, tensor.new { 1.5, 1, 1, 1, 1, 1 }) end, "labels must be integers")
end)

T.done()
