"""Named passes over the IR. Each is a function Graph -> Graph in its own file that returns a
new graph and leaves its argument alone; each keeps the input/param nodes and the outputs' ids.

The pipeline, in order, and why that order:

1. infer_shapes                      check every node's type first: a bad graph fails here,
                                     with its node named, not deep inside a later pass
2. constant_folding                  compute what depends on consts only
3. algebraic_simplification          x*1, x+0, neg(neg(x)), copies, identity views ... (after
                                     folding, so folded consts of 1 and 0 are seen)
4. common_subexpression_elimination  after the rewrites, which make more nodes look alike
5. dead_code_elimination             drop what the passes above left unread
6. elementwise_fusion                last of the rewrites: it hides ops inside fused nodes,
                                     where the passes above could not see them
7. memory_planning                   an analysis of the final program: annotates, no rewrite
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from collections.abc import Set as AbstractSet

from ..ir import Graph
from .algebraic import algebraic_simplification
from .constant_folding import constant_folding
from .cse import common_subexpression_elimination
from .dce import dead_code_elimination
from .fusion import elementwise_fusion
from .memory_plan import MemoryPlan, memory_planning, plan_memory
from .shape_inference import infer_shapes

# The order compiled code goes through.
PIPELINE = [
    infer_shapes,
    constant_folding,
    algebraic_simplification,
    common_subexpression_elimination,
    dead_code_elimination,
    elementwise_fusion,
    memory_planning,
]

Pass = Callable[[Graph], Graph]


def run_passes(graph: Graph, passes: Sequence[Pass] | None = None, keep: AbstractSet[int] = frozenset()) -> Graph:
    """Apply each pass in order (default: PIPELINE) and check the result.

    Values in `keep` (forward values the backward graph reads) are treated as outputs while
    the passes run, so no pass removes or renames them.
    """
    passes = PIPELINE if passes is None else passes
    extra = [i for i in sorted(keep) if i not in graph.outputs]
    graph.outputs = list(graph.outputs) + extra
    for apply_pass in passes:
        graph = apply_pass(graph)
    graph.outputs = graph.outputs[: len(graph.outputs) - len(extra)] if extra else graph.outputs
    graph.check()
    return graph


__all__ = [
    "PIPELINE",
    "Pass",
    "MemoryPlan",
    "algebraic_simplification",
    "common_subexpression_elimination",
    "constant_folding",
    "dead_code_elimination",
    "elementwise_fusion",
    "infer_shapes",
    "memory_planning",
    "plan_memory",
    "run_passes",
]
