#!/usr/bin/env python3
"""The rival of `ssmvae bench-step`: one SSMVAE-CI training step (forward, backward, Adam) written
as a plain PyTorch script, on the same shapes, batch sizes and thread count.

It implements the same objective as the trainer (docs/model.md §3–§7): per modality a Student-t
latent expert on [x_j ; onehot(y)] (2 × 512 ReLU, output [mu ; log-scale] clamped to ±10), a
decoder on [z ; onehot(y)] (sigmoid output for pixels), a classifier expert on x_j; the latent PoE
with the standard prior expert (§3.1), the classifier PoE (§3.2), one t-reparameterised draw
(§4), the labeled gamma-loss L (§5.2) plus a·N/N_l times the cross-entropy on the labeled batch,
and U = Σ_y q(y|x) L(x, y) − c H(q) with all K classes enumerated on the unlabeled batch (§6.1),
weighted N_l/N and N_u/N (§7.3); torch.optim.Adam at lr 1e-3.

`--variant plain` is what a straightforward script does: the K class copies of the unlabeled
batch go through the whole expert, first layer included. `--variant shared` computes the expert's
first-layer x-part once per sample and adds the class column (the trainer's `shared_first_layer`,
docs/model.md §3.1), so the comparison can be read against both.

Inputs are random (uniform [0, 1] pixels, standard-normal tables, uniform labels): only the
shapes matter for time. Prints one JSON line: per-step seconds (after warm-up) and peak RSS.
Run by `ssmvae bench-step` in the project's venv; usable alone:

    trainer/scripts/with-libtorch.sh python3 trainer/benches/pytorch_step.py --shape mfeat
"""
import argparse
import warnings
import json
import math
import resource
import time

warnings.filterwarnings("ignore", message="Failed to initialize NumPy")
import torch
import torch.nn as nn
import torch.nn.functional as F

# The shapes `ssmvae bench-step` times (trainer/lab/src/bench/step.rs holds the same table).
SHAPES = {
    # MNIST + Fashion-MNIST: two 28×28 pixel views.
    "mnist+fashion": [("pixels", 784), ("pixels", 784)],
    # UCI mfeat: six tabular views (fac, fou, kar, mor, pix, zer).
    "mfeat": [("tabular", 216), ("tabular", 76), ("tabular", 64), ("tabular", 6),
              ("tabular", 240), ("tabular", 47)],
}
LOG_SCALE_CLAMP = 10.0


def mlp(inp, hidden, out):
    layers, width = [], inp
    for h in hidden:
        layers += [nn.Linear(width, h), nn.ReLU()]
        width = h
    layers.append(nn.Linear(width, out))
    return nn.Sequential(*layers)


def subset_constants(nu, n_s, m):
    """docs/model.md §5.1 for σ = 1 (the trainer's objective/constants.rs)."""
    log_c = math.lgamma((nu + n_s) / 2) - math.lgamma(nu / 2) - n_s / 2 * math.log(nu * math.pi)
    log_b = log_c + math.log(nu - 2) - math.log(nu + n_s - 2)
    e = 1 / (nu + n_s + m - 2)
    r = m / (nu + n_s - 2)
    tau_tilde = math.exp(2 * log_b / (nu + n_s - 2))
    c_big = math.exp(math.log1p(r) + 2 * e * log_b)
    k1 = nu * tau_tilde * ((1 + r) * math.expm1(-2 * m * log_b * e / (nu + n_s - 2)) + r)
    return dict(trace_coef=(nu + n_s) / (nu + n_s - 2), shift=math.log((nu + n_s) / nu), e=e,
                nu_c=nu * c_big, k1=k1, c=nu * tau_tilde / (nu + n_s - 2), dof=nu + n_s)


