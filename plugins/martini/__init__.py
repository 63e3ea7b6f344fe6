"""Martini plugin: Martini 2/3 coarse-grained force fields, AA→CG mapping and CG→AA
backmapping as networkx graph operations (issue #5).

Registered with the core like any third-party plugin; its components arrive with its
own issue. Until then it contributes no components.
"""
