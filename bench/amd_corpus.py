"""Write the labelled answering-machine set (tests/peers/amd/corpus.py) to a cache directory
and print where: ``{name}-{label}.wav`` plus each item's recipe as JSON. Deterministic: the
same ``--seed`` and ``--count`` give the same files; nothing here is committed.

    .venv/bin/python bench/amd_corpus.py [--count 300] [--seed 16] [--dir DIR]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.peers.amd.corpus

from tests.peers.amd.corpus import build

DEFAULT_DIR = Path(tempfile.gettempdir()) / "outbound-amd-corpus"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR)
    args = parser.parse_args()
    labels: Counter[str] = Counter()
    home = None
    for sample in build(args.dir, args.count, seed=args.seed):
        labels[sample.item.label] += 1
        home = sample.path.parent
    print(f"{sum(labels.values())} files ({dict(labels)}) in {home}")


if __name__ == "__main__":
    main()
