"""Benchmark: answering-machine detection over the labelled set the project builds itself.

The set (tests/peers/amd/corpus.py, made with espeak-ng and sox, cached in a temp directory)
is half humans answering ("Hello?", "Yes, speaking", a second phrase after a pause) and half
voicemail greetings (with and without a beep), over several voices, speeds, pitches, levels,
line noise and a G.711 mu-law round trip. Each configuration classifies every file; a NOTSURE
counts as the campaigns' default treatment does: human.

Configurations: Asterisk's rules as they are with its defaults (``asterisk``), this
classifier with the defaults (``defaults``) and with the recommended settings
(``recommended``), and the recommended settings under Asterisk's plain rules
(``rec.+plain``: what the noise-following threshold adds). Then, for the machines, where a
message left after the greeting would start (outbound.amd.greeting_end). The last line is the
recommended settings'.

    .venv/bin/python bench/amd.py [--count 300] [--seed 16] [--dir DIR] [--sweep]
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.peers.amd.corpus

from tests.peers.amd.corpus import Sample, build

from outbound.amd import AmdParams, Decision, Verdict, classify_pcm
from outbound.amd.greeting_end import EndCause, GreetingEndParams, GreetingEndTracker
from outbound.amd.params import FRAME_MS
from outbound.amd.recommended import RECOMMENDED
from outbound.amd.wav import read_pcm

DEFAULT_DIR = Path(tempfile.gettempdir()) / "outbound-amd-corpus"


@dataclass
class Score:
    total: int
    correct: int
    humans: int
    machines: int
    machines_found: int
    humans_as_machine: int
    notsure: int
    median_human_ms: float
    median_machine_ms: float

    @property
    def accuracy(self) -> float:
        return 100.0 * self.correct / self.total

    @property
    def humans_as_machine_pct(self) -> float:
        return 100.0 * self.humans_as_machine / max(self.humans, 1)


def score(corpus: list[tuple[str, bytes]], params: AmdParams, *, plain: bool = False) -> Score:
    decisions: list[tuple[str, Decision]] = [
        (label, classify_pcm(pcm, params, plain=plain)) for label, pcm in corpus
    ]
    human_ms = [d.decision_ms for label, d in decisions if label == "human"]
    machine_ms = [d.decision_ms for label, d in decisions if label == "machine"]
    said_machine = [(label, d.verdict is Verdict.MACHINE) for label, d in decisions]
    return Score(
        total=len(decisions),
        correct=sum((label == "machine") == machine for label, machine in said_machine),
        humans=len(human_ms),
        machines=len(machine_ms),
        machines_found=sum(m for label, m in said_machine if label == "machine"),
        humans_as_machine=sum(m for label, m in said_machine if label == "human"),
        notsure=sum(d.verdict is Verdict.NOTSURE for _, d in decisions),
        median_human_ms=statistics.median(human_ms),
        median_machine_ms=statistics.median(machine_ms),
    )


def describe(name: str, s: Score) -> str:
    return (
        f"{name:<12} accuracy {s.accuracy:5.1f} %  machines found {s.machines_found}/{s.machines}"
        f"  humans as machine {s.humans_as_machine}/{s.humans} ({s.humans_as_machine_pct:.1f} %)"
        f"  NOTSURE {s.notsure}  median decision: humans {s.median_human_ms:.0f} ms,"
        f" machines {s.median_machine_ms:.0f} ms"
    )


def greeting_ends(samples: list[Sample], params: AmdParams) -> str:
    """Where a message left on each machine would start: after its greeting (its beep's end,
    or its last word), never over it, and how long after."""
    after, beeps_found, beeps = 0, 0, 0
    waits: dict[bool, list[int]] = {True: [], False: []}
    machines = [s for s in samples if s.item.label == "machine"]
    for sample in machines:
        tracker = GreetingEndTracker(GreetingEndParams(silence_threshold=params.silence_threshold))
        end = tracker.feed(read_pcm(sample.path))
        assert end is not None  # every file ends in more silence than end_silence
        beeped = bool(sample.timeline.beep_end_ms)
        greeting_end = sample.timeline.beep_end_ms or sample.timeline.speech_end_ms
        beeps += beeped
        beeps_found += (
            beeped and end.cause is EndCause.BEEP and abs(end.end_ms - greeting_end) <= 60
        )
        if end.end_ms >= greeting_end - FRAME_MS:
            after += 1
            waits[beeped].append(max(0, end.end_ms - greeting_end))
    return (
        f"greeting end: message after the whole greeting {after}/{len(machines)}, beep end found"
        f" (within 60 ms) {beeps_found}/{beeps}; median wait after a beep"
        f" {statistics.median(waits[True]):.0f} ms, after a greeting without one"
        f" {statistics.median(waits[False]):.0f} ms"
    )


def sweep(corpus: list[tuple[str, bytes]]) -> None:
    """A coarse grid around the recommended settings, best first (accuracy, then speed)."""
    grid = {
        "maximum_number_of_words": (3, 4, 5, 6),
        "greeting": (1500, 2000, 2500),
        "after_greeting_silence": (800, 900, 1000, 1200),
        "between_words_silence": (50, 100),
    }
    rows = []
    for values in itertools.product(*grid.values()):
        params = RECOMMENDED.replace(**dict(zip(grid, values, strict=True)))
        s = score(corpus, params)
        rows.append((s.accuracy, -s.median_human_ms, values, s))
    rows.sort(key=lambda row: row[:2], reverse=True)
    print("sweep:", ", ".join(grid))
    for _, _, values, s in rows[:15]:
        print(f"  {values}  {describe('', s).strip()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR)
    parser.add_argument("--sweep", action="store_true", help="also try a grid of settings")
    args = parser.parse_args()
    started = time.perf_counter()
    made = list(build(args.dir, args.count, seed=args.seed))
    corpus = [(sample.item.label, read_pcm(sample.path)) for sample in made]
    print(f"{len(corpus)} files ready in {time.perf_counter() - started:.1f} s ({args.dir})")
    started = time.perf_counter()
    print(describe("asterisk", score(corpus, AmdParams(), plain=True)))
    print(describe("defaults", score(corpus, AmdParams())))
    print(describe("rec.+plain", score(corpus, RECOMMENDED, plain=True)))
    best = score(corpus, RECOMMENDED)
    print(describe("recommended", best))
    changed = {k: v for k, v in RECOMMENDED.as_dict().items() if v != getattr(AmdParams(), k)}
    print(f"recommended settings (changes from the defaults): {changed}")
    print(f"classified 4 x {len(corpus)} files in {time.perf_counter() - started:.1f} s")
    print(greeting_ends(made, RECOMMENDED))
    if args.sweep:
        sweep(corpus)
    print(
        f"amd: accuracy={best.accuracy:.1f} humans_as_machine_pct={best.humans_as_machine_pct:.1f}"
        f" median_human_ms={best.median_human_ms:.0f} median_machine_ms="
        f"{best.median_machine_ms:.0f} notsure={best.notsure} settings=recommended"
    )


if __name__ == "__main__":
    main()
