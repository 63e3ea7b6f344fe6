"""QM/MM plugin: native semi-empirical QM (MNDO/AM1/PM3), electrostatic embedding, link
atoms, umbrella sampling, WHAM/MBAR, rate constants (issue #8).

Registered with the core like any third-party plugin; its components arrive with its
own issue. Until then it contributes no components.
"""