class Model(nn.Module):
    def __init__(self, views, classes, m, hidden):
        super().__init__()
        self.views, self.k, self.m = views, classes, m
        self.experts = nn.ModuleList(mlp(d + classes, hidden, 2 * m) for _, d in views)
        self.decoders = nn.ModuleList(mlp(m + classes, hidden, d) for _, d in views)
        self.classifiers = nn.ModuleList(mlp(d, hidden, classes) for _, d in views)

    def log_q(self, xs):
        return sum(f(x) for f, x in zip(self.classifiers, xs)).log_softmax(1)

    def expert(self, j, x, onehot, shared):
        net = self.experts[j]
        if shared is None:
            return net(torch.cat([x, onehot], 1))
        first = net[0]
        d = x.shape[1]
        h = shared[j] + onehot @ first.weight[:, d:].t()
        for layer in net[1:]:
            h = layer(h)
        return h

    def gamma_loss(self, xs, onehot, k, shared=None):
        """L(x, y) per sample (§5.2): reconstruction + ½ regulariser, latent PoE with prior expert."""
        neg = []
        mus = []
        for j, x in enumerate(xs):
            out = self.expert(j, x, onehot, shared)
            mus.append(out[:, :self.m])
            neg.append(-out[:, self.m:].clamp(-LOG_SCALE_CLAMP, LOG_SCALE_CLAMP))
        prior = torch.zeros_like(neg[0])
        log_sq = -torch.logsumexp(torch.stack(neg + [prior], 1), 1)
        mu = sum((n + log_sq).exp() * mj for n, mj in zip(neg, mus))
        gamma = torch.distributions.Gamma(torch.full((mu.shape[0],), k["dof"] / 2), 1.0).sample()
        chi = (k["dof"] / (2 * gamma)).sqrt().unsqueeze(1)
        z = mu + (0.5 * log_sq).exp() * torch.randn_like(mu) * chi
        recon = 0
        for (kind, _), dec, x in zip(self.views, self.decoders, xs):
            x_hat = dec(torch.cat([z, onehot], 1))
            if kind == "pixels":
                x_hat = torch.sigmoid(x_hat)
            recon = recon + 0.5 * (x - x_hat).square().sum(1)
        m = mu.shape[1]
        log_det = log_sq.sum(1) + k["shift"] * m
        reg = (mu.square().sum(1) + k["trace_coef"] * log_sq.exp().sum(1)
               - k["nu_c"] * torch.expm1(k["e"] * log_det) - k["k1"])
        return recon + 0.5 * reg


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--shape", choices=sorted(SHAPES), default="mnist+fashion")
    ap.add_argument("--variant", choices=["plain", "shared"], default="plain")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--batch-labeled", type=int, default=50)
    ap.add_argument("--batch-unlabeled", type=int, default=50)
    ap.add_argument("--classes", type=int, default=10)
    ap.add_argument("--latent-dim", type=int, default=64)
    ap.add_argument("--hidden", type=int, nargs="+", default=[512, 512])
    ap.add_argument("--alpha-a", type=float, default=3.0)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    views, K = SHAPES[a.shape], a.classes
    model = Model(views, K, a.latent_dim, a.hidden)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    k = subset_constants(10.0, sum(d for _, d in views), a.latent_dim)
    # N_l, N_u only set the weights; 1000 labeled of 10000 (their values do not change the time).
    n_l, n_u = 1000, 9000
    n = n_l + n_u
    w_l, w_u, alpha = n_l / n, n_u / n, a.alpha_a * n / n_l
    pool = 512

    def draw(kind, d):
        return torch.rand(pool, d) if kind == "pixels" else torch.randn(pool, d)

    data = [draw(kind, d) for kind, d in views]
    labels = torch.randint(0, K, (pool,))
    times = []
    for step in range(a.warmup + a.steps):
        bl = torch.randint(0, pool, (a.batch_labeled,))
        bu = torch.randint(0, pool, (a.batch_unlabeled,))
        t0 = time.perf_counter()
        xl, y = [x[bl] for x in data], labels[bl]
        xu = [x[bu] for x in data]
        # Labeled: L(x, y) + α̃ CE.
        log_q_l = model.log_q(xl)
        ce = F.nll_loss(log_q_l, y, reduction="none")
        lab = model.gamma_loss(xl, F.one_hot(y, K).float(), k)
        loss = w_l * (lab + alpha * ce).mean()
        # Unlabeled: every class enumerated, class-major (K·B rows).
        b = a.batch_unlabeled
        log_q_u = model.log_q(xu)
        ys = torch.arange(K).repeat_interleave(b)
        xu_k = [x.repeat(K, 1) for x in xu]
        shared = None
        if a.variant == "shared":
            shared = [e[0](x).repeat(K, 1) for e, x in
                      zip(model.experts, [F.pad(x, (0, K)) for x in xu])]
        l_all = model.gamma_loss(xu_k, F.one_hot(ys, K).float(), k, shared).reshape(K, b).t()
        q = log_q_u.exp()
        u = (q * l_all).sum(1) + k["c"] * (q * log_q_u).sum(1)
        loss = loss + w_u * u.mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        dt = time.perf_counter() - t0
        if step >= a.warmup:
            times.append(dt)
    rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({
        "impl": f"pytorch-{a.variant}", "shape": a.shape, "threads": a.threads,
        "torch": torch.__version__, "step_seconds": times, "peak_rss_bytes": rss_kib * 1024,
        "loss": float(loss.detach()),
    }))


if __name__ == "__main__":
    main()
