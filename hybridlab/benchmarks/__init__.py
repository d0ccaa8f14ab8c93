"""Benchmark functions with known optima, and a BBOB-style suite of instances.

>>> from hybridlab.benchmarks import suite
>>> [inst.name for inst in suite(dims=(2,), instances=2, functions=["sphere"])]
['sphere-d2-i1', 'sphere-d2-i2']

Constrained problems with known optima (g06, g08, g11, pressure vessel, welded beam) and
repair functions for them live in :mod:`hybridlab.benchmarks.constrained`:

>>> from hybridlab.benchmarks import CONSTRAINED
>>> list(CONSTRAINED)[:3]
['g06', 'g08', 'g11']

COCO's real BBOB suite (24 functions, needs the ``bbob`` extra, PyPI ``coco-experiment``)
lives in :mod:`hybridlab.benchmarks.bbob`:

>>> from hybridlab.benchmarks import BBOB_GROUPS, bbob_problem
>>> bbob_problem(15, 5, 1).name, BBOB_GROUPS["multimodal"]
('bbob_f15_i01_d05', (15, 16, 17, 18, 19))

Capacitated facility location (a mixed problem: open/close decisions and flows, with the
exact MILP optimum, and the LP completion for :class:`~hybridlab.hybrid.Matheuristic`)
lives in :mod:`hybridlab.benchmarks.facility`:

>>> from hybridlab.benchmarks import facility_instance
>>> facility_instance(0, 6, 12).dim
78
"""

from .bbob import (
    BBOB_FUNCTIONS,
    BBOB_GROUP_TITLES,
    BBOB_GROUPS,
    BBOBFunction,
    BBOBProblem,
    bbob_group,
    bbob_problem,
    bbob_suite,
)
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
from .facility import FacilityInstance, facility_instance, facility_suite
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
    "BBOB_FUNCTIONS", "BBOB_GROUPS", "BBOB_GROUP_TITLES", "CONSTRAINED", "FUNCTIONS", "G06",
    "G08", "G11", "PRESSURE_VESSEL", "PRESSURE_VESSEL_MIXED", "WELDED_BEAM", "BBOBFunction",
    "BBOBProblem", "ConstrainedBenchmark", "FacilityInstance", "FunctionInfo", "Instance",
    "ackley", "bbob_group", "bbob_problem", "bbob_suite", "ellipsoid", "facility_instance",
    "facility_suite", "g06", "g06_repair", "g08", "g11", "griewank",
    "levy", "make_instance", "pressure_vessel", "pressure_vessel_mixed_repair",
    "pressure_vessel_repair", "rastrigin", "rosenbrock", "schwefel", "sphere",
    "styblinski_tang", "suite", "welded_beam",
]
