"""Module 0: Module and Parameter."""

from __future__ import annotations

import pytest

import minitorch
from minitorch import Module, Parameter, Scalar


class Leaf(Module):
    def __init__(self) -> None:
        super().__init__()
        self.w = Parameter(Scalar(1.0))
        self.b = Parameter(Scalar(2.0))

    def forward(self, x: float) -> Scalar:
        return self.w.value * x + self.b.value


class Middle(Module):
    def __init__(self) -> None:
        super().__init__()
        self.left = Leaf()
        self.right = Leaf()
        self.scale = Parameter(Scalar(3.0))


class Root(Module):
    def __init__(self) -> None:
        super().__init__()
        self.mid = Middle()
        self.out = Leaf()
        self.not_a_parameter = 7


@pytest.mark.task0_3
def test_named_parameters_walks_the_tree() -> None:
    names = [name for name, _ in Root().named_parameters()]
    assert sorted(names) == sorted(
        [
            "mid.scale",
            "mid.left.w",
            "mid.left.b",
            "mid.right.w",
            "mid.right.b",
            "out.w",
            "out.b",
        ]
    )


@pytest.mark.task0_3
def test_parameters_and_children() -> None:
    root = Root()
    assert len(root.parameters()) == 7
    assert all(isinstance(p, Parameter) for p in root.parameters())
    assert [type(m).__name__ for m in root.modules()] == ["Middle", "Leaf"]
    assert root.not_a_parameter == 7
    assert root.mid.scale.value.data == 3.0


@pytest.mark.task0_3
def test_train_and_eval_reach_every_descendant() -> None:
    root = Root()
    assert root.training
    root.eval()
    assert not root.training and not root.mid.training and not root.mid.left.training
    assert not root.out.training
    root.train()
    assert root.mid.right.training and root.out.training


def test_parameter_update_keeps_a_trainable_leaf() -> None:
    p = Parameter(Scalar(1.0))
    p.update(Scalar(5.0, requires_grad=False))
    assert p.value.data == 5.0 and p.value.requires_grad


def test_module_forward_and_zero_grad() -> None:
    leaf = Leaf()
    out = leaf(3.0)
    out.backward()
    assert leaf.w.grad == 3.0 and leaf.b.grad == 1.0
    leaf.zero_grad()
    assert leaf.w.grad is None


def test_forgetting_super_init_is_a_clear_error() -> None:
    class Broken(Module):
        def __init__(self) -> None:
            self.w = Parameter(Scalar(1.0))

    with pytest.raises(AttributeError, match="super"):
        Broken()


def test_missing_attribute_error_names_the_module() -> None:
    with pytest.raises(AttributeError, match="Root"):
        Root().nope  # noqa: B018


def test_repr_shows_structure() -> None:
    text = repr(Root())
    assert "(mid): Middle(" in text and "(left): Leaf()" in text


def test_module_without_forward() -> None:
    with pytest.raises(NotImplementedError):
        minitorch.Module()(1.0)
