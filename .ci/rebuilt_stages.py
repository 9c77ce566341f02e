"""Print the stages CI rebuilds from scratch: every stage of dvc.yaml except the named ones and
what depends on them (DVC's own graph), one address per line, in dvc.yaml's order.

Usage: rebuilt_stages.py [STAGE ...]; an unknown stage name is an error, so a renamed stage
cannot drop out of the list unnoticed.
"""

import sys

import networkx as nx
from dvc.repo import Repo


def rebuilt_stages(left_out: list[str]) -> tuple[list[str], list[str]]:
    """The stages to rebuild, and those left out with everything downstream of them."""
    graph = Repo(".").index.graph  # an edge runs from a stage to a stage it depends on
    stages = {stage.addressing: stage for stage in graph.nodes}
    unknown = sorted(set(left_out) - set(stages))
    if unknown:
        raise SystemExit(f".ci/run: no such stage in dvc.yaml: {', '.join(unknown)}")
    skipped = set(left_out)
    for name in left_out:
        skipped |= {stage.addressing for stage in nx.ancestors(graph, stages[name])}
    order = list(stages)  # dvc.yaml's order, foreach entries in params.yaml's order
    return [name for name in order if name not in skipped], [name for name in order if name in skipped]


def main() -> None:
    rebuilt, skipped = rebuilt_stages(sys.argv[1:])
    print(f"not rebuilt ({len(skipped)}): {' '.join(skipped)}", file=sys.stderr)
    print("\n".join(rebuilt))


if __name__ == "__main__":
    main()
