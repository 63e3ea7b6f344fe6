"""Energy minimisation: steepest descent with an adaptive step (GROMACS ``integrator = steep``).

Each step moves every particle along its force, the largest move being ``h`` [nm];
constraints (SHAKE/SETTLE) are re-imposed after the move. A lower energy accepts the
move and grows ``h`` by 1.2; a higher one rejects it and shrinks ``h`` by 0.2, as GROMACS's
steep does. Stops when the largest force is below ``f_tol`` [kJ mol⁻¹ nm⁻¹] or after
``max_steps`` evaluations.
"""

from __future__ import annotations

import numpy as np
from tqdm.auto import tqdm

from .results import Results

__all__ = ["minimize"]


def minimize(simulation, *, f_tol=100.0, max_steps=2000, step=0.01, progress=None):
    """Minimise ``simulation.state`` in place. Returns Results(energy, max_force, steps,
    converged, energies (history))."""
    sim = simulation
    ev = sim.evaluator
    stepper = sim.stepper
    st = sim.state
    if stepper.constraints:
        stepper.constrain_start(st)
    # frozen atoms (FrozenAtoms) neither move nor count in the largest force
    from .constraints import BoundFrozenAtoms, ConstraintError

    frozen = [c.atoms for c in stepper.constraints if isinstance(c, BoundFrozenAtoms)]
    frozen = np.concatenate(frozen) if frozen else None

    # with constraints the step is M⁻¹F: the constraint solvers project displacements in
    # the mass metric, and only a mass-weighted direction stays a descent direction after
    # that projection (a step along F itself can raise the energy with rigid water)
    weight = stepper.inv_m[:, None] if stepper.constraints else None

    def free_forces():
        f = ev.forces.copy()
        if frozen is not None:
            f[frozen] = 0.0
        return f

    def direction(f):
        if weight is None:
            return f
        d = f * weight
        return d * (np.sqrt((f * f).sum(axis=1)).max() / max(
            float(np.sqrt((d * d).sum(axis=1)).max()), 1e-300))

    energy = ev.compute(st)
    forces = free_forces()
    h = float(step)
    history = [energy]
    fmax = float(np.sqrt((forces ** 2).sum(axis=1)).max()) if st.n_particles else 0.0
    n = 0
    bar = tqdm(total=max_steps, disable=(not progress) if progress is not None else None,
               desc="minimize", unit="step", leave=False)
    try:
        while n < max_steps and fmax > f_tol:
            n += 1
            bar.update(1)
            x_old = st.positions.copy()
            st.positions += (h / fmax) * direction(forces)
            try:
                for c in stepper.constraints:
                    c.constrain_positions(x_old, st.positions, stepper.inv_m, st.box)
            except ConstraintError:
                trial = np.inf                  # a step the constraints cannot follow
            else:
                trial = ev.compute(st)
            if trial < energy and np.isfinite(trial):
                energy = trial
                forces = free_forces()
                fmax = float(np.sqrt((forces ** 2).sum(axis=1)).max())
                history.append(energy)
                h *= 1.2
            else:
                st.positions[:] = x_old
                h *= 0.2
                if h < 1e-12:
                    break
    finally:
        bar.close()
    ev.compute(st)          # leave the evaluator consistent with the final state
    sim._prepared = False
    return Results(energy=energy, max_force=fmax, steps=n, converged=fmax <= f_tol,
                   energies=np.array(history))
