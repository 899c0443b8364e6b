"""Every Table-1 method against RepDistiller / mdistiller: one batch, fixed weights, one SGD step.

For each method the trainer takes one step (its main stage, or for AB, FT and FSP one step of
the initialisation stage) and the test recomputes it independently in float64: CRD's feature
lists by explicit forward passes of float64 copies of the models (pre-activation sums, wrn's
second batch-norm calls), the method's modules applied from their parameters by hand, and the
loss written out from the published definition (``support.repdistiller_refs``). It checks the
term's value, and every parameter after the step: ``p - lr (∇(0·CE + β·term) + wd·p)`` for what
RepDistiller trains in that stage, unchanged for the rest (and the batch-norm statistics).
CE weight 0 isolates the method's gradient; lr 1 makes the update large against float32.
"""

import copy

import pytest
import torch
import torch.nn.functional as F
from support import repdistiller_refs as R

from skdlib.distill import DistillConfig, DistillTrainer
from skdlib.models import create_model

LR, WD = 1.0, 5e-4
N_DATA, LABELS = 24, torch.arange(24) % 6  # CRD: a 24-image "training set" of 6 classes


def _batch(n=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    index = torch.randperm(N_DATA, generator=g)[:n]
    scale = torch.linspace(0.2, 3.0, n).view(n, 1, 1, 1)  # diverse samples: random networks
    return torch.randn(n, 3, 32, 32, generator=g) * scale, LABELS[index], index  # map alike


def _trained_looking(model, seed):
    """Batch norms as after training (scales, shifts and running statistics away from their
    initial 1, 0, 0, 1), so that eval-mode and second calls of them matter."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                c = m.num_features
                m.weight.copy_(0.5 + torch.rand(c, generator=g))
                m.bias.copy_(0.2 * torch.randn(c, generator=g))
                m.running_mean.copy_(0.2 * torch.randn(c, generator=g))
                m.running_var.copy_(0.5 + 1.5 * torch.rand(c, generator=g))
    return model


def _trainer(method, teacher_arch, student_arch, **cfg):
    torch.manual_seed(0)
    student = _trained_looking(create_model(student_arch), 1)
    teacher = _trained_looking(create_model(teacher_arch), 2).eval()
    base = {"ce_weight": 0.0, "lr": LR, "init_lr": LR, "weight_decay": WD}
    config = DistillConfig(method=method, **{**base, **cfg})
    return DistillTrainer(
        student, config, student_arch, teacher_model=teacher, teacher_arch=teacher_arch,
        train_targets=LABELS, device="cpu",
    )  # fmt: skip


def _snapshot(tr):
    """float64 copies of student, teacher and modules, in the modes the step will use."""
    s, t = copy.deepcopy(tr.student).double(), copy.deepcopy(tr.teacher_model).double()
    m = copy.deepcopy(tr.term.modules).double() if tr.term.modules is not None else None
    return s, t, m


def _check_update(tr, before, reference_loss, trained):
    """``trained``: the float64 modules whose parameters the stage trains; every other
    parameter of the student and the method's modules must be unchanged."""
    s64, _, m64 = before
    trained_params = {id(p) for mod in trained for p in mod.parameters()}
    reference_loss.backward()
    pairs = [(s64, tr.student)]
    if m64 is not None:
        pairs.append((m64, tr.term.modules))
    checked = 0
    for ref_mod, got_mod in pairs:
        got = dict(got_mod.named_parameters())
        for name, p in ref_mod.named_parameters():
            new = got[name].detach().double()
            if id(p) in trained_params and p.grad is not None:
                want = p.detach() - LR * (p.grad + WD * p.detach())
                delta, want_delta = new - p.detach(), want - p.detach()
                scale = want_delta.abs().max().item()
                err = (delta - want_delta).abs().max().item()
                assert err <= 2e-3 * scale + 1e-5, (name, err, scale)  # float32 against float64
                checked += 1
            else:
                assert torch.equal(new, p.detach()), f"{name} changed but is not trained"
        got_buffers = dict(got_mod.named_buffers())
        for name, b in ref_mod.named_buffers():
            if b.is_floating_point() and not name.startswith("memory"):
                torch.testing.assert_close(got_buffers[name].double(), b, rtol=1e-4, atol=1e-5)
    assert checked > 0


def _main_step(tr, x, y, index=None):
    tr.term.set_modes("main")
    before = _snapshot(tr)
    out = tr.train_step(x, y, index)
    return before, out


def _ce0(s_logits, y):
    return 0.0 * F.cross_entropy(s_logits, y)


# -- main-stage methods ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("teacher", "student", "conv"),
    [
        ("resnet8x4", "resnet20", "1x1"),  # equal sizes: a 1x1 conv, 32 -> 128 channels
        ("resnet8x4", "vgg8", "transposed"),  # 8x8 student hint, 16x16 teacher's
        ("vgg8", "resnet20", "stride2"),  # 16x16 student hint, 8x8 teacher's
    ],
)
def test_fitnet(teacher, student, conv):
    tr = _trainer("fitnet", teacher, student)
    reg = tr.term.modules["regressor"]
    kind = {"1x1": (1, 1), "stride2": (3, 3), "transposed": (4, 4)}[conv]
    assert reg.conv.kernel_size == kind and (conv == "transposed") == isinstance(
        reg.conv, torch.nn.ConvTranspose2d
    )
    x, y, _ = _batch()
    (s, t, m), out = _main_step(tr, x, y)
    fs, zs = R.crd_features(s, x.double())
    with torch.no_grad():
        ft, _ = R.crd_features(t, x.double())
    term = R.ref_hint(R.conv_reg(fs[2], m["regressor"]), ft[2])  # CRD's hint_layer 2
    assert float(out["distill"]) == pytest.approx(float(term), rel=1e-5)
    _check_update(tr, (s, t, m), _ce0(zs, y) + 100.0 * term, [s, m["regressor"]])


