"""Independent references of RepDistiller's / mdistiller's Table-1 methods, for the parity tests.

Written from the published definitions (RepDistiller's ``distiller_zoo``, ``models/util.py``,
``crd/`` and ``helper/``, mdistiller's ``DKD.py``), sharing no code with ``skdlib.distill``:

* :func:`crd_features` — CRD's ``model(x, is_feat=True, preact=...)`` feature list of the CIFAR
  zoo by an explicit forward pass (the pre-activation residual sums of a resnet's last blocks,
  the second calls of a wrn's batch norms, a vgg's BN outputs);
* the method modules' forward passes written functionally from their parameters (``conv``,
  ``bn``: batch norm from batch statistics by hand), so a wrong layer order or a missing BN
  or ReLU shows;
* every loss written out with explicit loops or einsums, meant for float64.
"""

import math

import torch
import torch.nn.functional as F

# -- feature lists as RepDistiller's models return them -------------------------------------------


def _resnet_stage(stage, x):
    """All blocks but the last as they are; the last written out: ``(out, preact)``."""
    for block in list(stage)[:-1]:
        x = block(x)
    last = stage[-1]
    y = last.bn2(last.conv2(F.relu(last.bn1(last.conv1(x)))))
    shortcut = x if last.downsample is None else last.downsample(x)
    pre = y + shortcut
    return F.relu(pre), pre


def crd_features(model, x, preact=False):
    """``(feats, logits)`` of a CIFAR resnet, wrn or vgg, as RepDistiller's ``forward(is_feat=True,
    preact=preact)``: ``[f0, f1, ..., pooled]``."""
    name = type(model).__name__
    if name == "CifarResNet":
        f0 = F.relu(model.bn1(model.conv1(x)))
        f1, p1 = _resnet_stage(model.layer1, f0)
        f2, p2 = _resnet_stage(model.layer2, f1)
        f3, p3 = _resnet_stage(model.layer3, f2)
        pooled = F.avg_pool2d(f3, 8).flatten(1)
        stages = [p1, p2, p3] if preact else [f1, f2, f3]
        return [f0, *stages, pooled], model.fc(pooled)
    if name == "WideResNet":
        f0 = model.conv1(x)
        f1 = model.block1(f0)
        f2 = model.block2(f1)
        f3 = model.block3(f2)
        pooled = F.avg_pool2d(F.relu(model.bn1(f3)), 8).flatten(1)
        logits = model.fc(pooled)
        if preact:  # RepDistiller calls these batch norms a second time
            f1 = model.block2.layer[0].bn1(f1)
            f2 = model.block3.layer[0].bn1(f2)
            f3 = model.bn1(f3)
        return [f0, f1, f2, f3, pooled], logits
    if name == "VGG":
        f0 = F.relu(model.block0(x))
        pre1 = model.block1(model.pool0(f0))
        pre2 = model.block2(model.pool1(F.relu(pre1)))
        pre3 = model.block3(model.pool2(F.relu(pre2)))
        pre4 = model.block4(F.relu(pre3))
        pooled = F.adaptive_avg_pool2d(F.relu(pre4), 1).flatten(1)
        pres = [pre1, pre2, pre3, pre4]
        stages = pres if preact else [F.relu(p) for p in pres]
        return [f0, *stages, pooled], model.classifier(pooled)
    raise TypeError(name)


# -- module forwards written from their parameters ------------------------------------------------


def bn(x, m, train=True):
    """Batch norm by hand: batch statistics (biased variance; the running statistics updated
    with the unbiased one) in train mode, else the running ones."""
    if train:
        dims = [0, 2, 3] if x.dim() == 4 else [0]
        mean, var = x.mean(dims), x.var(dims, unbiased=False)
        with torch.no_grad():  # the running statistics move as nn.BatchNorm's do
            n, mom = x.numel() // x.shape[1], m.momentum
            m.running_mean.mul_(1 - mom).add_(mom * mean.to(m.running_mean.dtype))
            m.running_var.mul_(1 - mom).add_(mom * var.to(m.running_var.dtype) * n / (n - 1))
            m.num_batches_tracked += 1
    else:
        mean, var = m.running_mean.to(x.dtype), m.running_var.to(x.dtype)
    shape = (1, -1, 1, 1) if x.dim() == 4 else (1, -1)
    return (x - mean.view(shape)) / torch.sqrt(var.view(shape) + m.eps) * m.weight.view(
        shape
    ) + m.bias.view(shape)


