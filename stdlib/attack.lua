-- attack.lua: the `attack` module: break models and protect data. Its parts:
-- attack_adv.lua (fgsm, pgd, evaluate), attack_fool.lua (fooling images),
-- attack_unlearnable.lua (unlearnable examples, train_eval). Everything is
-- tensor ops around the model's own forward and backward (which dominate the
-- time), so no loop needs C; attack.kernels (C) is the place if one does.
local M = {}
for _, part in ipairs { "attack_adv", "attack_fool", "attack_unlearnable" } do
  for k, v in pairs(require(part)) do
    if k:sub(1, 1) ~= "_" then M[k] = v end
  end
end
M.kernels = package.loaded["attack.kernels"]

for _, d in ipairs {
  { "pgd", "attack.pgd(model, x, y, {eps=8/255, alpha=2/255, steps=10, norm=\"inf\"|\"2\", random_start=true, targeted=false, restarts=1, clip={0,1}, loss=, gen=})",
    "projected gradient descent (Madry et al.; torchattacks' rules, L2: eps=1, alpha=0.2): adversarial x and per-sample success" },
  { "fgsm", "attack.fgsm(model, x, y, {eps=8/255, norm=\"inf\"|\"2\", targeted=false, clip={0,1}, loss=})",
    "fast gradient sign method: one step of size eps (L2: along the normalised gradient); adv and per-sample success" },
  { "evaluate", "attack.evaluate(model, X, y, attack_fn=attack.pgd, {batch=256, gen=, ...attack options})",
    "robust accuracy (fraction still classified y after the attack) and {robust_acc=, clean_acc=, n=}" },
  { "fool", "attack.fool(model, {target=, shape=, steps=200, lr=0.05, l2=1e-4, target_conf=0.9999, from=\"noise\"|\"zeros\", method=\"gradient\"|\"evolve\", gen=})",
    "fooling images (Nguyen et al. 2015) labelled target with high confidence: {images=, confidence=, steps=, target=}" },
  { "fool_evolve", "attack.fool_evolve(model, {target=, shape=, steps=500, population=32, rate=0.1, sigma=0.2, target_conf=0.9999, gen=})",
    "fooling images by elitist evolution of pixels (attack.fool with method=\"evolve\")" },
  { "unlearnable", "attack.unlearnable(model_fn, X, y, {eps=8/255, kind=\"sample\"|\"class\"|\"cluster\"|\"synthetic\"|\"max\"|\"bayes\", step_size=0.8/255, steps=20|1, train_steps=10, stop_error=0.01|0.1, max_iter=100, batch=512, k=10, features=, patch=4, optimizer=, gen=})",
    "protected X (unlearnable examples: Huang et al. 2021 min-min noise, cluster-wise, Yu et al. 2022 synthetic shortcut noise, or error-maximising) and info {noise=, iterations=, train_error=}" },
  { "train_eval", "attack.train_eval(model_fn, Xtrain, ytrain, Xtest, ytest, {epochs=5, batch=128, lr=1e-3, optimizer=, curve=false, gen=})",
    "train a fresh model_fn(gen) model (Adam) and report {test_acc=, train_acc=, model=, history=}" },
} do sonde.doc("attack." .. d[1], d[2], d[3]) end

return M