def test_vid():
    tr = _trainer("vid", "resnet8x4", "resnet20")
    x, y, _ = _batch()
    (s, t, m), out = _main_step(tr, x, y)
    fs, zs = R.crd_features(s, x.double())
    with torch.no_grad():
        ft, _ = R.crd_features(t, x.double())
    heads = list(m["regressors"])
    assert [float(h.log_scale[0]) for h in heads] == pytest.approx(
        [R.inverse_softplus(5.0 - 1e-5)] * 3, rel=1e-6
    )
    term = sum(R.ref_vid(a, b, h) for a, b, h in zip(fs[1:-1], ft[1:-1], heads, strict=True))
    assert float(out["distill"]) == pytest.approx(float(term), rel=1e-5)
    _check_update(tr, (s, t, m), _ce0(zs, y) + 1.0 * term, [s, m["regressors"]])


def test_nst():
    tr = _trainer("nst", "resnet8x4", "resnet20")
    x, y, _ = _batch()
    (s, t, m), out = _main_step(tr, x, y)
    fs, zs = R.crd_features(s, x.double())
    with torch.no_grad():
        ft, _ = R.crd_features(t, x.double())
    term = sum(R.ref_nst(a, b) for a, b in zip(fs[1:-1], ft[1:-1], strict=True))
    assert float(out["distill"]) == pytest.approx(float(term), rel=1e-5)
    _check_update(tr, (s, t, m), _ce0(zs, y) + 50.0 * term, [s])


def test_cc_trains_both_embeddings():
    tr = _trainer("cc", "resnet8x4", "resnet20")
    x, y, _ = _batch()
    (s, t, m), out = _main_step(tr, x, y)
    fs, zs = R.crd_features(s, x.double())
    with torch.no_grad():
        ft, _ = R.crd_features(t, x.double())
    term = R.ref_cc(R.embed(fs[-1], m["embed_s"], False), R.embed(ft[-1], m["embed_t"], False))
    assert float(out["distill"]) == pytest.approx(float(term), rel=1e-5)
    _check_update(tr, (s, t, m), _ce0(zs, y) + 0.02 * term, [s, m["embed_s"], m["embed_t"]])


