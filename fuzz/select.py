#!/usr/bin/env python3
"""Picks the committed corpus: at most CAP inputs per target (default 30)
out of a full, minimized corpus, written to fuzz/corpus/TARGET/ (files not
picked are removed from there).

    fuzz/select.py [--cap N] [--from DIR] [TARGET...]

DIR (default fuzz/work) holds one directory per target, as fuzz/run.sh
leaves it after `cargo fuzz cmin`; without DIR/TARGET the target's
committed corpus itself is the source. The choice is deterministic
(greedy, no randomness): each step takes the input that adds the most
features not seen yet, the smaller one on a tie, then the name. Features
stand in for coverage, which needs a nightly build: the first byte, every
byte pair, and every word (a run of letters, digits, `-`, `_`, `.`, up to
32 bytes: flag names, keys, headers). Seeds and regressions are not
selected here: fuzz/seeds/make.py rewrites the seeds, fuzz/regressions/ is
committed as is.
"""
import argparse, heapq, os, re, shutil

root = os.path.dirname(os.path.abspath(__file__))
WORD = re.compile(rb"[A-Za-z0-9_.-]{2,32}")


def features(data):
    f = set()
    if data:
        f.add(("first", data[0]))
    f.update(zip(data, data[1:]))
    f.update(WORD.findall(data))
    return f


def pick(inputs, cap):
    """inputs: {name: bytes}. Returns the chosen names, in the order chosen
    (lazy greedy: a gain only shrinks as more is seen, so a stale gain that
    still leads the heap once recomputed is the best)."""
    feats = {n: features(d) for n, d in inputs.items()}
    heap = [(-len(f), len(inputs[n]), n) for n, f in feats.items()]
    heapq.heapify(heap)
    seen, chosen = set(), []
    while heap and len(chosen) < cap:
        _, size, n = heapq.heappop(heap)
        gain = len(feats[n] - seen)
        if heap and (-gain, size, n) > heap[0]:
            heapq.heappush(heap, (-gain, size, n))
            continue
        if gain == 0 and chosen:
            break  # nothing new left: fewer than CAP inputs are enough
        chosen.append(n)
        seen |= feats[n]
    return chosen


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cap", type=int, default=30)
    ap.add_argument("--from", dest="src", default=os.path.join(root, "work"))
    ap.add_argument("targets", nargs="*")
    a = ap.parse_args()
    targets = a.targets or sorted(
        os.path.splitext(t)[0] for t in os.listdir(os.path.join(root, "fuzz_targets"))
    )
    for t in targets:
        out = os.path.join(root, "corpus", t)
        src = os.path.join(a.src, t)
        if not os.path.isdir(src):
            src = out
        inputs = {}
        for n in sorted(os.listdir(src)):
            with open(os.path.join(src, n), "rb") as f:
                inputs[n] = f.read()
        chosen = pick(inputs, a.cap)
        if os.path.abspath(src) != os.path.abspath(out):
            shutil.rmtree(out, ignore_errors=True)
            os.makedirs(out)
            for n in chosen:
                with open(os.path.join(out, n), "wb") as f:
                    f.write(inputs[n])
        else:
            for n in set(inputs) - set(chosen):
                os.remove(os.path.join(out, n))
        size = sum(len(inputs[n]) for n in chosen)
        print(f"{t}: {len(chosen)} of {len(inputs)} inputs, {size} bytes")


if __name__ == "__main__":
    main()
