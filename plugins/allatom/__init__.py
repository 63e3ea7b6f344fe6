"""All-atom plugin: GROMACS-format force fields, PME, constraints (issue #3).

Registered with the core like any third-party plugin; its components arrive with its
own issue. Until then it contributes no components.
"""