def test_ft_main_stage_trains_the_translator_not_the_paraphraser():
    tr = _trainer("ft", "resnet8x4", "resnet20")
    x, y, _ = _batch()
    (s, t, m), out = _main_step(tr, x, y)
    assert not tr.term.modules["paraphraser"].training and tr.term.modules["translator"].training
    fs, zs = R.crd_features(s, x.double())
    with torch.no_grad():
        ft, _ = R.crd_features(t, x.double())
        factor_t = R.convs(ft[-2], m["paraphraser"].encoder, leaky=0.1)
    factor_s = R.convs(fs[-2], m["translator"].encoder, leaky=0.1)
    term = R.ref_factor(factor_s, factor_t)
    assert float(out["distill"]) == pytest.approx(float(term), rel=1e-5)
    _check_update(tr, (s, t, m), _ce0(zs, y) + 200.0 * term, [s, m["translator"]])


def test_crd_scores_memory_and_z():
    tr = _trainer("crd", "resnet8x4", "resnet20", settings={"crd": {"nce_k": 10}})
    memory = tr.term.modules["memory"]
    assert memory.temperature == torch.tensor(0.07).item() != 0.07  # float32's 0.07
    x, y, index = _batch()
    (s, t, m), out = _main_step(tr, x, y, index)
    idx = memory.last_contrast
    assert idx.shape == (8, 11) and torch.equal(idx[:, 0], index)
    for row, label in zip(idx[:, 1:], y, strict=True):  # other classes, no repeats (20 >= 10)
        assert (LABELS[row] != label).all() and len(set(row.tolist())) == 10
    fs, zs = R.crd_features(s, x.double())
    with torch.no_grad():
        ft, _ = R.crd_features(t, x.double())
    v_s, v_t = R.embed(fs[-1], m["embed_s"]), R.embed(ft[-1], m["embed_t"])
    mem = m["memory"]
    temp = memory.temperature
    scores_s = R.ref_crd_scores(mem.memory_t, v_s, idx, temp)  # student anchor, teacher memory
    scores_t = R.ref_crd_scores(mem.memory_s, v_t, idx, temp)
    z_s, z_t = float(scores_s.mean()) * N_DATA, float(scores_t.mean()) * N_DATA
    assert memory.z.tolist() == pytest.approx([z_s, z_t], rel=1e-5)
    term = R.ref_nce(scores_s / z_s, N_DATA) + R.ref_nce(scores_t / z_t, N_DATA)
    assert float(out["distill"]) == pytest.approx(float(term), rel=1e-5)
    with torch.no_grad():  # the batch's rows moved: normalise(0.5 old + 0.5 v); the rest kept
        for name, v in (("memory_s", v_s), ("memory_t", v_t)):
            old, new = getattr(mem, name), getattr(memory, name).double()
            rows = 0.5 * old[index] + 0.5 * v
            want = rows / rows.norm(dim=1, keepdim=True)
            torch.testing.assert_close(new[index], want, rtol=1e-5, atol=1e-6)
            rest = torch.ones(N_DATA, dtype=torch.bool)
            rest[index] = False
            assert torch.equal(new[rest], old[rest])
    _check_update(tr, (s, t, m), _ce0(zs, y) + 0.8 * term, [s, m["embed_s"], m["embed_t"]])
    z = memory.z.clone()
    tr.train_step(*_batch(seed=1))  # Z is set once, by the first batch
    assert torch.equal(memory.z, z)


