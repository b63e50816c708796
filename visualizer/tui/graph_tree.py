"""The graph as a collapsible tree: modules are branches, nodes are leaves.

Lazy: a branch gets its children only when it is first expanded, and a long list of nodes
is split into branches of at most CHUNK children each, so a graph of 10,000 nodes opens
with a hundred lines, not ten thousand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

if TYPE_CHECKING:
    from visualizer.model import GraphModel

CHUNK = 100  # most children one branch shows
NODES_KEY = "__nodes__"  # scope_tree's key for the nodes at one level


@dataclass
class Branch:
    """What a branch stands for: one module of scope_tree, or a run of its node ids."""

    scope: dict[str, Any]  # the scope_tree level (empty for a chunk of nodes)
    node_ids: list[int]  # node ids at this level, or this chunk's ids
    offset: int = 0  # position of node_ids[0] among its level's ids (for chunks)
    is_chunk: bool = False
    populated: bool = False
    scopes: dict[str, TreeNode] = field(default_factory=dict)  # child module branches by label
    chunks: list[TreeNode] = field(default_factory=list)
    chunk_size: int = 0


class GraphTree(Tree[Any]):
    """Tree of a GraphModel's scope_tree; leaf data is a node id, branch data a Branch."""

    def __init__(self, model: GraphModel, **kwargs: Any) -> None:
        super().__init__("graph", **kwargs)
        self.model = model
        self.leaves: dict[int, TreeNode] = {}  # node id -> its leaf, for those added so far
        scope_tree = model.scope_tree()
        self.locations = self._locate(scope_tree)
        self.root.data = Branch(scope_tree, list(scope_tree.get(NODES_KEY, [])))
        self.populate(self.root)
        self.root.expand()

    def populate(self, tree_node: TreeNode) -> None:
        """Give a branch its children (once): module branches, then nodes or chunks of nodes."""
        branch = tree_node.data
        if not isinstance(branch, Branch) or branch.populated:
            return
        branch.populated = True
        for label, sub in branch.scope.items():
            if label != NODES_KEY:
                child = tree_node.add(Text(label, style="bold"), Branch(sub, list(sub.get(NODES_KEY, []))))
                branch.scopes[label] = child
        ids = branch.node_ids
        if len(ids) <= CHUNK:
            for node_id in ids:
                self.leaves[node_id] = tree_node.add_leaf(self.leaf_label(node_id), node_id)
            return
        size = CHUNK
        while len(ids) > size * CHUNK:  # chunks of chunks: at most CHUNK children per branch
            size *= CHUNK
        branch.chunk_size = size
        for start in range(0, len(ids), size):
            part = ids[start : start + size]
            first, last = branch.offset + start, branch.offset + start + len(part) - 1
            chunk_label = Text(f"nodes {first}–{last} ({len(part)})", style="italic")
            branch.chunks.append(tree_node.add(chunk_label, Branch({}, part, branch.offset + start, is_chunk=True)))

    def leaf_label(self, node_id: int) -> Text:
        node = self.model.nodes[node_id]
        label = Text(f"{node.label} #{node_id}")  # always the id: the tree lists every node
        if node.op and node.op != node.label:
            label.append(f" {node.op}", style="dim")
        if node.kind != "op":
            label.append(f" ({node.kind})", style="dim")
        if node.nonfinite:
            label.append(" ⚠", style="bold red")
        return label

    def reveal(self, node_id: int) -> TreeNode | None:
        """The leaf of `node_id`, after populating and expanding the branches above it."""
        if node_id in self.leaves and self._shown(self.leaves[node_id]):
            return self.leaves[node_id]
        location = self.locations.get(node_id)
        if location is None:
            return None
        scopes, position = location
        tree_node = self.root
        for label in scopes:
            self.populate(tree_node)
            tree_node.expand()
            assert isinstance(tree_node.data, Branch)  # a node's location runs through branches
            tree_node = tree_node.data.scopes[label]
        while True:
            self.populate(tree_node)
            tree_node.expand()
            branch = tree_node.data
            assert isinstance(branch, Branch)
            if not branch.chunks:
                return self.leaves.get(node_id)
            tree_node = branch.chunks[(position - branch.offset) // branch.chunk_size]

    def expand_everything(self, limit: int) -> bool:
        """Expand every module; every chunk of nodes too if the graph has at most `limit` nodes.

        Returns False if the nodes stayed folded because there were too many.
        """
        with_nodes = len(self.model.nodes) <= limit
        stack = [self.root]
        while stack:
            tree_node = stack.pop()
            branch = tree_node.data
            if not isinstance(branch, Branch) or (branch.is_chunk and not with_nodes):
                continue  # a node, or a chunk of nodes left folded
            self.populate(tree_node)
            tree_node.expand()
            stack.extend(tree_node.children)
        return with_nodes

    def collapse_everything(self) -> None:
        """Fold every branch back; the root stays open to show the top level."""
        for child in self.root.children:
            child.collapse_all()

    def count(self) -> int:
        """How many tree nodes exist (the measure of laziness)."""
        total, stack = 0, [self.root]
        while stack:
            tree_node = stack.pop()
            total += 1
            stack.extend(tree_node.children)
        return total

    def on_tree_node_expanded(self, event: Tree.NodeExpanded[Any]) -> None:
        self.populate(event.node)

    @staticmethod
    def _shown(tree_node: TreeNode) -> bool:
        parent = tree_node.parent
        while parent is not None:
            if not parent.is_expanded:
                return False
            parent = parent.parent
        return True

    @staticmethod
    def _locate(scope_tree: dict[str, Any]) -> dict[int, tuple[list[str], int]]:
        """node id -> (module labels down to it, its position among its level's node ids)."""
        locations: dict[int, tuple[list[str], int]] = {}
        stack: list[tuple[list[str], dict[str, Any]]] = [([], scope_tree)]
        while stack:
            path, level = stack.pop()
            for position, node_id in enumerate(level.get(NODES_KEY, [])):
                locations[node_id] = (path, position)
            for label, sub in level.items():
                if label != NODES_KEY:
                    stack.append(([*path, label], sub))
        return locations
