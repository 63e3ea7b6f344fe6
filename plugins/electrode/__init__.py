"""Electrode plugin: electrode slabs, constant-charge electrodes, slab electrostatics,
potential profiles and the potential of zero charge (issue #9).

Registered with the core like any third-party plugin; its components arrive with its
own issue. Until then it contributes no components.
"""
