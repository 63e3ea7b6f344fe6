"""Electrode cells: two identical frozen electrodes facing each other across an aqueous
NaCl electrolyte, with vacuum behind them, for EW3DC slab electrostatics (issue #9).

Units: nm, e, amu, kJ/mol; σ (surface charge) in e/nm² (0.1 C/m² = 0.624 e/nm²).

Geometry (z is the surface normal; x, y periodic)::

    vacuum | left electrode | electrolyte (gap d) | right electrode | vacuum
                       z_left ^                   ^ z_right

``z_left`` and ``z_right`` are the planes of the two *facing* atomic layers, d = z_right −
z_left. The right electrode is the mirror image of the left one through the mid-plane, so an
uncharged cell is mirror symmetric. The box height is ``vacuum_factor`` × the height of
the cell (bottom layer of the left electrode to top layer of the right one), ≥ 3 as
Yeh & Berkowitz (J. Chem. Phys. 111, 3155 (1999)) require; the cell is centred in z.

**Walls.** The electrodes themselves keep the electrolyte in the gap (their LJ sites
are a dense wall: water and ions cannot pass a graphene sheet or a metal layer); behind
the electrodes there is only vacuum and nothing to keep out, so no extra wall force is
added. The electrode atoms are frozen: ``FrozenAtoms`` in ``system.constraints`` and, for
GROMACS, ``freezegrps = ELL ELR`` in the ``.mdp`` (molecule names, default groups);
``index.ndx`` has the groups Electrodes, Left, Right and Electrolyte (e.g. for ``tc-grps``).

**Constant charge.** Every charged atom of the left electrode carries ``+σA/N`` and its
mirror image on the right ``−σA/N`` (N = charged atoms per electrode: the facing layer
with ``charged="facing"``, every atom with ``charged="all"``), so the cell is neutral.

**Force field** (written as a self-contained GROMACS topology, combination rule 2,
Lorentz–Berthelot, no 1-4 pairs):

* SPC/E water: Berendsen, Grigera & Straatsma, J. Phys. Chem. 91, 6269 (1987):
  O σ = 0.316557 nm, ε = 0.650194 kJ/mol, q_O = −0.8476 e, q_H = +0.4238 e, O–H 0.1 nm,
  H–O–H 109.47° (rigid, ``[ settles ]``).
* TIP3P water: Jorgensen et al., J. Chem. Phys. 79, 926 (1983): O σ = 0.315061 nm,
  ε = 0.636386 kJ/mol, q_O = −0.834 e, O–H 0.09572 nm, H–O–H 104.52° (H–H 0.15139 nm).
* Na⁺, Cl⁻: Joung & Cheatham, J. Phys. Chem. B 112, 9020 (2008), the set fitted to each
  water model (AMBER ``frcmod.ionsjc_spce`` / ``frcmod.ionsjc_tip3p``, R_min/2 and ε
  converted to σ = 2 R_min/2 / 2^(1/6) and kJ/mol): SPC/E Na σ 0.215954 nm, ε 1.475454;
  Cl σ 0.483045, ε 0.0534924; TIP3P Na σ 0.243928, ε 0.365846; Cl σ 0.447766, ε 0.148913.
* Graphite carbon: σ = 0.340 nm, ε/k_B = 28 K (0.2328 kJ/mol), Steele, Surf. Sci. 36,
  317 (1973), the usual graphite–adsorbate carbon (Werder et al., J. Phys. Chem. B 107,
  1345 (2003) fit C–O directly: σ_CO 0.319 nm, ε_CO 0.392 kJ/mol; here C–O follows from
  Lorentz–Berthelot: 0.328 nm, 0.389 kJ/mol).
* Gold: σ = 0.2629 nm, ε = 5.29 kcal/mol = 22.13 kJ/mol, Heinz, Vaia, Farmer & Naik,
  J. Phys. Chem. C 112, 17281 (2008) (12-6 INTERFACE values, quoted from memory, not
  checked against the paper); lattice constant 0.4078 nm.

Electrode–electrode LJ is switched off (``[ nonbond_params ]`` σ = ε = 0): the electrode
atoms are frozen, so those terms are constants, and at graphite's 0.142 nm bond they
would be ~10⁴ kJ/mol each.

The water count follows a bulk number density (33.4 nm⁻³, 0.997 g/cm³) in the volume
A·(d − 2·``dead_layer``) that the liquid fills (``dead_layer`` ≈ 0.2 nm: the depleted
layer between an electrode plane and the liquid's dividing surface; approximate), minus
one water per ion pair; the salt count is ``round(c · N_A · V)`` in the same volume. The
gap cannot relax at constant volume, so check the density in the middle of the gap
after equilibration (``mdzoom.plugins.electrode.profiles``) and adjust ``dead_layer``.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from .lattices import Slab, fcc111, graphite

__all__ = ["ElectrodeSpec", "ElectrodeCell", "ELECTRODES", "WATER_MODELS", "build_cell",
           "place_electrolyte"]

AVOGADRO_PER_NM3_PER_M = 0.602214076        # particles per nm³ at 1 mol/L
_SKIN = 0.1                                  # ForceEvaluator's default Verlet skin [nm]


@dataclass(frozen=True)
class ElectrodeSpec:
    """An electrode material: a layer builder and one LJ site type.

    build : (n_layers, nx, ny) -> :class:`Slab`; cell : (lx, ly) [nm] of one repeat;
    atom_type, element, mass [amu], lj_sigma [nm], lj_epsilon [kJ/mol]; n_layers :
    default layer count; source : where the parameters come from."""

    name: str
    build: Callable[[int, int, int], Slab]
    cell: tuple
    atom_type: str
    element: str
    mass: float
    lj_sigma: float
    lj_epsilon: float
    n_layers: int = 3
    source: str = ""


_A_GRAPHITE = 0.246
_A_GOLD = 0.4078
ELECTRODES = {
    "graphite": ElectrodeSpec(
        "graphite", lambda n, nx, ny: graphite(n, nx, ny, spacing=0.335, a=_A_GRAPHITE),
        (_A_GRAPHITE, _A_GRAPHITE * np.sqrt(3.0)), "CE", "C", 12.011, 0.340, 0.2328, 3,
        "Steele, Surf. Sci. 36, 317 (1973): σ 0.340 nm, ε/k 28 K"),
    "fcc111": ElectrodeSpec(
        "fcc111", lambda n, nx, ny: fcc111(n, nx, ny, a=_A_GOLD),
        (_A_GOLD / np.sqrt(2.0), _A_GOLD * np.sqrt(6.0) / 2.0), "AU", "Au", 196.96657,
        0.2629, 22.13, 3,
        "gold, Heinz et al., J. Phys. Chem. C 112, 17281 (2008) (from memory, unchecked)"),
}

#: water models: O/H parameters, geometry (d_OH, d_HH) [nm], ions fitted to the model
WATER_MODELS = {
    "spce": dict(o_sigma=0.316557, o_epsilon=0.650194, q_o=-0.8476, d_oh=0.1,
                 d_hh=0.1 * 2 * np.sin(np.radians(109.47) / 2),
                 na=(0.215954, 1.475454), cl=(0.483045, 0.0534924)),
    "tip3p": dict(o_sigma=0.315061, o_epsilon=0.636386, q_o=-0.834, d_oh=0.09572,
                  d_hh=0.15139, na=(0.243928, 0.365846), cl=(0.447766, 0.148913)),
}


@dataclass
class ElectrodeCell:
    """What :func:`build_cell` returns.

    system, state, settings : as :func:`mdzoom.core.gromacs.load_gromacs` returns them
    (with ``FrozenAtoms(electrodes)`` appended to ``system.constraints``); paths : dict
    of the written ``top``, ``gro``, ``mdp``, ``ndx`` files; left, right, electrolyte :
    particle indices (int64); charged_left, charged_right : indices of the charged
    electrode atoms; z_left, z_right [nm] : planes of the facing layers; area [nm²];
    sigma [e/nm²]; n_water, n_salt; volume [nm³] : the electrolyte volume the counts
    refer to."""

    system: object
    state: object
    settings: dict
    paths: dict
    left: np.ndarray
    right: np.ndarray
    electrolyte: np.ndarray
    charged_left: np.ndarray
    charged_right: np.ndarray
    z_left: float
    z_right: float
    area: float
    sigma: float
    n_water: int
    n_salt: int
    volume: float
    info: dict = field(default_factory=dict)


# ----------------------------------------------------------------- electrolyte placement
def _grid_nn(sx, sy, sz, gz):
    """Nearest-neighbour distance of the staggered grid (odd z layers shifted by half a
    cell in x and y, a bcc-like stacking)."""
    if gz == 1:
        return min(sx, sy)
    return min(sx, sy, 2 * sz, np.sqrt(0.25 * (sx * sx + sy * sy) + sz * sz))


def _grid_dims(lengths, n_slots, s_min):
    """Grid counts (gx, gy, gz) of a staggered grid with ≥ n_slots points whose
    nearest-neighbour distance is largest (and ≥ s_min); x, y periodic (spacing L/g), z
    closed (spacing h/(g − 1)). None if nothing fits."""
    lx, ly, h = lengths
    best = None
    for gx in range(1, int(lx // s_min) + 1):
        for gy in range(1, int(ly // s_min) + 1):
            gz = max(1, -(-n_slots // (gx * gy)))
            sz = h / (gz - 1) if gz > 1 else np.inf
            nn = _grid_nn(lx / gx, ly / gy, sz, gz)
            if nn >= s_min and (best is None or nn > best[0] + 1e-12):
                best = (nn, (gx, gy, gz))
    return None if best is None else best[1]


def _random_rotations(rng, n):
    """n rotation matrices, uniform on SO(3) (unit quaternions from 4 normals)."""
    q = rng.normal(size=(n, 4))
    w, x, y, z = (q / np.linalg.norm(q, axis=1, keepdims=True)).T
    return np.stack([
        np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)], -1),
        np.stack([2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)], -1),
        np.stack([2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)], -1),
    ], axis=1)


def _min_image(d, lx, ly):
    d = np.array(d, dtype=float)
    d[..., 0] -= lx * np.round(d[..., 0] / lx)
    d[..., 1] -= ly * np.round(d[..., 1] / ly)
    return d


def place_electrolyte(lx, ly, z_lo, z_hi, n_water, n_salt, d_oh, d_hh, *, seed=0,
                      min_distance=0.25, tries=30):
    """Waters and ion pairs on a jittered grid in ``[0, lx) × [0, ly) × [z_lo, z_hi]``.

    Molecule centres (water O, ions) sit on a staggered grid (bcc-like: odd z layers
    shifted by half a cell in x and y; x, y periodic) whose neighbour distance is
    ≥ ``min_distance`` + 2√3·jitter, so no two centres are closer than ``min_distance``
    [nm]; each water takes the best of ``tries`` random orientations (largest distance
    of its H to the other molecules). Ions and waters are spread over the grid at random (``seed``).

    Returns ``(water (n_water, 3, 3) O,H,H [nm], na (n_salt, 3), cl (n_salt, 3))``.
    Raises ValueError if the molecules do not fit.
    """
    rng = np.random.default_rng(seed)
    n = n_water + 2 * n_salt
    h = z_hi - z_lo
    if n == 0:
        return np.zeros((0, 3, 3)), np.zeros((0, 3)), np.zeros((0, 3))
    if h < 0:
        raise ValueError("no room for the electrolyte: the gap is too narrow")
    s_min = min_distance + 0.02
    g = _grid_dims((lx, ly, h), n, s_min)
    if g is None:
        raise ValueError(f"{n} electrolyte molecules do not fit a {lx:.3f} × {ly:.3f} × "
                         f"{h:.3f} nm³ region at ≥ {min_distance} nm apart; widen the gap, "
                         "lower the density or raise dead_layer")
    sx, sy = lx / g[0], ly / g[1]
    sz = h / (g[2] - 1) if g[2] > 1 else np.inf
    # each coordinate moves by ≤ jitter, a molecule by ≤ √3·jitter
    nn = _grid_nn(sx, sy, sz, g[2])
    jitter = max(0.0, min(0.05, (nn - min_distance) / (2 * np.sqrt(3.0)) - 1e-9))
    ix, iy, iz = np.meshgrid(np.arange(g[0]), np.arange(g[1]), np.arange(g[2]),
                             indexing="ij")
    iz = iz.ravel()
    stagger = 0.5 * (iz % 2)
    z_nodes = z_lo + (iz * sz if g[2] > 1 else np.full(iz.size, 0.5 * h))
    nodes = np.column_stack([(ix.ravel() + 0.25 + stagger) * sx,
                             (iy.ravel() + 0.25 + stagger) * sy, z_nodes])
    take = rng.choice(len(nodes), size=n, replace=False)
    centres = nodes[take] + rng.uniform(-jitter, jitter, size=(n, 3))
    centres[:, 2] = np.clip(centres[:, 2], z_lo, z_hi)
    kind = rng.permutation(np.r_[np.zeros(n_water, int), np.ones(n_salt, int),
                                 np.full(n_salt, 2, int)])
    # water template: O at the origin, H's in the xz plane
    half = 0.5 * d_hh
    hz = np.sqrt(d_oh ** 2 - half ** 2)
    template = np.array([[half, 0.0, hz], [-half, 0.0, hz]])
    hydrogens = {}
    water_idx = np.flatnonzero(kind == 0)
    for i in water_idx:
        d = _min_image(centres - centres[i], lx, ly)
        near = np.flatnonzero((np.einsum("ij,ij->i", d, d) < 0.7 ** 2))
        near = near[near != i]
        others = [centres[near]]
        others += [hydrogens[j] for j in near if j in hydrogens]
        others = np.concatenate(others) if others else np.zeros((0, 3))
        rot = _random_rotations(rng, tries)                               # (t, 3, 3)
        cand = np.einsum("tab,hb->tha", rot, template) + centres[i]      # (t, 2, 3)
        if len(others):
            dd = _min_image(cand[:, :, None, :] - others[None, None], lx, ly)
            score = np.sqrt(np.einsum("thkx,thkx->thk", dd, dd)).min(axis=(1, 2))
        else:
            score = np.zeros(tries)
        hydrogens[i] = cand[int(np.argmax(score))]
    water = np.array([np.vstack([centres[i], hydrogens[i]]) for i in water_idx])
    water = water.reshape(-1, 3, 3)
    return water, centres[kind == 1], centres[kind == 2]


# ---------------------------------------------------------------------------- writing
def _topology_text(spec, water, left_q, right_q, n_water, n_salt):
    w = WATER_MODELS[water]
    q_h = -0.5 * w["q_o"]
    t = spec.atom_type
    lines = [
        f"; mdzoom electrode cell: {spec.name} | {water} | Joung-Cheatham NaCl",
        f"; electrode LJ: {spec.source}",
        "[ defaults ]",
        "; nbfunc comb-rule gen-pairs fudgeLJ fudgeQQ",
        "  1      2         no        1.0     1.0",
        "",
        "[ atomtypes ]",
        "; name at.num mass charge ptype sigma epsilon",
        f"  {t:<4} {_Z[spec.element]:>3} {spec.mass:.5f} 0.0 A {spec.lj_sigma:.6f} "
        f"{spec.lj_epsilon:.6f}",
        f"  OW    8 15.99940 0.0 A {w['o_sigma']:.6f} {w['o_epsilon']:.6f}",
        "  HW    1  1.00800 0.0 A 0.000000 0.000000",
        f"  NA   11 22.98977 0.0 A {w['na'][0]:.6f} {w['na'][1]:.7f}",
        f"  CL   17 35.45300 0.0 A {w['cl'][0]:.6f} {w['cl'][1]:.7f}",
        "",
        "[ nonbond_params ]",
        "; frozen electrode atoms do not interact by LJ with each other",
        f"  {t} {t} 1 0.0 0.0",
        "",
    ]
    for name, q in (("ELL", left_q), ("ELR", right_q)):
        lines += ["[ moleculetype ]", f"  {name} 1", "", "[ atoms ]"]
        lines += [f"  {k + 1:6d} {t:<4} 1 {name} {spec.element.upper():<4} {k + 1:6d} "
                  f"{qk: .10f} {spec.mass:.5f}" for k, qk in enumerate(q)]
        lines.append("")
    lines += [
        "[ moleculetype ]", "  SOL 2", "", "[ atoms ]",
        f"  1 OW 1 SOL OW  1 {w['q_o']:.4f} 15.99940",
        f"  2 HW 1 SOL HW1 1 {q_h:.4f}  1.00800",
        f"  3 HW 1 SOL HW2 1 {q_h:.4f}  1.00800", "",
        "[ settles ]", f"  1 1 {w['d_oh']:.6f} {w['d_hh']:.6f}", "",
        "[ exclusions ]", "  1 2 3", "  2 1 3", "  3 1 2", "",
        "[ moleculetype ]", "  NA 1", "", "[ atoms ]", "  1 NA 1 NA NA 1  1.0 22.98977", "",
        "[ moleculetype ]", "  CL 1", "", "[ atoms ]", "  1 CL 1 CL CL 1 -1.0 35.45300", "",
        "[ system ]", f"{spec.name} electrode cell, {water} water, NaCl", "",
        "[ molecules ]", "  ELL 1", "  ELR 1",
    ]
    if n_water:
        lines.append(f"  SOL {n_water}")
    if n_salt:
        lines += [f"  NA {n_salt}", f"  CL {n_salt}"]
    return "\n".join(lines) + "\n"


_Z = {"C": 6, "Au": 79, "Ag": 47, "Pt": 78, "Cu": 29, "Ti": 22, "O": 8, "N": 7}


def _mdp_text(cutoff):
    return f"""; mdzoom electrode cell (mdzoom.plugins.electrode.cell): slab with vacuum, EW3DC
