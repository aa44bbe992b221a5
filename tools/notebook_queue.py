"""Run one command on every notebook, in a few worker processes, in the order the result records need.

Used by ``make nbtest`` (nbval), ``make nbtest-jax`` and ``make notebooks`` (re-execution)::

    python tools/notebook_queue.py --workers 2 --logs build/nbval -- python -m pytest --nbval ...

The command is run once per notebook with the notebook's path appended. A notebook starts when every
notebook it reads records of (:data:`NEEDS`) has passed; among those ready, the one heading the longest
chain of measured minutes (:data:`MINUTES`) goes first, so the workers finish close together. Each
notebook's output goes to ``<logs>/<number>.log`` and is printed, whole, as soon as that notebook ends.
A notebook that fails stops the notebooks that need it (they are reported as not run); the others still
run. The exit status is 0 only when every notebook passed.

Each worker gets ``cores // workers`` TensorFlow threads (``TF_NUM_INTRAOP_THREADS``, unless set): two
kernels on two cores with two threads each contend for the cores; with one thread each, a top-blocks run
took about 15% less time (README, Tests).
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: Which notebooks' records each notebook reads (they must have passed first): 04 reads 01's baseline,
#: 05-08 read 01's baseline and 04's other seeds of it, 09 compares the records of 01-08.
NEEDS = {
    "04": ("01",),
    "05": ("01", "04"),
    "06": ("01", "04"),
    "07": ("01", "04"),
    "08": ("01", "04"),
    "09": ("01", "02", "03", "04", "05", "06", "07", "08"),
}

#: Minutes each notebook took under nbval in this queue (quick profile, TensorFlow, two at once on the 2-core
#: machine, fresh clone, 2026-12-02): the order among ready notebooks (:func:`next_ready`).
MINUTES = {"01": 1.4, "02": 1.9, "03": 17.7, "04": 8.2, "05": 4.7, "06": 5.5, "07": 5.5, "08": 2.8,
           "09": 0.3, "10": 0.5}


def number(path) -> str:
    """The two-digit number a notebook's file name starts with."""
    return Path(path).name[:2]


def notebooks(folder=ROOT / "notebooks") -> list:
    """The walkthrough's notebooks (``NN_*.ipynb``), in number order."""
    return sorted(Path(folder).glob("[0-9][0-9]_*.ipynb"))


def critical_minutes(nb: str, present: set) -> float:
    """Minutes from ``nb``'s start to the end of the longest chain of notebooks waiting for it."""
    after = [m for m in present if nb in NEEDS.get(m, ())]
    return MINUTES.get(nb, 0.0) + max((critical_minutes(m, present) for m in after), default=0.0)


def next_ready(waiting: list, passed: set, present: set):
    """The notebook to start now: of those whose needs (among ``present``) have all passed, the one that
    heads the longest chain (:func:`critical_minutes`): 01, short itself, goes early since 04 waits for it."""
    ready = [p for p in waiting if all(n in passed for n in NEEDS.get(number(p), ()) if n in present)]
    return max(ready, key=lambda p: (critical_minutes(number(p), present), -int(number(p))), default=None)


def blocked(waiting: list, ended_badly: set, present: set) -> list:
    """Waiting notebooks that can never start: a notebook they need failed or was not run."""
    return [p for p in waiting if any(n in ended_badly for n in NEEDS.get(number(p), ()) if n in present)]


def worker_env(workers: int, base=None) -> dict:
    """The environment of one worker: ``TF_NUM_INTRAOP_THREADS`` = cores // workers unless already set."""
    env = dict(os.environ if base is None else base)
    env.setdefault("TF_NUM_INTRAOP_THREADS", str(max(1, (os.cpu_count() or 1) // max(1, workers))))
    return env


def run(command: list, paths: list, workers: int = 2, logs=ROOT / "build" / "notebook-queue", out=sys.stdout) -> int:
    """Run ``command + [path]`` for every path; see the module docstring. Returns the exit status."""
    logs = Path(logs)
    logs.mkdir(parents=True, exist_ok=True)
    present = {number(p) for p in paths}
    unknown = sorted(present - set(MINUTES))
    if unknown:
        raise SystemExit(f"notebook_queue: no measured time for notebook(s) {', '.join(unknown)}; add them to "
                         f"MINUTES (and NEEDS, if they read other notebooks' records) in {__file__}")
    env = worker_env(workers)
    waiting, running, passed, failed, not_run = list(paths), {}, set(), set(), set()
    t_start = time.perf_counter()
    print(f"notebook queue: {len(paths)} notebooks, {workers} at once, TF_NUM_INTRAOP_THREADS="
          f"{env['TF_NUM_INTRAOP_THREADS']}; logs in {logs}/", file=out, flush=True)
    try:
        while waiting or running:
            for p in blocked(waiting, failed | not_run, present):
                waiting.remove(p)
                not_run.add(number(p))
                needs = ", ".join(n for n in NEEDS[number(p)] if n in failed | not_run)
                print(f"== {number(p)} NOT RUN: it reads the records of {needs}, which did not pass",
                      file=out, flush=True)
            while len(running) < workers:
                p = next_ready(waiting, passed, present)
                if p is None:
                    break
                waiting.remove(p)
                log = open(logs / f"{number(p)}.log", "w")
                proc = subprocess.Popen([*command, str(p)], stdout=log, stderr=subprocess.STDOUT, env=env)
                running[proc] = (p, log, time.perf_counter())
                print(f"-- {number(p)} started ({Path(p).name})", file=out, flush=True)
            if not running:
                break
            time.sleep(0.2)
            for proc in [q for q in running if q.poll() is not None]:
                p, log, t0 = running.pop(proc)
                log.close()
                ok = proc.returncode == 0
                (passed if ok else failed).add(number(p))
                print(f"== {number(p)} {'passed' if ok else f'FAILED (exit {proc.returncode})'} in "
                      f"{(time.perf_counter() - t0) / 60:.1f} min", file=out, flush=True)
                print((logs / f"{number(p)}.log").read_text(errors="replace"), file=out, flush=True)
    finally:
        for proc, (_p, log, _t) in running.items():
            proc.kill()
            proc.wait()
            log.close()
    bad = sorted(failed | not_run)
    print(f"notebook queue: {len(passed)} passed, {len(failed)} failed, {len(not_run)} not run, "
          f"{(time.perf_counter() - t_start) / 60:.1f} min" + (f" (not passed: {', '.join(bad)})" if bad else ""),
          file=out, flush=True)
    return 1 if bad else 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     usage="%(prog)s [--workers N] [--logs DIR] [NOTEBOOK ...] -- COMMAND ...")
    parser.add_argument("--workers", type=int, default=2, help="notebooks at once (default 2)")
    parser.add_argument("--logs", default=str(ROOT / "build" / "notebook-queue"), help="one log per notebook here")
    parser.add_argument("notebooks", nargs="*", help="default: every notebooks/NN_*.ipynb")
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--" not in argv or argv.index("--") == len(argv) - 1:
        parser.error("give the command after --")
    cut = argv.index("--")
    args = parser.parse_args(argv[:cut])
    paths = [Path(p) for p in args.notebooks] or notebooks()
    return run(argv[cut + 1:], sorted(paths, key=number), max(1, args.workers), args.logs)


if __name__ == "__main__":
    sys.exit(main())
