"""Benchmark functions with known optima, and a BBOB-style suite of instances.

>>> from hybridlab.benchmarks import suite
>>> [inst.name for inst in suite(dims=(2,), instances=2, functions=["sphere"])]
['sphere-d2-i1', 'sphere-d2-i2']

Constrained problems with known optima (g06, g08, g11, pressure vessel, welded beam) and
repair functions for them live in :mod:`hybridlab.benchmarks.constrained`:

>>> from hybridlab.benchmarks import CONSTRAINED
>>> list(CONSTRAINED)[:3]
['g06', 'g08', 'g11']
"""

from .constrained import (
    CONSTRAINED,
    G06,
    G08,
    G11,
    PRESSURE_VESSEL,
    PRESSURE_VESSEL_MIXED,
    WELDED_BEAM,
    ConstrainedBenchmark,
    g06,
    g06_repair,
    g08,
    g11,
    pressure_vessel,
    pressure_vessel_mixed_repair,
    pressure_vessel_repair,
    welded_beam,
)
from .functions import (
    FUNCTIONS,
    FunctionInfo,
    Instance,
    ackley,
    ellipsoid,
    griewank,
    levy,
    make_instance,
    rastrigin,
    rosenbrock,
    schwefel,
    sphere,
    styblinski_tang,
    suite,
)

__all__ = [
    "CONSTRAINED", "FUNCTIONS", "G06", "G08", "G11", "PRESSURE_VESSEL", "PRESSURE_VESSEL_MIXED",
    "WELDED_BEAM", "ConstrainedBenchmark", "FunctionInfo", "Instance", "ackley", "ellipsoid",
    "g06", "g06_repair", "g08", "g11", "griewank", "levy", "make_instance", "pressure_vessel",
    "pressure_vessel_mixed_repair", "pressure_vessel_repair", "rastrigin", "rosenbrock",
    "schwefel", "sphere", "styblinski_tang", "suite", "welded_beam",
]
