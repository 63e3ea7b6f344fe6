"""Glue between mdzoom runs and the ``physical_validation`` package (Merz & Shirts,
PLoS ONE 13, e0202764 (2018); Shirts, J. Chem. Theory Comput. 9, 909 (2013)).

mdzoom's units are GROMACS's — energies [kJ/mol], volumes [nm³], pressures [bar],
temperatures [K], times [ps] — so every conversion factor is 1; Boltzmann's constant is
mdzoom's own ``mz.KB`` [kJ mol⁻¹ K⁻¹], so that kT is exactly the one the thermostats use.
physical_validation turns p·V [bar nm³] into kJ/mol itself (its factor 0.0602214 is
1/``PRESSURE_CONVERSION``).

The package prints its reports: the wrappers below keep them, as text for assertion
messages, and keep numpy's global random state, which its bootstrap reseeds.
"""

from __future__ import annotations

import contextlib
import io

import numpy as np
import physical_validation as pv

import mdzoom.core as mz

__all__ = ["units", "nvt_data", "npt_data", "kinetic_energy_check", "estimate_interval",
           "ensemble_check"]


def units():
    """physical_validation's UnitData for mdzoom: kJ/mol, nm, nm³, K, bar, ps."""
    return pv.data.UnitData(
        kb=mz.KB,
        energy_str="kJ/mol", energy_conversion=1.0,
        length_str="nm", length_conversion=1.0,
        volume_str="nm^3", volume_conversion=1.0,
        temperature_str="K", temperature_conversion=1.0,
        pressure_str="bar", pressure_conversion=1.0,
        time_str="ps", time_conversion=1.0)


def nvt_data(results, n_particles, temperature, volume, momentum_conserved):
    """SimulationData of an NVT run of ``n_particles`` unconstrained atoms.

    ``results``: an ``EnergyRecorder``'s results ("Kinetic En.", "Potential" [kJ/mol]);
    ``temperature`` [K]: the reference temperature; ``volume`` [nm³]: the box's;
    ``momentum_conserved``: whether the dynamics conserves the total momentum (velocity
    Verlet with a rescaling or Nosé–Hoover thermostat: 3N − 3 degrees of freedom) or not
    (Langevin: 3N).
    """
    return pv.data.SimulationData(
        units=units(),
        system=pv.data.SystemData(natoms=n_particles, nconstraints=0,
                                  ndof_reduction_tra=3 if momentum_conserved else 0,
                                  ndof_reduction_rot=0),
        ensemble=pv.data.EnsembleData("NVT", natoms=n_particles, volume=volume,
                                      temperature=temperature),
        observables=pv.data.ObservableData(kinetic_energy=results["Kinetic En."],
                                           potential_energy=results["Potential"]))


def npt_data(results, n_particles, temperature, pressure):
    """SimulationData of an NPT run: ``results`` with "Potential" [kJ/mol] and "Volume"
    [nm³]; reference ``temperature`` [K] and ``pressure`` [bar]."""
    return pv.data.SimulationData(
        units=units(),
        ensemble=pv.data.EnsembleData("NPT", natoms=n_particles, pressure=pressure,
                                      temperature=temperature),
        observables=pv.data.ObservableData(potential_energy=results["Potential"],
                                           volume=results["Volume"]))


def _quietly(func, *args, **kwargs):
    """``(func(*args, **kwargs), what it printed)``, numpy's global random state kept."""
    rng_state = np.random.get_state()
    try:
        with contextlib.redirect_stdout(io.StringIO()) as out:
            result = func(*args, **kwargs)
    finally:
        np.random.set_state(rng_state)
    return result, out.getvalue()


def kinetic_energy_check(data, bootstrap_seed=1):
    """Both kinetic-energy distribution tests of ``data`` (an NVT SimulationData).

    Returns a dict: ``p`` the strict test's Kolmogorov–Smirnov p-value against the gamma
    distribution of shape N_f/2 and scale kT; ``t_mu``, ``t_sigma`` the non-strict test's
    distances of T(μ) and T(σ) — the temperatures the sample's mean and width correspond
    to — from the reference temperature, in standard errors (bootstrap, seeded);
    ``report`` what the package printed.
    """
    p, strict = _quietly(pv.kinetic_energy.distribution, data, strict=True, verbosity=2)
    (t_mu, t_sigma), loose = _quietly(pv.kinetic_energy.distribution, data, strict=False,
                                      verbosity=2, bootstrap_seed=bootstrap_seed)
    return {"p": float(p), "t_mu": float(t_mu), "t_sigma": float(t_sigma),
            "report": strict + loose}


def estimate_interval(data):
    """The package's rule-of-thumb spacing to a second state point, from one run: dict
    with "dT" [K] (NVT), or "dT" [K], "dP" [bar] and "dTdP" (NPT)."""
    return _quietly(pv.ensemble.estimate_interval, data, verbosity=1)[0]


def ensemble_check(low, high):
    """``(deviation, report)``: how many standard errors the maximum-likelihood estimate
    of the slope of ln(P_high/P_low) — of the potential energy for two temperatures, of
    the volume for two pressures — lies from its analytic value."""
    (deviation,), report = _quietly(pv.ensemble.check, low, high, verbosity=2)
    return float(deviation), report
