"""tools/notebook_queue.py: every notebook once, after the notebooks whose records it reads, longest chain first."""
import importlib.util
import io
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("notebook_queue", ROOT / "tools" / "notebook_queue.py")
queue = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(queue)

# A stand-in for nbval: appends (notebook, "start"/"end", time) to a JSON-lines file, sleeps a little,
# and fails for the notebooks named in FAIL.
FAKE = """
import json, os, sys, time
nb = os.path.basename(sys.argv[-1])[:2]
def note(what):
    with open(os.environ["EVENTS"], "a") as f:
        f.write(json.dumps([nb, what, time.time(), os.environ.get("TF_NUM_INTRAOP_THREADS")]) + "\\n")
note("start")
time.sleep(float(os.environ.get("SLEEP", "0.3")))
print("output of", nb)
note("end")
sys.exit(1 if nb in os.environ.get("FAIL", "").split(",") else 0)
"""


def _paths(tmp_path, numbers):
    folder = tmp_path / "notebooks"
    folder.mkdir(exist_ok=True)
    for n in numbers:
        (folder / f"{n}_x.ipynb").write_text("{}")
    return queue.notebooks(folder)


def _run(tmp_path, monkeypatch, numbers=tuple(queue.MINUTES), workers=2, fail="", sleep="0.3"):
    script = tmp_path / "fake.py"
    script.write_text(FAKE)
    events = tmp_path / "events.jsonl"
    monkeypatch.setenv("EVENTS", str(events))
    monkeypatch.setenv("FAIL", fail)
    monkeypatch.setenv("SLEEP", sleep)
    monkeypatch.delenv("TF_NUM_INTRAOP_THREADS", raising=False)
    out = io.StringIO()
    status = queue.run([sys.executable, str(script)], _paths(tmp_path, numbers), workers=workers,
                       logs=tmp_path / "logs", out=out)
    rows = [json.loads(line) for line in events.read_text().splitlines()] if events.exists() else []
    times = {}
    for nb, what, t, threads in rows:
        times.setdefault(nb, {})[what] = t
        times[nb]["threads"] = threads
    return status, times, out.getvalue()


def test_every_notebook_once_after_the_notebooks_it_reads(tmp_path, monkeypatch):
    status, times, out = _run(tmp_path, monkeypatch)
    assert status == 0
    assert sorted(times) == sorted(queue.MINUTES)
    for nb, needs in queue.NEEDS.items():
        for n in needs:
            assert times[n]["end"] <= times[nb]["start"], f"{nb} started before {n} ended"
    assert "10 passed, 0 failed, 0 not run" in out
    for nb in times:  # each notebook's output is printed, from its own log
        assert f"output of {nb}" in out and (tmp_path / "logs" / f"{nb}.log").read_text() == f"output of {nb}\n"


def test_two_at_once_longest_first_with_one_thread_each_on_two_cores(tmp_path, monkeypatch):
    monkeypatch.setattr(queue.os, "cpu_count", lambda: 2)
    status, times, _ = _run(tmp_path, monkeypatch)
    assert status == 0
    first_two = sorted(times, key=lambda nb: times[nb]["start"])[:2]
    assert set(first_two) == {"03", "01"}  # 03 is the longest; 01 heads the chain 01 -> 04 -> 07 -> 09
    spans = sorted((t["start"], t["end"]) for t in times.values())
    most = max(sum(s <= start < e for s, e in spans) for start, _ in spans)
    assert most == 2
    assert {t["threads"] for t in times.values()} == {"1"}


def test_one_worker_runs_them_in_number_order(tmp_path, monkeypatch):
    status, times, _ = _run(tmp_path, monkeypatch, numbers=("01", "02", "04", "05", "09"), workers=1,
                            sleep="0.05")
    assert status == 0
    order = sorted(times, key=lambda nb: times[nb]["start"])
    assert order.index("01") < order.index("04") < order.index("05") < order.index("09")


def test_a_failed_notebook_stops_those_that_read_it_and_the_others_still_run(tmp_path, monkeypatch):
    status, times, out = _run(tmp_path, monkeypatch, fail="04", sleep="0.05")
    assert status == 1
    assert {"05", "06", "07", "08", "09"}.isdisjoint(times)  # they read 04's records
    assert {"01", "02", "03", "04", "10"} <= set(times)
    assert "== 04 FAILED (exit 1)" in out
    assert "== 05 NOT RUN: it reads the records of 04, which did not pass" in out
    assert "== 09 NOT RUN: it reads the records of 04, 05, 06, 07, 08, which did not pass" in out
    assert "(not passed: 04, 05, 06, 07, 08, 09)" in out


def test_a_subset_runs_without_the_notebooks_it_leaves_out(tmp_path, monkeypatch):
    """make nbtest-jax NOTEBOOKS=...: a notebook whose needs are left out trains what it reads itself."""
    status, times, _ = _run(tmp_path, monkeypatch, numbers=("05", "10"), sleep="0.05")
    assert status == 0 and sorted(times) == ["05", "10"]


def test_a_notebook_without_a_measured_time_is_refused_by_name(tmp_path, monkeypatch):
    with pytest.raises(SystemExit, match="no measured time for notebook.s. 11; add them to MINUTES"):
        _run(tmp_path, monkeypatch, numbers=("01", "11"))


def test_the_notebook_heading_the_longest_chain_goes_first():
    present = set(queue.MINUTES)
    m = queue.MINUTES
    assert queue.critical_minutes("01", present) == pytest.approx(
        m["01"] + m["04"] + max(m[n] for n in ("05", "06", "07", "08")) + m["09"])
    assert queue.critical_minutes("09", present) == m["09"] and queue.critical_minutes("10", present) == m["10"]
    ready = [Path(f"{n}_x.ipynb") for n in ("01", "02", "03", "10")]
    assert queue.next_ready(ready, set(), present).name == "03_x.ipynb"
    assert queue.next_ready(ready[:2] + ready[3:], set(), present).name == "01_x.ipynb"


def test_threads_already_set_are_kept(monkeypatch):
    monkeypatch.setattr(queue.os, "cpu_count", lambda: 16)
    assert queue.worker_env(2, {})["TF_NUM_INTRAOP_THREADS"] == "8"
    assert queue.worker_env(2, {"TF_NUM_INTRAOP_THREADS": "3"})["TF_NUM_INTRAOP_THREADS"] == "3"


def test_every_walkthrough_notebook_has_a_measured_time_and_known_needs():
    numbers = {queue.number(p) for p in queue.notebooks()}
    assert numbers == set(queue.MINUTES)
    assert {n for needs in queue.NEEDS.values() for n in needs} | set(queue.NEEDS) <= numbers


def test_command_line_needs_a_command(capsys):
    with pytest.raises(SystemExit):
        queue.main(["--workers", "2"])
    assert "give the command after --" in capsys.readouterr().err
