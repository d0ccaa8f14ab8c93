"""Benchmark functions with known optima, and a BBOB-style suite of instances.

>>> from hybridlab.benchmarks import suite
>>> [inst.name for inst in suite(dims=(2,), instances=2, functions=["sphere"])]
['sphere-d2-i1', 'sphere-d2-i2']
"""

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
    "FUNCTIONS", "FunctionInfo", "Instance", "ackley", "ellipsoid", "griewank", "levy",
    "make_instance", "rastrigin", "rosenbrock", "schwefel", "sphere", "styblinski_tang",
    "suite",
]