def conv(x, m):
    return F.conv2d(x, m.weight, m.bias, m.stride, m.padding)


def conv_reg(x, reg, relu=True):
    """RepDistiller's ``ConvReg``: conv (or transposed conv), BN, ReLU."""
    c = reg.conv
    if isinstance(c, torch.nn.ConvTranspose2d):
        y = F.conv_transpose2d(x, c.weight, c.bias, c.stride, c.padding)
    else:
        y = conv(x, c)
    y = bn(y, reg.bn)
    return F.relu(y) if relu else y


def convs(x, seq, leaky=None, norm=True, transpose=False):
    """A ``Sequential`` of convs (and BNs, activations) applied layer by layer from its
    parameters; ``leaky``: the LeakyReLU slope after each conv(+BN)."""
    layers = list(seq)
    i = 0
    while i < len(layers):
        m = layers[i]
        if isinstance(m, torch.nn.ConvTranspose2d):
            x = F.conv_transpose2d(x, m.weight, m.bias, m.stride, m.padding)
        elif isinstance(m, torch.nn.Conv2d):
            x = conv(x, m)
        elif isinstance(m, torch.nn.BatchNorm2d):
            x = bn(x, m, train=norm)
        elif isinstance(m, torch.nn.LeakyReLU):
            x = torch.where(x > 0, x, x * leaky)
        elif isinstance(m, torch.nn.ReLU):
            x = torch.clamp(x, min=0)
        i += 1
    return x


# -- losses ---------------------------------------------------------------------------------------


def pool(s, t):
    hs, ht = s.shape[2], t.shape[2]
    if hs > ht:
        s = F.adaptive_avg_pool2d(s, (ht, ht))
    elif hs < ht:
        t = F.adaptive_avg_pool2d(t, (hs, hs))
    return s, t


def ref_hint(r, t):
    return ((r - t) ** 2).sum() / r.numel()


def ref_vid(s, t, head):
    s, t = pool(s, t)
    mu = convs(s, head.regressor)
    var = torch.log(1 + torch.exp(head.log_scale)) + head.eps
    total = 0.0
    for c in range(t.shape[1]):
        total = total + (0.5 * ((mu[:, c] - t[:, c]) ** 2 / var[c] + torch.log(var[c]))).sum()
    return total / t.numel()


def ref_ab(gs, gt, margin=1.0):
    n, b = len(gs), gs[0].shape[0]
    total = 0.0
    for i, (s, t) in enumerate(zip(gs, gt, strict=True)):
        a = torch.where((s > -margin) & (t <= 0), (s + margin) ** 2, torch.zeros_like(s))
        c = torch.where((s <= margin) & (t > 0), (s - margin) ** 2, torch.zeros_like(s))
        total = total + 2.0 ** (i - n + 1) * (a + c).sum() / b * 3 / 1000
    return total


def _unit_rows(m):
    return m / torch.sqrt((m * m).sum(1, keepdim=True)).clamp_min(1e-12)


def ref_factor(fs, ft):
    fs, ft = pool(fs, ft)
    a = _unit_rows((fs * fs).mean(1).reshape(fs.shape[0], -1))
    b = _unit_rows((ft * ft).mean(1).reshape(ft.shape[0], -1))
    return (a - b).abs().sum() / a.numel()


def ref_nst(fs, ft):
    fs, ft = pool(fs, ft)
    s = fs.reshape(fs.shape[0], fs.shape[1], -1)
    t = ft.reshape(ft.shape[0], ft.shape[1], -1)
    s = s / torch.sqrt((s * s).sum(2, keepdim=True)).clamp_min(1e-12)
    t = t / torch.sqrt((t * t).sum(2, keepdim=True)).clamp_min(1e-12)

    def k(a, b):
        return torch.einsum("bid,bjd->bij", a, b) ** 2

    return k(t, t).mean() + k(s, s).mean() - 2 * k(s, t).mean()


def ref_fsp(gs, gt):
    def matrices(g):
        out = []
        for bottom, top in zip(g[:-1], g[1:], strict=True):
            bottom, top = pool(bottom, top)
            hw = top[0, 0].numel()
            out.append(torch.einsum("bjx,bix->bji", top.flatten(2), bottom.flatten(2)) / hw)
        return out

    return sum(((a - b) ** 2).mean() for a, b in zip(matrices(gs), matrices(gt), strict=True))