@pytest.mark.parametrize(("epoch", "warm"), [(1, 0.05), (25, 1.0)])
def test_dkd_with_the_pairs_beta_and_warmup(epoch, warm):
    tr = _trainer("dkd", "resnet56", "resnet20")
    assert tr.settings["beta"] == 2.0  # mdistiller's res56_res20.yaml
    tr.epoch = epoch - 1
    x, y, _ = _batch()
    (s, t, m), out = _main_step(tr, x, y)
    _, zs = R.crd_features(s, x.double())
    with torch.no_grad():
        _, zt = R.crd_features(t, x.double())
    term = warm * R.ref_dkd(zs, zt, y, 1.0, 2.0, 4.0)
    assert float(out["distill"]) == pytest.approx(float(term), rel=1e-5)
    _check_update(tr, (s, t, m), _ce0(zs, y) + 1.0 * term, [s])


# -- the methods that existed before, stepped the same way ----------------------------------------


def _kd(zs, zt, temp=4.0):
    p, log_q = torch.softmax(zt / temp, 1), torch.log_softmax(zs / temp, 1)
    return (p * (torch.log(p) - log_q)).sum() / zs.shape[0] * temp**2


@pytest.mark.parametrize("method", ["kd", "pkt", "at", "sp", "rkd"])
def test_the_earlier_baselines(method):
    tr = _trainer(method, "resnet32", "resnet20")
    x, y, _ = _batch()
    (s, t, m), out = _main_step(tr, x, y)
    fs, zs = R.crd_features(s, x.double())
    with torch.no_grad():
        ft, zt = R.crd_features(t, x.double())
    if method == "kd":
        term, beta = _kd(zs, zt), 0.9
    elif method == "at":
        term = sum(
            ((R._unit_rows((a * a).mean(1).flatten(1)) - R._unit_rows((b * b).mean(1).flatten(1)))
             ** 2).mean()
            for a, b in zip(fs[1:-1], ft[1:-1], strict=True)
        )  # fmt: skip
        beta = 1000.0
    elif method == "sp":
        gs, gt = fs[-2].flatten(1) @ fs[-2].flatten(1).T, ft[-2].flatten(1) @ ft[-2].flatten(1).T
        term, beta = ((R._unit_rows(gt) - R._unit_rows(gs)) ** 2).sum() / 64, 3000.0
    elif method == "pkt":
        term, beta = R.ref_pkt(fs[-1], ft[-1]), 30000.0
    else:
        term, beta = R.ref_rkd(fs[-1], ft[-1]), 1.0
    got = out["kd"] if method == "kd" else out["distill"]
    rel = 1e-4 if method == "pkt" else 1e-5  # PKT's p log(p / q) at p ≈ q: float32's limit
    assert float(got) == pytest.approx(float(term), rel=rel)
    _check_update(tr, (s, t, m), _ce0(zs, y) + beta * term, [s])


@pytest.mark.parametrize("method", ["skd", "skd+kd"])
def test_skd_step(method):
    from support.distill_refs import random_vectors

    torch.manual_seed(0)
    vectors = random_vectors([16, 32, 64])
    teacher = _trained_looking(create_model("resnet32"), 2).eval()
    config = DistillConfig(method=method, ce_weight=0.0, lr=LR, weight_decay=WD)
    student = _trained_looking(create_model("resnet20"), 1)
    tr = DistillTrainer(student, config, "resnet20", teacher_model=teacher, embedding=vectors,
                        device="cpu")  # fmt: skip
    assert (tr.teacher_model is None) == (method == "skd")  # SKD never loads the teacher
    x, y, _ = _batch()
    tr.term.set_modes("main")
    s = copy.deepcopy(tr.student).double()
    out = tr.train_step(x, y)
    fs, zs = R.crd_features(s, x.double())
    term = sum(R.ref_skd(f, v.double()) for f, v in zip(fs[1:-1], vectors.values(), strict=True))
    term = term / 3
    assert float(out["distill"]) == pytest.approx(float(term), rel=1e-5)
    total = _ce0(zs, y) + 0.5 * term
    if method == "skd+kd":  # CE + KD + beta SKD, KD at weight 1
        with torch.no_grad():
            _, zt = R.crd_features(copy.deepcopy(teacher).double(), x.double())
        kd = _kd(zs, zt)
        assert float(out["kd"]) == pytest.approx(float(kd), rel=1e-5)
        total = total + 1.0 * kd
    _check_update(tr, (s, None, None), total, [s])


