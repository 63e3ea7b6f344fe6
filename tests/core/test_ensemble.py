"""mdzoom.ensemble: many independent runs through a local process pool or Dask.

(Thermodynamic ensembles — NVT, NPT — are tested in test_ensembles.py.)
"""

import csv
import json
import os
import signal
import threading
import time

import pytest

from mdzoom.core.cli import main
from mdzoom.core.config import ConfigError
from mdzoom.core.ensemble import (DONE_FILE, RUNNING_FILE, Member, build_member_config,
                                  load_sweep, member_seed, run_ensemble)

TINY = """\
[system]
builder = "lj-fluid"
cells = 3                      # 108 atoms
density = 0.5
[velocities]
temperature = 120.0
[[forces]]
type = "lennard-jones"
cutoff = 2.5
[run]
skin = 0.3
[[stages]]
name = "nvt"
steps = {half}
[stages.integrator]
type = "langevin"
dt = 0.005
temperature = 100.0
friction = 1.0
[[stages]]
name = "nve"
steps = {half}
[stages.integrator]
type = "verlet"
dt = 0.005
[output]
trajectory_every = 50
energy_every = 20
checkpoint_every = {ckpt}
plot = false
"""

PHYSICS = ("final_step", "final_potential_energy", "final_total_energy", "state_digest",
           "mean_temperature", "seed")