def ref_cc(es, et):
    d = (es - et).abs()
    return sum((d[i] * d[i + 1]).sum() for i in range(d.shape[0] - 1)) / (d.shape[0] - 1)


def _log_binary(z, g, keep):
    """``[log p_target, log p_rest]`` of ``softmax(z)``."""
    full, rest = torch.logsumexp(z, 0), torch.logsumexp(z[keep], 0)
    return torch.stack([z[g] - full, rest - full])


def ref_dkd(zs, zt, y, alpha, beta, temp):
    """DKD from its definition: the binary target/rest KL and the KL over the non-target
    classes (renormalised), each ``T²`` times, averaged over the batch (in log space, so that
    saturated softmaxes stay finite)."""
    total = 0.0
    for b in range(zs.shape[0]):
        g = int(y[b])
        keep = [c for c in range(zs.shape[1]) if c != g]
        ls, lt = zs[b] / temp, zt[b] / temp

        bs, bt = _log_binary(ls, g, keep), _log_binary(lt, g, keep)
        tckd = (torch.exp(bt) * (bt - bs)).sum()
        qs, qt = torch.log_softmax(ls[keep], 0), torch.log_softmax(lt[keep], 0)
        nckd = (torch.exp(qt) * (qt - qs)).sum()
        total = total + (alpha * tckd + beta * nckd) * temp**2
    return total / zs.shape[0]


def ref_crd_scores(memory, v, idx, temp):
    """RepDistiller's scores: per sample, the gathered memory rows times its embedding."""
    return torch.stack(
        [torch.exp(torch.stack([memory[j] @ v[b] for j in idx[b].tolist()]) / temp)
         for b in range(v.shape[0])]
    )  # fmt: skip


def ref_nce(x, n_data, eps=1e-7):
    m = x.shape[1] - 1
    pn = 1.0 / n_data
    total = 0.0
    for b in range(x.shape[0]):
        total = total + torch.log(x[b, 0] / (x[b, 0] + m * pn + eps))
        for k in range(1, m + 1):
            total = total + torch.log(m * pn / (x[b, k] + m * pn + eps))
    return -total / x.shape[0]


def embed(x, e, normalise=True):
    y = x.flatten(1) @ e.linear.weight.T + e.linear.bias
    return y / torch.sqrt((y * y).sum(1, keepdim=True)) if normalise else y


def inverse_softplus(v):
    return math.log(math.exp(v) - 1.0)


def ref_pkt(fs, ft, eps=1e-7):
    def cond(f):
        u = f / (torch.sqrt((f * f).sum(1, keepdim=True)) + eps)
        k = (u @ u.T + 1) / 2
        return k / k.sum(1, keepdim=True)

    p, q = cond(ft), cond(fs)
    return (p * torch.log((p + eps) / (q + eps))).mean()


def _huber(d):
    a = d.abs()
    return torch.where(a < 1, 0.5 * d * d, a - 0.5).mean()


def ref_rkd(fs, ft, wd=25.0, wa=50.0):
    def dist(e):
        d2 = ((e[:, None, :] - e[None, :, :]) ** 2).sum(2)
        d = torch.sqrt(d2.clamp_min(1e-12)) * (1 - torch.eye(e.shape[0], dtype=e.dtype))
        return d / d[d > 0].mean()

    def angle(e):
        diff = e[None, :, :] - e[:, None, :]  # [i, j] = e_j - e_i
        unit = diff / torch.linalg.vector_norm(diff, dim=2, keepdim=True).clamp_min(1e-12)
        return torch.einsum("ijd,ikd->ijk", unit, unit)

    return wd * _huber(dist(fs) - dist(ft)) + wa * _huber(angle(fs) - angle(ft))


def ref_skd(act, vectors, tau=1.0):
    """Paper Eq. 2: ``mean_{b, i} -Σ_j p_ij log q_b,ij`` with cosine similarities."""
    a = act.flatten(2)
    a = a / torch.sqrt((a * a).sum(2, keepdim=True)).clamp_min(1e-8)
    v = vectors / torch.sqrt((vectors * vectors).sum(1, keepdim=True))
    p = torch.softmax(v @ v.T / tau, dim=1)
    log_q = torch.log_softmax(a @ a.transpose(1, 2) / tau, dim=2)
    return -(p * log_q).sum(2).mean()