integrator      = md
dt              = 0.002
nsteps          = 0
cutoff-scheme   = Verlet
pbc             = xyz
coulombtype     = PME
rcoulomb        = {cutoff}
rvdw            = {cutoff}
vdw-modifier    = Potential-shift
; no homogeneous dispersion correction for a slab with vacuum
DispCorr        = no
fourierspacing  = 0.12
pme-order       = 4
ewald-rtol      = 1e-5
; Yeh-Berkowitz slab correction (box z >= 3x the cell height, vacuum behind the
; electrodes). grompp warns "with PME and ewald_geometry = 3dc you should use pbc = xy";
; that needs GROMACS walls (nwall = 2). Here the electrodes are the walls and pbc = xyz is
; right while nothing crosses the box in z: grompp -maxwarn 1
ewald-geometry  = 3dc
epsilon-surface = 0
; rigid water through [ settles ]; frozen electrodes (default groups: molecule names)
constraints     = none
freezegrps      = ELL ELR
freezedim       = Y Y Y Y Y Y
"""


def _ndx_text(groups):
    out = []
    for name, idx in groups.items():
        out.append(f"[ {name} ]")
        one = np.asarray(idx) + 1
        for s in range(0, len(one), 15):
            out.append(" ".join(str(v) for v in one[s:s + 15]))
    return "\n".join(out) + "\n"


# ------------------------------------------------------------------------------- build
def build_cell(electrode="graphite", gap: float = 3.0, *, water: str = "spce",
               concentration: float = 1.0, sigma: float = 0.0, charged: str = "facing",
               vacuum_factor: float = 3.0, n_layers: int | None = None,
               nx: int | None = None, ny: int | None = None, cutoff: float = 1.0,
               density: float = 33.4, dead_layer: float = 0.2, seed: int = 0,
               folder=None, frozen: bool = True) -> ElectrodeCell:
    """Build a constant-charge electrode | NaCl(aq) | electrode cell.

    Writes ``cell.top``, ``cell.gro``, ``cell.mdp`` and ``index.ndx`` into ``folder`` (a
    new temporary folder if None) and reads them back with
    :func:`mdzoom.core.gromacs.load_gromacs` (PME with ``ewald-geometry = 3dc``).

    Parameters
    ----------
    electrode : str or ElectrodeSpec   ``"graphite"`` (AB, 0.335 nm layers) or ``"fcc111"``
        (gold (111)), see ``ELECTRODES``; or an :class:`ElectrodeSpec`.
    gap : float [nm]            d, distance between the two facing atomic planes
    water : str                 ``"spce"`` or ``"tip3p"`` (ions: Joung–Cheatham for it)
    concentration : float [mol/L]   NaCl; n_salt = round(0.6022 · c · V)
    sigma : float [e/nm²]       surface charge: +σ on the left electrode, −σ on the right
    charged : str               ``"facing"`` (the layer facing the electrolyte) or ``"all"``
    vacuum_factor : float       box z / cell height, ≥ 3
    n_layers : int              atomic layers per electrode (default: the material's, 3)
    nx, ny : int                lateral repeats of the electrode's rectangular cell
        (default: the fewest with lx, ly > 2·(cutoff + 0.1 nm neighbour-list skin))
    cutoff : float [nm]         LJ and real-space Coulomb cutoff written to the .mdp
    density : float [nm⁻³]      bulk water number density
    dead_layer : float [nm]     depleted layer at each electrode (see the module docs)
    seed : int                  placement of ions and waters
    frozen : bool               append ``FrozenAtoms`` of the electrodes to the constraints

    Returns an :class:`ElectrodeCell`. Raises ValueError on bad options, a box smaller
    than 2·cutoff, a gap too narrow for the electrolyte or a non-neutral cell.
    """
    from mdzoom.core.gromacs import load_gromacs
    from mdzoom.core.io.frame import Frame
    from mdzoom.core.io.gro import write_gro

    spec = electrode if isinstance(electrode, ElectrodeSpec) else ELECTRODES.get(electrode)
    if spec is None:
        raise ValueError(f"unknown electrode {electrode!r}; available: "
                         f"{', '.join(ELECTRODES)} (or an ElectrodeSpec)")
    if water not in WATER_MODELS:
        raise ValueError(f"unknown water model {water!r}; available: "
                         f"{', '.join(WATER_MODELS)}")
    if charged not in ("facing", "all"):
        raise ValueError(f"charged must be 'facing' or 'all', got {charged!r}")
    if vacuum_factor < 3:
        raise ValueError(f"vacuum_factor = {vacuum_factor} < 3: EW3DC needs a box at least "
                         "3× the cell height")
    if concentration < 0 or gap <= 0:
        raise ValueError("concentration must be >= 0 and gap > 0")
    n_layers = int(n_layers or spec.n_layers)
    min_lateral = 2 * (cutoff + _SKIN) + 1e-6
    if nx is None:
        nx = int(np.ceil(min_lateral / spec.cell[0]))
    if ny is None:
        ny = int(np.ceil(min_lateral / spec.cell[1]))
    slab = spec.build(n_layers, nx, ny)
    lx, ly = slab.lateral_box
    if min(lx, ly) < min_lateral:
        raise ValueError(f"lateral box {lx:.3f} × {ly:.3f} nm is smaller than 2 × (cutoff + "
                         f"skin) = {min_lateral:.3f} nm (minimum image); raise nx, ny or "
                         "lower the cutoff")
    area = lx * ly
    # --- electrodes: left as built, right its mirror image through the mid-plane
    zl = slab.positions[:, 2]
    z_face_local = zl.max()
    thickness = z_face_local - zl.min()
    height = 2 * thickness + gap
    lz = vacuum_factor * height
    z_bottom = 0.5 * (lz - height)
    z_left = z_bottom + thickness
    z_right = z_left + gap
    left = slab.positions.copy()
    left[:, 2] += z_left - z_face_local
    right = left.copy()
    right[:, 2] = z_left + z_right - left[:, 2]
    top_layer = slab.n_layers - 1
    charged_mask = (slab.layer == top_layer) if charged == "facing" else np.ones(len(left),
                                                                                 bool)
    n_charged = int(charged_mask.sum())
    q_left = np.where(charged_mask, sigma * area / n_charged, 0.0)
    q_right = -q_left
    # --- electrolyte
    volume = area * (gap - 2 * dead_layer)
    if volume <= 0:
        raise ValueError(f"gap {gap} nm is not wider than 2 × dead_layer = {2 * dead_layer}")
    n_salt = int(round(AVOGADRO_PER_NM3_PER_M * concentration * volume))
    n_water = int(round(density * volume)) - n_salt
    if n_water < 0:
        raise ValueError("the salt concentration leaves no room for water")
    w = WATER_MODELS[water]
    clearance = 0.3 + w["d_oh"]            # every electrolyte atom ≥ 0.3 nm from the planes
    wat, na, cl = place_electrolyte(lx, ly, z_left + clearance, z_right - clearance,
                                    n_water, n_salt, w["d_oh"], w["d_hh"], seed=seed)
    # --- write
    folder = Path(folder) if folder is not None else Path(tempfile.mkdtemp(prefix="mdzoom-cell-"))
    folder.mkdir(parents=True, exist_ok=True)
    n_el = len(left)
    positions = np.concatenate([left, right, wat.reshape(-1, 3), na, cl])
    ename = spec.element.upper()
    names = ([ename] * (2 * n_el) + ["OW", "HW1", "HW2"] * n_water
             + ["NA"] * n_salt + ["CL"] * n_salt)
    resnames = (["ELL"] * n_el + ["ELR"] * n_el + ["SOL"] * (3 * n_water)
                + ["NA"] * n_salt + ["CL"] * n_salt)
    resids = np.concatenate([[1] * n_el, [2] * n_el, np.repeat(np.arange(n_water) + 3, 3),
                             np.arange(2 * n_salt) + 3 + n_water]).astype(np.int64)
    box = np.diag([lx, ly, lz])
    frame = Frame(positions, box, names, resnames, resids, None, None,
                  title=f"mdzoom {spec.name} electrode cell, sigma = {sigma} e/nm^2")
    paths = {k: folder / f"cell.{k}" for k in ("top", "gro", "mdp")}
    paths["ndx"] = folder / "index.ndx"
    paths["top"].write_text(_topology_text(spec, water, q_left, q_right, n_water, n_salt))
    write_gro(paths["gro"], frame, precision=6)
    paths["mdp"].write_text(_mdp_text(cutoff))
    idx_left = np.arange(n_el, dtype=np.int64)
    idx_right = idx_left + n_el
    idx_ely = np.arange(2 * n_el, len(positions), dtype=np.int64)
    paths["ndx"].write_text(_ndx_text({"System": np.arange(len(positions)),
                                       "ELL": idx_left, "ELR": idx_right,
                                       "Electrodes": np.r_[idx_left, idx_right],
                                       "Left": idx_left, "Right": idx_right,
                                       "Electrolyte": idx_ely}))
    system, state, settings = load_gromacs(paths["top"], paths["gro"], paths["mdp"])
    # --- neutrality
    q = np.asarray(system.topology.charges, dtype=float)
    q_ely = float(q[idx_ely].sum())
    if abs(q_ely) > 1e-6:
        raise ValueError(f"the electrolyte is not neutral (net charge {q_ely:+.6f} e)")
    if abs(q.sum()) > 1e-6:
        raise ValueError(f"the cell is not neutral (net charge {q.sum():+.6f} e)")
    # a core that honours freezegrps has frozen the electrodes already
    electrodes = np.r_[idx_left, idx_right]
    have = [c for c in system.constraints if type(c).__name__ == "FrozenAtoms"]
    if not frozen:
        system.constraints[:] = [c for c in system.constraints if c not in have]
    elif not any(np.array_equal(np.sort(c.atoms), electrodes) for c in have):
        system.constraints.append(_frozen_atoms(electrodes))
    return ElectrodeCell(system, state, settings, {k: os.fspath(p) for k, p in paths.items()},
                         idx_left, idx_right, idx_ely,
                         idx_left[charged_mask], idx_right[charged_mask],
                         float(z_left), float(z_right), float(area), float(sigma),
                         n_water, n_salt, float(volume),
                         info={"electrode": spec.name, "water": water, "n_layers": n_layers,
                               "nx": nx, "ny": ny, "box": (lx, ly, lz), "cutoff": cutoff,
                               "concentration": concentration, "charged": charged})


def _frozen_atoms(atoms):
    try:
        from mdzoom.core.constraints import FrozenAtoms
    except ImportError as err:          # pragma: no cover - depends on the core version
        raise ImportError("mdzoom.core.constraints.FrozenAtoms is not available in this "
                          "mdzoom core; update the core or call build_cell(..., "
                          "frozen=False) and freeze the electrodes yourself") from err
    return FrozenAtoms(atoms)