# -- initialisation stages ------------------------------------------------------------------------


def _init_step(tr, x, y):
    tr.term.set_modes("init")
    before = _snapshot(tr)
    loss = tr.init_stage.step(x, y)
    return before, loss


@pytest.mark.parametrize(
    ("teacher", "student"), [("resnet8x4", "resnet20"), ("wrn_40_2", "wrn_16_2")]
)
def test_ab_init_stage(teacher, student):
    tr = _trainer("ab", teacher, student)
    connectors = list(tr.term.modules["connector"])
    identity = teacher == "wrn_40_2"  # equal channels and sizes: identity connectors
    assert all(isinstance(c, torch.nn.Identity) == identity for c in connectors)
    x, y, _ = _batch()
    (s, t, m), loss = _init_step(tr, x, y)
    head = ["fc"] + (["bn1"] if student.startswith("wrn") else [])
    assert all(not s.get_submodule(h).training for h in head)
    gs, _ = R.crd_features(s, x.double(), preact=True)
    with torch.no_grad():
        gt, _ = R.crd_features(t, x.double(), preact=True)
    connected = [
        g if identity else R.conv_reg(g, c, relu=False)
        for g, c in zip(gs[1:-1], m["connector"], strict=True)
    ]
    term = R.ref_ab(connected, gt[1:-1])
    assert float(loss) == pytest.approx(float(term), rel=1e-5)
    feature_modules = [c for name, c in s.named_children() if name not in head]
    _check_update(tr, (s, t, m), term, [*feature_modules, m["connector"]])


def test_ft_init_stage_trains_only_the_paraphraser():
    tr = _trainer("ft", "resnet8x4", "resnet20")
    assert tr.init_stage.lr == LR  # init_lr is set here (else 0.01 for a resnet student)
    x, y, _ = _batch()
    (s, t, m), loss = _init_step(tr, x, y)
    with torch.no_grad():
        ft, _ = R.crd_features(t, x.double())
    p = m["paraphraser"]
    rec = R.convs(R.convs(ft[-2], p.encoder, leaky=0.1), p.decoder, leaky=0.1)
    term = ((rec - ft[-2]) ** 2).mean()
    assert float(loss) == pytest.approx(float(term), rel=1e-5)
    _check_update(tr, (s, t, m), term, [m["paraphraser"]])


def test_fsp_init_stage_trains_the_students_feature_modules():
    tr = _trainer("fsp", "resnet32", "resnet20")
    x, y, _ = _batch()
    (s, t, m), loss = _init_step(tr, x, y)
    gs, _ = R.crd_features(s, x.double())
    with torch.no_grad():
        gt, _ = R.crd_features(t, x.double())
    term = R.ref_fsp(gs[:-1], gt[:-1])  # stem and the three stages: three FSP matrices
    assert float(loss) == pytest.approx(float(term), rel=1e-5)
    _check_update(tr, (s, t, m), term, [c for n, c in s.named_children() if n != "fc"])


def test_ab_and_fsp_main_stages_are_plain_ce():
    calls = []

    def count(*_):
        calls.append(1)

    for method in ("ab", "fsp"):
        tr = _trainer(method, "resnet32", "resnet20", ce_weight=None)
        tr.teacher_model.register_forward_hook(count)
        out = tr.train_step(*_batch()[:2])
        assert float(out["distill"]) == 0.0 and calls == []  # RepDistiller's loss_kd = 0
        assert float(out["loss"]) == pytest.approx(float(out["ce"]))
