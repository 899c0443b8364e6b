"""skdlib.distill.crd: CRD's negatives come from other classes (without replacement while there
are enough), its memories start as RepDistiller's and move by momentum, its scores and NCE loss
equal loop references, and Z is fixed by the first batch."""

import math

import pytest
import torch
from support.repdistiller_refs import ref_crd_scores, ref_nce

from skdlib.distill.crd import ContrastMemory, contrast_loss

LABELS = torch.arange(30) % 3  # 30 images, 3 classes of 10: 20 of other classes per image


def test_negatives_are_other_classes_without_replacement_positive_first():
    mem = ContrastMemory(8, LABELS, nce_k=15)
    index = torch.tensor([0, 4, 8, 29])
    torch.manual_seed(0)
    idx = mem.sample(index, LABELS[index])
    assert idx.shape == (4, 16) and torch.equal(idx[:, 0], index)
    for row, label in zip(idx[:, 1:], LABELS[index], strict=True):
        assert (LABELS[row] != label).all() and len(set(row.tolist())) == 15
    torch.manual_seed(0)
    assert torch.equal(mem.sample(index, LABELS[index]), idx)  # the global RNG decides


def test_with_replacement_when_a_class_has_too_few_others_and_uniform():
    mem = ContrastMemory(8, LABELS, nce_k=400)  # 400 > 20: RepDistiller's replace=True
    torch.manual_seed(1)
    idx = mem.sample(torch.tensor([3]), LABELS[[3]])[0, 1:]
    assert (LABELS[idx] != LABELS[3]).all()
    counts = torch.bincount(idx, minlength=30).float()[LABELS != LABELS[3]]
    assert counts.min() > 0 and (counts - 20).abs().max() < 5 * math.sqrt(20)  # ~Poisson(20)
    with pytest.raises(ValueError, match="labels are not those of its sample indices"):
        mem.sample(torch.tensor([3]), torch.tensor([2]))


def test_memories_start_uniform_in_the_published_range_student_side_first():
    torch.manual_seed(5)
    mem = ContrastMemory(12, LABELS, nce_k=4)
    torch.manual_seed(5)
    stdv = 1 / math.sqrt(12 / 3)
    first, second = torch.rand(30, 12) * 2 * stdv - stdv, torch.rand(30, 12) * 2 * stdv - stdv
    torch.testing.assert_close(mem.memory_s, first)
    torch.testing.assert_close(mem.memory_t, second)
    assert mem.z.tolist() == [-1.0, -1.0]
    assert set(mem.state_dict()) == {"memory_s", "memory_t", "z"}  # labels come from the data


def test_scores_z_and_the_momentum_update_against_loops():
    torch.manual_seed(0)
    mem = ContrastMemory(6, LABELS, nce_k=7, momentum=0.5)
    g = torch.Generator().manual_seed(1)
    v_s = torch.nn.functional.normalize(torch.randn(4, 6, generator=g), dim=1).requires_grad_()
    v_t = torch.nn.functional.normalize(torch.randn(4, 6, generator=g), dim=1).requires_grad_()
    index = torch.tensor([1, 5, 9, 20])
    contrast = mem.sample(index, LABELS[index])
    old_s, old_t = mem.memory_s.clone().double(), mem.memory_t.clone().double()
    out_s, out_t = mem(v_s, v_t, index, contrast)
    temp = torch.tensor(0.07).item()
    want_s = ref_crd_scores(old_t, v_s.detach().double(), contrast, temp)
    want_t = ref_crd_scores(old_s, v_t.detach().double(), contrast, temp)
    z = [float(want_s.mean()) * 30, float(want_t.mean()) * 30]
    assert mem.z.tolist() == pytest.approx(z, rel=1e-6)
    torch.testing.assert_close(out_s.double(), want_s / z[0], rtol=1e-5, atol=0)
    torch.testing.assert_close(out_t.double(), want_t / z[1], rtol=1e-5, atol=0)
    (contrast_loss(out_s, 30) + contrast_loss(out_t, 30)).backward()  # old memory still intact
    assert v_s.grad is not None and v_t.grad is not None
    for new, old, v in ((mem.memory_s, old_s, v_s), (mem.memory_t, old_t, v_t)):
        rows = 0.5 * old[index] + 0.5 * v.detach().double()
        torch.testing.assert_close(new[index].double(), rows / rows.norm(dim=1, keepdim=True))
        keep = torch.ones(30, dtype=torch.bool)
        keep[index] = False
        assert torch.equal(new[keep].double(), old[keep])
    z_before = mem.z.clone()
    mem(v_s.detach(), v_t.detach(), index, contrast)
    assert torch.equal(mem.z, z_before)  # fixed after the first batch


def test_nce_loss_equals_the_loop_definition():
    g = torch.Generator().manual_seed(2)
    x = torch.rand(3, 9, generator=g, dtype=torch.float64) * 2
    assert float(contrast_loss(x, 50)) == pytest.approx(float(ref_nce(x, 50)), rel=1e-12)
    with pytest.raises(ValueError, match="CRD needs >= 2 training images"):
        ContrastMemory(4, torch.tensor([0]), nce_k=3)