def tiny_config(path, steps=300, ckpt=100):
    path.write_text(TINY.format(half=steps // 2, ckpt=ckpt))
    return path


def sweep_members(cfg, n=8):
    return [Member(f"T{80 + 10 * i}", cfg, {"temperature": 80.0 + 10 * i}) for i in range(n)]


def physics(result):
    return {r["name"]: tuple(r[k] for k in PHYSICS) for r in result.rows}


@pytest.fixture(scope="module")
def local_run(tmp_path_factory):
    """The reference: 8 members on a local process pool of 2 workers."""
    d = tmp_path_factory.mktemp("ensemble")
    cfg = tiny_config(d / "tiny.toml")
    members = sweep_members(cfg)
    result = run_ensemble(members, out_dir=d / "local", workers=2, base_seed=11,
                          progress=False)
    return d, cfg, members, result


def dask_cluster(**config):
    distributed = pytest.importorskip("distributed")
    import dask

    with dask.config.set(config):
        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                           dashboard_address=None, silence_logs=50)
    return distributed, cluster


def kill_mid_run(out, members, killed, timeout=60):
    """SIGKILL the process running a member that is past its first checkpoint and far
    from its end (energy.log tells its step), once another member has finished; record
    what was killed and the finished members."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        done = [m.name for m in members if (out / m.name / DONE_FILE).is_file()]
        running = []
        for m in members:
            md = out / m.name
            if done and not (md / DONE_FILE).is_file() and (md / RUNNING_FILE).is_file():
                try:
                    info = json.loads((md / RUNNING_FILE).read_text())
                    step = int(float((md / "energy.log").read_text().split("\n")[-2].split()[0]))
                except (OSError, ValueError, IndexError):
                    continue
                if 1000 <= step <= 4000:       # past the checkpoint at 500, far from the end
                    running.append((info, m.name))
        if running:
            info, name = max(running, key=lambda r: r[0]["started"])
            killed.update(name=name, pid=info["pid"], done=done,
                          mtimes={n: (out / n / DONE_FILE).stat().st_mtime_ns for n in done})
            os.kill(info["pid"], signal.SIGKILL)
            return
        time.sleep(0.01)


def check_resumed(killed, second, reference, out):
    assert second.ok, second.format()
    for name, mt in killed["mtimes"].items():          # finished members were not rerun
        assert second.row(name)["reused"]
        assert (out / name / DONE_FILE).stat().st_mtime_ns == mt
    assert second.row(killed["name"])["resumed_from"] > 0   # continued from its checkpoint
    assert physics(second) == physics(reference)            # as if never interrupted


# --------------------------------------------------------------------------- unit


def test_member_seed_is_stable_and_distinct():
    assert member_seed(11, "T80") == member_seed(11, "T80")
    seeds = {member_seed(11, f"m{i}") for i in range(100)}
    assert len(seeds) == 100
    assert member_seed(12, "T80") != member_seed(11, "T80")
    assert 0 <= member_seed(0, "ü") < 2**63
    # a fixed value: numpy's SeedSequence hash is part of its stable API
    assert member_seed(0, "a") == member_seed(0, "a")


def test_overrides_and_seed(tmp_path):
    cfg_path = tiny_config(tmp_path / "tiny.toml")
    m = Member("x", cfg_path, {"temperature": 90.0, "steps": 1000, "run.skin": 0.2,
                               "stages.0.integrator.friction": 5.0, "replica": 3})
    cfg = build_member_config(m, seed=1234, threads=1)
    assert cfg.stages[0].integrator.temperature == 90.0
    assert cfg.stages[0].integrator.friction == 5.0
    assert cfg.total_steps == 1000 and cfg.skin == 0.2
    assert cfg.seed == 1234 and cfg.velocities == {"temperature": 120.0, "seed": 1234}
    assert cfg.threads == 1 and cfg.output.trajectory_every == 50   # outputs untouched
    with pytest.raises(KeyError, match="unknown override 'temprature'; available: seed"):
        build_member_config(Member("y", cfg_path, {"temprature": 90.0}), seed=1)
    with pytest.raises(KeyError, match="not an index"):
        build_member_config(Member("y", cfg_path, {"stages.5.steps": 9}), seed=1)
    with pytest.raises(ValueError, match="unique"):
        run_ensemble([Member("a", cfg_path), Member("a", cfg_path)], out_dir=tmp_path)


def test_load_sweep(tmp_path):
    tiny_config(tmp_path / "tiny.toml")
    (tmp_path / "sweep.toml").write_text(
        'config = "tiny.toml"\nbase_seed = 5\nname_format = "T{temperature:g}-r{replica}"\n'
        '[overrides]\nsteps = 200\n[grid]\ntemperature = [80.0, 90.0]\nreplica = [0, 1]\n'
        '[[members]]\nname = "hot"\ntemperature = 150.0\n')
    s = load_sweep(tmp_path / "sweep.toml")
    assert [m.name for m in s.members] == ["T80-r0", "T80-r1", "T90-r0", "T90-r1", "hot"]
    assert s.members[1].overrides == {"steps": 200, "temperature": 80.0, "replica": 1}
    assert s.base_seed == 5 and s.out_dir == tmp_path / "sweep-out"
    (tmp_path / "bad.toml").write_text('config = "tiny.toml"\n[grid]\ntemprature = [1.0]\n')
    with pytest.raises(ConfigError, match="unknown override 'temprature'"):
        load_sweep(tmp_path / "bad.toml")


# --------------------------------------------------------------------------- local pool


def test_local_sweep_failure_and_resume(local_run, tmp_path):
    d, cfg, members, result = local_run
    assert result.ok, result.format()
    assert len(result.rows) == 8
    for r, m, flat in zip(result.rows, members, result.table()):
        assert flat["temperature"] == m.overrides["temperature"]
        assert r["name"] == m.name and r["status"] == "done" and r["final_step"] == 300
        assert r["seed"] == member_seed(11, m.name)
        assert (d / "local" / m.name / "traj.h5md").is_file()      # its own H5MD file
    assert len({r["state_digest"] for r in result.rows}) == 8
    result.to_csv(tmp_path / "t.csv")
    rows = list(csv.DictReader(open(tmp_path / "t.csv")))
    assert [r["name"] for r in rows] == [m.name for m in members]
    assert "temperature" in rows[0] and rows[0]["status"] == "done"

    # a bad member fails alone; a rerun keeps finished members and retries the failed one
    out = tmp_path / "mixed"
    bad = Member("bad", cfg, {"stages.0.integrator.dt": "short"})
    mixed = [members[0], bad, members[1]]
    r1 = run_ensemble(mixed, out_dir=out, workers=2, base_seed=11, progress=False)
    assert not r1.ok and [r["name"] for r in r1.failed] == ["bad"]
    assert "dt" in r1.row("bad")["error"] and "Traceback" in r1.row("bad")["traceback"]
    assert json.loads((out / "bad" / "failed.json").read_text())["error"]
    assert physics(r1)["T80"] == physics(result)["T80"]
    mtimes = {n: (out / n / DONE_FILE).stat().st_mtime_ns for n in ("T80", "T90")}
    r2 = run_ensemble(mixed, out_dir=out, workers=2, base_seed=11, progress=False)
    assert [r["reused"] for r in r2.rows] == [True, False, True]
    assert {n: (out / n / DONE_FILE).stat().st_mtime_ns for n in mtimes} == mtimes
    assert [r["name"] for r in r2.failed] == ["bad"]


def test_cli_ensemble(tmp_path, capsys):
    tiny_config(tmp_path / "tiny.toml", steps=100)
    (tmp_path / "sweep.toml").write_text(
        'config = "tiny.toml"\n[grid]\ntemperature = [80.0, 90.0]\n'
        '[[members]]\nname = "bad"\n"run.skin" = "wide"\n')
    status = main(["ensemble", str(tmp_path / "sweep.toml"), "--workers", "2",
                   "--no-progress"])
    text = capsys.readouterr().out
    assert status == 1
    assert "FAILED bad" in text and "2/3 members done" in text
    rows = list(csv.DictReader(open(tmp_path / "sweep-out" / "results.csv")))
    assert [r["status"] for r in rows] == ["done", "done", "failed"]
    status = main(["ensemble", str(tmp_path / "sweep.toml"), "--workers", "1",
                   "--no-progress"])
    assert status == 1 and "(2 from an earlier run)" in capsys.readouterr().out


def test_local_pool_worker_killed_then_resume(tmp_path):
    """Same with the local process pool: the pool breaks (BrokenProcessPool for every
    unfinished member), finished members are kept, a rerun completes identically."""
    cfg = tiny_config(tmp_path / "long.toml", steps=6000, ckpt=500)
    members = [Member(f"m{i}", cfg, {"temperature": 90.0 + i}) for i in range(4)]
    out, killed = tmp_path / "sweep", {}
    killer = threading.Thread(target=kill_mid_run, args=(out, members, killed))
    killer.start()
    first = run_ensemble(members, out_dir=out, workers=2, progress=False)
    killer.join()
    assert killed, "no member was caught mid-run"
    assert "BrokenProcessPool" in first.row(killed["name"])["error"]
    second = run_ensemble(members, out_dir=out, workers=2, progress=False)
    reference = run_ensemble(members, out_dir=tmp_path / "ref", workers=2, progress=False)
    check_resumed(killed, second, reference, out)
    print(f"local pool: killed {killed['name']} with {len(killed['done'])} done; resumed "
          f"from step {second.row(killed['name'])['resumed_from']}; failed in first pass: "
          f"{[r['name'] for r in first.failed]}")


def test_dask_missing_names_the_extra(monkeypatch):
    import sys

    from mdzoom.core.ensemble import executor_from_config

    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(ImportError, match=r"pip install 'mdzoom\[dask\]'"):
        executor_from_config("tcp://127.0.0.1:1")

# --------------------------------------------------------------------------- Dask


def test_dask_local_cluster_identical_to_local_pool(local_run, tmp_path):
    d, cfg, members, reference = local_run
    distributed, cluster = dask_cluster()
    with cluster, distributed.Client(cluster) as client:
        result = run_ensemble(members, client.get_executor(), out_dir=tmp_path / "dask",
                              base_seed=11, progress=False)
    assert result.ok, result.format()
    assert physics(result) == physics(reference)      # bit for bit, same seeds


def test_dask_worker_killed_then_resume(tmp_path):
    """A worker is SIGKILLed mid-run: finished members are kept, the sweep completes on
    resume (the killed member from its checkpoint), identical to an uninterrupted run."""
    cfg = tiny_config(tmp_path / "long.toml", steps=6000, ckpt=500)
    members = [Member(f"m{i}", cfg, {"temperature": 90.0 + i}) for i in range(4)]
    reference = run_ensemble(members, out_dir=tmp_path / "ref", workers=2, progress=False)
    assert reference.ok, reference.format()

    out = tmp_path / "sweep"
    killed = {}
    killer = threading.Thread(target=kill_mid_run, args=(out, members, killed))

    # allowed-failures 0: the scheduler reports the killed task instead of retrying it,
    # so the resume path is exercised (with the default, Dask reruns it at once and the
    # rerun continues from the checkpoint in the same call)
    distributed, cluster = dask_cluster(**{"distributed.scheduler.allowed-failures": 0})
    with cluster, distributed.Client(cluster) as client:
        killer.start()
        first = run_ensemble(members, client.get_executor(), out_dir=out, progress=False)
        killer.join()
        assert killed, "no member was caught mid-run"
        assert not first.ok and killed["name"] in [r["name"] for r in first.failed]
        assert "KilledWorker" in first.row(killed["name"])["error"]
        second = run_ensemble(members, client.get_executor(), out_dir=out, progress=False)
    check_resumed(killed, second, reference, out)
    print(f"killed {killed['name']} (pid {killed['pid']}) with {len(killed['done'])} done; "
          f"resumed from step {second.row(killed['name'])['resumed_from']}; "
          f"failed in first pass: {[r['name'] for r in first.failed]}")


def test_documented_slurm_recipe_builds_its_job_script(tmp_path, monkeypatch):
    """The SLURM recipe of docs/ensemble.md, run up to ``cluster.scale`` (no SLURM here):
    dask-jobqueue accepts its arguments and the job script asks for what the text says."""
    pytest.importorskip("dask_jobqueue")
    import re
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "ensemble.md").read_text()
    section = doc.split("### HPC: SLURM with `dask-jobqueue`", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    setup = code.split("cluster.scale(", 1)[0]
    examples = Path(__file__).resolve().parents[2] / "examples"
    (tmp_path / "sweep.toml").write_text((examples / "sweep_lj.toml").read_text())
    (tmp_path / "run_lj.toml").write_text((examples / "run_lj.toml").read_text())
    monkeypatch.chdir(tmp_path)
    scope = {}
    exec(compile(setup, "docs/ensemble.md (SLURM recipe)", "exec"), scope)
    cluster = scope["cluster"]
    try:
        script = cluster.job_script()
    finally:
        cluster.close()
    assert len(scope["sweep"].members) == 8
    for expected in ("#SBATCH -p compute", "#SBATCH -A myproject", "#SBATCH -t 04:00:00",
                     "#SBATCH --mem=60G", "source ~/mdzoom-venv/bin/activate",
                     "--nworkers 32", "--nthreads 1", "--lifetime 3h50m"):
        assert expected in script, (expected, script)
